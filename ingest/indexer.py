"""Incremental, crash-safe ingest: files → load → normalise → chunk → index.

Unchanged documents (same sha256 and same pipeline fingerprint) are skipped without being read;
changed ones are replaced atomically; a bad file gets a per-file error and the batch goes on.
The CLI (`dxa ingest`) and the UI's 資料管理 page both call `ingest_paths` / `ingest_corpus`.
"""

from __future__ import annotations

import hashlib
import logging
import os
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

from assistant.config import Settings
from assistant.errors import DXAError, IngestError
from assistant.store import Index
from assistant.types import DocumentRecord, SourceInfo
from ingest.chunk import chunk_blocks
from ingest.doc_ids import assign_doc_id
from ingest.loaders import MIB, SUPPORTED_SUFFIXES, flags_for, ingest_error, load_document, sha256_file
from ingest.manifest import ManifestEntry, load_manifest, verify_entry
from ingest.normalize import normalize_document

log = logging.getLogger(__name__)

# Bump when normalisation or chunking changes in a way that changes chunks: documents re-ingest.
PIPELINE_VERSION = "7"  # 2: table rows that start with a date keep their own line; 3: page labels, digest sources;
# 4: a PDF chunk records the footnotes it cites; 5: Markdown: table rows keep their lines, blank lines end
# paragraphs, inline HTML goes; 6: Markdown footnote definitions are footnotes of the chunks that cite them;
# 7: a PDF page's footnotes chunk is marked (PAGE_NOTES_META), no support


@dataclass
class FileResult:
    """The outcome for one file, as shown in the ingest summary."""

    path: str
    doc_id: str = ""
    status: str = "error"  # added | replaced | unchanged | skipped | error
    chunks: int = 0
    pages: int | None = None
    seconds: float = 0.0
    error_kind: str = ""
    message: str = ""
    message_ja: str = ""
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status != "error"


