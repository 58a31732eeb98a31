"""`dxa ingest|remove|status|corpus|ui`: put documents into the index, take them out, list them, serve the UI."""

from __future__ import annotations

import argparse
import math
import os
import sys
from pathlib import Path
from typing import Any

from assistant.config import REPO_ROOT, Settings
from ui.cli.base import pipeline_for, record_event
from ui.cli.output import emit_json, say


def cmd_ingest(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.types import SourceInfo
    from ingest.indexer import ingest_corpus, ingest_paths, summary_lines

    if args.job is not None:  # an upload from 資料管理, run in its own process (ingest.jobs.start_ingest_job starts it)
        from ingest.jobs import run_job

        result = run_job(settings, args.job)
        if result is None:
            print(f"ジョブ {args.job} はありません / no such job: {args.job}", file=sys.stderr)
            return 2
        return 0 if result.ok else 1
    if not args.paths and not args.corpus:
        print("dxa ingest: PATH か --corpus を指定してください / give PATH… or --corpus", file=sys.stderr)
        return 2
    if args.follow_symlinks:
        settings = settings.model_copy(update={"ingest": settings.ingest.model_copy(update={"follow_symlinks": True})})
    index = pipeline_for(settings).index
    progress = not args.no_progress and sys.stderr.isatty()
    results = []
    if args.corpus:
        results += ingest_corpus(index, settings, progress=progress)
    if args.paths:
        source = None
        if args.doc_id or args.title or args.level != "other" or args.edition:
            if len(args.paths) != 1:
                print("--doc-id/--title/--level/--edition は1ファイルのときだけ使えます", file=sys.stderr)
                return 2
            path = Path(args.paths[0])
            source = SourceInfo(
                doc_id=args.doc_id or "",  # empty: the indexer derives one, unique per path
                title=args.title or path.stem,
                level=args.level,
                edition=args.edition or "",
            )
        results += ingest_paths(index, settings, [Path(p) for p in args.paths], source=source, progress=progress)
    record_event(settings, "doc_upload", "、".join(f"{r.doc_id or Path(r.path).name}: {r.status}" for r in results))
    if args.json:
        emit_json({"results": [r.__dict__ for r in results]})
    else:
        for line in summary_lines(results, "ja"):
            say(line)
        errors = [r for r in results if not r.ok]
        if errors:
            say(f"\n{len(errors)} 件のファイルでエラー / {len(errors)} file(s) failed:", file=sys.stderr)
            for r in errors:
                say(f"  - {r.message}", file=sys.stderr)
    return 1 if any(not r.ok for r in results) else 0


def cmd_remove(args: argparse.Namespace, settings: Settings) -> int:
    removed = pipeline_for(settings).index.remove_document(args.doc_id)
    if removed < 0:
        say(f"文書 {args.doc_id} は索引にありません / no such document: {args.doc_id}", file=sys.stderr)
        return 1
    record_event(settings, "doc_remove", f"{args.doc_id}（{removed} チャンク）")
    say(f"削除しました: {args.doc_id}（{removed} チャンク）")
    return 0


def cmd_status(args: argparse.Namespace, settings: Settings) -> int:
    index = pipeline_for(settings).index
    docs = index.documents()
    keys = ("doc_id", "title", "level", "edition", "path", "sha256", "pages", "chunks", "ingested_at")
    if args.json:
        emit_json({"documents": [{k: getattr(d, k) for k in keys} for d in docs]})
        return 0
    say(f"索引: {settings.index_dir}  文書 {len(docs)} 件")
    for d in docs:
        pages = f"{d.pages}頁" if d.pages else "-"
        say(f"  {d.doc_id:<28} {d.level:<10} {pages:>6} {d.chunks:>5}チャンク  {d.title}")
    return 0


def cmd_corpus(args: argparse.Namespace, settings: Settings) -> int:
    from ingest.fetch import fetch_sources
    from ingest.indexer import ingest_corpus, summary_lines
    from ingest.manifest import load_manifest

    entries = load_manifest(settings.corpus_dir)
    fetched = fetch_sources(entries, settings.cache_dir / "corpus")
    for item in fetched:
        say(f"取得済み: {item}")
    results = ingest_corpus(pipeline_for(settings).index, settings, progress=sys.stderr.isatty())
    for line in summary_lines(results):
        say(line)
    return 1 if any(not r.ok for r in results) else 0


def cmd_ui(args: argparse.Namespace, settings: Settings) -> int:
    port = args.port or settings.ui.port
    env = dict(os.environ, DXA_HOME=str(settings.home))
    if settings.store.path:
        env["DXA_STORE__PATH"] = str(settings.store.path)
    cmd = [
        sys.executable,
        "-m",
        "ui.serve",  # Streamlit's CLI with the upload guard in place before the server starts
        "run",
        str(REPO_ROOT / "streamlit_server.py"),  # streamlit_app.py plus the session-cookie route
        "--server.port",
        str(port),
        "--server.address",
        settings.ui.address,
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
        "--global.developmentMode",
        "false",
        "--client.toolbarMode",  # no "Deploy" button or developer menu for staff
        "viewer",
        "--server.fileWatcherType",  # a served app does not rerun when its source files change
        "none",
        "--runner.magicEnabled",  # pages call st.* explicitly; a bare expression is never displayed
        "false",
        "--server.maxUploadSize",  # MiB, as the 資料管理 page enforces settings.ingest.max_file_mib exactly
        str(max(1, math.ceil(settings.ingest.max_file_mib))),
    ]
    print(f"UI: http://{settings.ui.address}:{port}", file=sys.stderr)
    sys.stderr.flush()
    # Replace this process, so stopping `dxa ui` stops the server itself (no orphaned child).
    os.execve(sys.executable, cmd, env)


def add_parsers(sub: Any, common: argparse.ArgumentParser) -> None:
    """The sub-commands of this module, each with `common` (--store) as a parent."""
    p = sub.add_parser("ingest", parents=[common], help="文書を索引に登録 / index files")
    p.add_argument("paths", nargs="*", help="files or directories (PDF, text, Markdown, GeoPackage)")
    p.add_argument("--corpus", action="store_true", help="index the bundled corpus (corpus/sources.toml)")
    p.add_argument("--doc-id"), p.add_argument("--title"), p.add_argument("--edition")
    p.add_argument("--level", default="other", choices=["city", "prefecture", "national", "other"])
    p.add_argument("--json", action="store_true"), p.add_argument("--no-progress", action="store_true")
    p.add_argument(
        "--follow-symlinks",
        action="store_true",
        help="also ingest symlinks that point outside the given folders (ingest.follow_symlinks)",
    )
    p.add_argument(
        "--job", type=int, help="資料管理の登録ジョブを実行（画面が使う） / run an upload job (used by the UI)"
    )

    p = sub.add_parser("remove", parents=[common], help="文書を索引から削除 / remove a document")
    p.add_argument("doc_id")
    p = sub.add_parser("status", parents=[common], help="索引の状態 / indexed documents")
    p.add_argument("--json", action="store_true")
    p = sub.add_parser("corpus", parents=[common], help="公式PDFの取得 / fetch official PDFs")
    p.add_argument("action", choices=["fetch"])
    p = sub.add_parser("ui", parents=[common], help="画面を起動 / start the Streamlit UI")
    p.add_argument("--port", type=int)