def pipeline_fingerprint(settings: Settings, index: Index) -> str:
    """Everything besides the file's bytes that decides its chunks, vectors and sparse tokens."""
    tokenizers = ",".join(sorted(getattr(t, "name", n) for n, t in index.tokenizers.items()))
    key = (
        f"{PIPELINE_VERSION}|{settings.ingest.chunk_chars}|{settings.ingest.chunk_overlap}|{index.embedder.id}"
        f"|{tokenizers}"
    )
    return hashlib.sha256(key.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Skipped:
    """A path found in a given folder and left out, with the reason (shown as a notice)."""

    path: Path
    message: str
    message_ja: str


def expand_paths(paths: Iterable[Path], *, follow_symlinks: bool = False) -> tuple[list[Path], list[Skipped]]:
    """Files as given, and supported files inside given directories (sorted), plus what was skipped.

    A symlink inside a given directory whose target lies outside every given path (a link to
    /etc/passwd in a shared folder) is skipped unless `follow_symlinks`; files named directly are
    taken as given. Symlinked directories are walked once (no loops).
    """
    given = [Path(p) for p in paths]
    roots = [p.resolve() for p in given]
    out: list[Path] = []
    skipped: list[Skipped] = []

    def inside(target: Path) -> bool:
        return any(target == r or target.is_relative_to(r) for r in roots)

    for p in given:
        if not p.is_dir():
            out.append(p)
            continue
        seen: set[Path] = set()
        found: list[Path] = []
        for folder, dirs, files in os.walk(p, followlinks=True):
            here = Path(folder)
            real = here.resolve()
            if real in seen:
                dirs[:] = []
                continue
            seen.add(real)
            for d in list(dirs):
                link = here / d
                if link.is_symlink() and not follow_symlinks and not inside(link.resolve()):
                    dirs.remove(d)
                    skipped.append(_outside(link))
            dirs.sort()
            for f in files:
                file = here / f
                if file.suffix.lower() not in SUPPORTED_SUFFIXES or f.startswith("~$") or not file.is_file():
                    continue  # "~$plan.docx" is the lock file Word keeps beside an open document
                if file.is_symlink() and not follow_symlinks and not inside(file.resolve()):
                    skipped.append(_outside(file))
                    continue
                found.append(file)
        out.extend(sorted(found))
    return out, skipped


def _outside(link: Path) -> Skipped:
    target = link.resolve()
    return Skipped(
        link,
        f"{link}: skipped, a symlink to {target} outside the given folders (--follow-symlinks allows it)",
        f"{link}: 指定したフォルダの外（{target}）を指すシンボリックリンクのため飛ばしました"
        "（取り込むには --follow-symlinks）",
    )


class _Progress:
    """A tqdm bar on the terminal (stderr) for embedding progress; silent when disabled."""

    def __init__(self, enabled: bool, label: str, total: int) -> None:
        self.bar = None
        if enabled:
            from tqdm import tqdm

            self.bar = tqdm(total=total, desc=label[:30], unit="chunk", file=sys.stderr, leave=False)

    def __call__(self, n: int) -> None:
        if self.bar is not None:
            self.bar.update(n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def ingest_file(
    index: Index,
    settings: Settings,
    path: Path,
    source: SourceInfo | None = None,
    *,
    progress: bool = False,
    on_progress: Callable[[int, int], None] | None = None,
    sha256: str | None = None,
    name: str | None = None,
) -> FileResult:
    """Index one file (or skip it when unchanged). Errors are returned, never raised.

    `sha256` is the file's hash when the caller already computed it; `name` is the file name the id is
    made from when `source` has no doc_id (an upload's original name; default the path's).
    """
    started = time.perf_counter()
    result = FileResult(path=str(path))
    try:
        if not path.is_file():
            raise IngestError(
                str(path),
                "file not found",
                message_ja="ファイルが見つかりません",
                hint="check the path",
                hint_ja="パスを確認してください",
                kind="missing",
            )
        doc_id = assign_doc_id(index, path, source.doc_id if source else "", name=name)
        result.doc_id = doc_id
        fingerprint = pipeline_fingerprint(settings, index)
        if path.stat().st_size <= settings.ingest.max_file_mib * MIB:
            sha = sha256 or sha256_file(path)
            if index.fingerprint(doc_id) == (sha, fingerprint):
                record = index.document(doc_id)
                result.status, result.chunks = "unchanged", record.chunks if record else 0
                result.pages = record.pages if record else None
                return result
        t0 = time.perf_counter()
        doc = load_document(path, source, settings.ingest)
        if doc.source.doc_id != doc_id:
            doc = replace(doc, source=replace(doc.source, doc_id=doc_id))
        t1 = time.perf_counter()
        flags = flags_for(doc.kind)
        cleaned = normalize_document(doc, flags)
        t_norm = time.perf_counter()
        chunks = chunk_blocks(doc, cleaned, flags, settings.ingest.chunk_chars, settings.ingest.chunk_overlap)
        if not chunks:
            raise IngestError(
                str(path),
                "no text to index after cleaning",
                message_ja="索引できる本文がありません",
                hint="check the file's contents",
                hint_ja="ファイルの内容を確認してください",
                kind="empty",
            )
        if settings.ingest.max_chunks and len(chunks) > settings.ingest.max_chunks:
            raise ingest_error(path, "too_many_chunks", n=len(chunks), limit=settings.ingest.max_chunks)
        t2 = time.perf_counter()
        existed = index.fingerprint(doc_id) is not None
        src = doc.source
        record = DocumentRecord(
            doc_id=src.doc_id,
            title=src.title,
            level=src.level,
            edition=src.edition,
            path=str(path.resolve()),
            sha256=doc.sha256,
            pages=doc.pages,
            chunks=len(chunks),
            ingested_at=datetime.now(UTC).isoformat(timespec="seconds"),
            kind=doc.kind,
            publisher=src.publisher,
            url=src.url,
            unofficial=src.unofficial,
        )
        bar = _Progress(progress, src.doc_id, len(chunks))
        done = [0]

        def tick(n: int) -> None:
            bar(n)
            done[0] += n
            if on_progress:
                on_progress(done[0], len(chunks))

        try:
            index.upsert_document(record, chunks, fingerprint, progress=tick)
        finally:
            bar.close()
        t3 = time.perf_counter()
        result.status = "replaced" if existed else "added"
        result.chunks, result.pages = len(chunks), doc.pages
        result.timings = {"load_s": t1 - t0, "normalize_s": t_norm - t1, "chunk_s": t2 - t_norm, "index_s": t3 - t2}
    except IngestError as exc:
        result.error_kind, result.message, result.message_ja = exc.kind, exc.user_message("en"), exc.user_message()
    except DXAError as exc:  # the index, not the file (e.g. the Chroma server went away): name the file too
        result.error_kind = "index"
        result.message, result.message_ja = f"{path}: {exc.user_message('en')}", f"{path}: {exc.user_message()}"
    except Exception as exc:  # a bug or a hostile file we did not foresee: report it, keep the batch going
        log.exception("unexpected error while ingesting %s", path)
        result.error_kind = "internal"
        result.message = f"{path}: unexpected error: {exc!r}"
        result.message_ja = f"{path}: 予期しないエラーが発生しました: {exc!r}"
    finally:
        result.seconds = time.perf_counter() - started
    return result


def ingest_paths(
    index: Index,
    settings: Settings,
    paths: Sequence[Path],
    *,
    source: SourceInfo | None = None,
    progress: bool = False,
    on_progress: Callable[[int, int], None] | None = None,
) -> list[FileResult]:
    """Index files and directories. Files that are listed in the bundled manifest keep its metadata.

    `on_progress(done, total)` reports embedded chunks of the file being indexed (an upload job's status)."""
    manifest = _manifest_by_sha(settings)
    files, skipped = expand_paths(paths, follow_symlinks=settings.ingest.follow_symlinks)
    results = [
        FileResult(path=str(s.path), status="skipped", error_kind="symlink", message=s.message, message_ja=s.message_ja)
        for s in skipped
    ]
    for path in files:
        src, sha = source, None
        if path.is_file() and path.stat().st_size <= settings.ingest.max_file_mib * MIB:
            sha = sha256_file(path)
            entry = manifest.get(sha) if src is None else None
            src = entry.source if entry else src
        results.append(ingest_file(index, settings, path, src, progress=progress, on_progress=on_progress, sha256=sha))
    return results


def ingest_corpus(
    index: Index, settings: Settings, *, progress: bool = False, extra: Sequence[ManifestEntry] = ()
) -> list[FileResult]:
    """Index every manifest entry with a local file (shipped, or fetched into the cache)."""
    results = []
    for entry in [*load_manifest(settings.corpus_dir), *extra]:
        path = entry.path
        try:
            verify_entry(entry)  # a shipped file must be the one the manifest describes
        except IngestError as exc:
            results.append(
                FileResult(
                    path=str(path),
                    doc_id=entry.source.doc_id,
                    error_kind=exc.kind,
                    message=exc.user_message("en"),
                    message_ja=exc.user_message(),
                )
            )
            continue
        if path is None:
            cached = settings.cache_dir / "corpus" / f"{entry.source.doc_id}.pdf"
            if not cached.exists():
                continue
            path = cached
        results.append(ingest_file(index, settings, path, entry.source, progress=progress))
    return results


def _manifest_by_sha(settings: Settings) -> dict[str, ManifestEntry]:
    try:
        return {e.sha256: e for e in load_manifest(settings.corpus_dir) if e.sha256}
    except DXAError:
        return {}


def summary_lines(results: Sequence[FileResult], lang: str = "ja") -> list[str]:
    """Human-readable per-file lines for the terminal."""
    labels = {
        "ja": {"added": "追加", "replaced": "更新", "unchanged": "変更なし", "skipped": "スキップ", "error": "エラー"},
        "en": {
            "added": "added",
            "replaced": "replaced",
            "unchanged": "unchanged",
            "skipped": "skipped",
            "error": "error",
        },
    }[lang]
    lines = []
    for r in results:
        if r.status == "skipped":
            lines.append(f"[{labels['skipped']}] {r.message_ja if lang == 'ja' else r.message}")
        elif r.ok:
            lines.append(f"[{labels[r.status]}] {r.doc_id}: {r.chunks} chunks ({r.seconds:.1f}s) {r.path}")
        else:
            lines.append(f"[{labels['error']}] {r.message_ja if lang == 'ja' else r.message}")
    return lines
