"""`dxa align` (整合表 and gaps) and `dxa draft` (cited drafting, `draft check`, `draft compare`)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from assistant.config import Settings
from ui.cli.base import pipeline_for, record_event
from ui.cli.output import emit_json, say


def _write(settings: Settings, path: str, data: bytes | str, what: str) -> None:
    out = Path(path)
    if isinstance(data, bytes):
        out.write_bytes(data)
    else:
        out.write_text(data, encoding="utf-8")
    record_event(settings, "export", f"{what}: {out.resolve()}")
    say(f"書き出しました: {out}", file=sys.stderr)


def _use_llm(pipeline: Any, mode: str | None) -> bool:
    return bool(pipeline.use_llm(mode))


def cmd_align(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.align import build_matrix, matrix_json
    from assistant.export import matrix_markdown, matrix_xlsx

    pipeline = pipeline_for(settings)
    matrix = build_matrix(pipeline, use_llm=_use_llm(pipeline, args.mode))
    if not matrix.rows:
        say(
            "国・県の資料に番号付きの項目が見つかりません。dxa ingest --corpus で資料を登録してください。",
            file=sys.stderr,
        )
        return 1
    if args.xlsx:
        _write(settings, args.xlsx, matrix_xlsx(matrix), "整合表 xlsx")
    if args.md:
        _write(settings, args.md, matrix_markdown(matrix, gaps=True), "整合表 md")
    if args.json:
        emit_json(matrix_json(matrix, gaps=True))
        return 0
    if matrix.notice:
        say(f"※ {matrix.notice}")
    rows = matrix.gaps() if args.gaps else matrix.rows
    title = "未対応の項目（記載なし・一部対応、記載がない順）" if args.gaps else "整合表"
    say(f"{title}: {len(rows)} 件  しきい値 一部対応≥{matrix.thresholds[0]} 対応あり≥{matrix.thresholds[1]}")
    for r in rows:
        say(f"\n【{r.verdict}】({r.score:.2f}) [{r.item.level}] {r.item.doc_id} {r.item.heading}")
        for c in r.source_quotes:
            say(f"   国・県: 「{c.quote}」")
        for c in r.city_quotes:
            say(f"   市    : 「{c.quote}」 — {c.chunk.section}")
        if r.verdict == "記載なし":
            for c in r.related[:2]:
                say(f"   関連の可能性: 「{c.quote}」 — {c.chunk.section}")
        if r.reason:
            say(f"   理由  : {r.reason}")
    return 0


def _read_draft_file(path: str) -> str:
    p = Path(path)
    if not p.exists():
        raise SystemExit(f"ファイルがありません: {path}")
    if p.suffix.lower() == ".docx":
        from assistant.export import read_docx_text

        return read_docx_text(p)
    return p.read_text(encoding="utf-8")


def cmd_draft(args: argparse.Namespace, settings: Settings) -> int:
    """`dxa draft section|check|compare` (`dxa draft "題"` is short for `dxa draft section "題"`)."""
    pipeline = pipeline_for(settings)
    if args.draft_action == "check":
        from assistant.draft import check_draft

        result = check_draft(_read_draft_file(args.file), pipeline)
        if args.json:
            emit_json(
                {
                    "sentences": result.sentences,
                    "unsupported": result.unsupported,
                    "unknown_markers": result.unknown_markers,
                    "sources": len(result.citations),
                }
            )
        else:
            say(f"確認した文: {result.sentences}  出典: {len(result.citations)} 件")
            for n in result.unknown_markers:
                say(f"⚠ 出典一覧にない番号: [{n}]")
            for s in result.unsupported:
                say(f"⚠ 根拠が確認できない文: {s}")
            if not result.unsupported and not result.unknown_markers:
                say("すべての文に根拠が確認できました。")
        return 1 if result.unsupported or result.unknown_markers else 0
    if args.draft_action == "compare":
        from assistant.compare import compare_documents

        old_id, new = args.old_doc_id, args.new
        new_arg = new if pipeline.index.document(new) is not None else _read_draft_file(new)
        cmp = compare_documents(pipeline, old_id, new_arg)
        if args.json:
            emit_json(
                {
                    "old": cmp.old_id,
                    "new": cmp.new_id,
                    "kept": [
                        {
                            "section": p.new.section,
                            "text": p.new.text,
                            "old_section": p.old.section if p.old else "",
                            "old_text": p.old.text if p.old else "",
                            "similarity": p.similarity,
                        }
                        for p in cmp.kept
                    ],
                    "added": [{"section": s.section, "text": s.text} for s in cmp.new],
                    "dropped": [{"section": s.section, "text": s.text} for s in cmp.dropped],
                }
            )
            return 0
        say(f"継続 {len(cmp.kept)} 件 / 新規 {len(cmp.new)} 件 / 削除 {len(cmp.dropped)} 件")
        for stmt in cmp.new:
            say(f"＋ 新規 [{stmt.section}] {stmt.text}")
        for stmt in cmp.dropped:
            say(f"－ 削除 [{stmt.section}] {stmt.text}")
        for p in cmp.kept:
            say(f"＝ 継続 [{p.new.section}] {p.new.text}")
        return 0
    from assistant.draft import make_draft
    from assistant.export import draft_docx, draft_markdown

    title = " ".join(args.title)
    draft = make_draft(pipeline, title, args.intent or "", args.style, use_llm=_use_llm(pipeline, args.mode))
    record_event(settings, "draft", f"{draft.title}（{draft.mode}）")
    if args.docx:
        _write(settings, args.docx, draft_docx(draft), f"原稿「{draft.title}」 docx")
    if args.md:
        _write(settings, args.md, draft_markdown(draft), f"原稿「{draft.title}」 md")
    if args.json:
        from assistant.align import citation_json

        emit_json(
            {
                "title": draft.title,
                "intent": draft.intent,
                "style": draft.style,
                "mode": draft.mode,
                "sections": [
                    {
                        "heading": s.heading,
                        "sentences": [
                            {
                                "text": x.text,
                                "citations": x.citations,
                                "placeholder": x.placeholder,
                                "paraphrase": x.paraphrase,
                                "kind": x.kind,
                            }
                            for x in s.sentences
                        ],
                    }
                    for s in draft.sections
                ],
                "citations": [citation_json(c, c.chunk.level) for c in draft.citations],
                "unsupported": draft.unsupported,
                "notice": draft.notice,
                "text": draft_markdown(draft),
            }
        )
        return 0
    if draft.notice:
        say(f"※ {draft.notice}")
    say(draft_markdown(draft))
    for s in draft.unsupported:
        say(f"⚠ 根拠が確認できない文: {s}")
    return 0


def add_parsers(sub: Any, common: argparse.ArgumentParser) -> None:
    """This module's sub-commands; those that open the index take `common` (--store) as a parent."""
    p = sub.add_parser("align", parents=[common], help="整合表（国・県の項目と市の記述）/ alignment matrix")
    p.add_argument("--json", action="store_true", help="JSON output")
    p.add_argument("--xlsx", help="write the 整合表 to an Excel file")
    p.add_argument("--md", help="write the 整合表 to a Markdown file")
    p.add_argument("--gaps", action="store_true", help="list only items the city text does not address")
    p.add_argument("--mode", choices=["auto", "extractive", "llm"], default=None, help="LLM judgement or thresholds")

    p = sub.add_parser(
        "draft",
        help='出典付き起草 / cited drafting (draft "題", draft check FILE, draft compare OLD FILE)',
        description="出典付きの原稿を起草し、編集後の原稿を確かめる / cited drafting",
        epilog=(
            'dxa draft "節の題" は dxa draft section "節の題" の略です。draft の次の語が check・compare・section'
            " ならサブコマンドとして読むので、その語を題にするときは dxa draft section check と書いてください。"
            ' / `dxa draft "TITLE"` is short for `dxa draft section "TITLE"`; a first word check, compare or'
            " section is read as the sub-command, so draft a section titled so with `dxa draft section check`."
        ),
    )
    actions = p.add_subparsers(dest="draft_action", required=True, metavar="{section,check,compare}")
    s = actions.add_parser("section", parents=[common], help="節の原稿を起草（既定） / draft a section (the default)")
    s.add_argument("title", nargs="+", help="節の題 / SECTION title (several words are joined with spaces)")
    _section_options(s)
    c = actions.add_parser("check", parents=[common], help="編集した原稿の出典を再確認 / re-check an edited draft")
    c.add_argument("file", help="draft file (.md, .txt or .docx)")
    c.add_argument("--json", action="store_true")
    m = actions.add_parser(
        "compare", parents=[common], help="旧計画と比較（新規・継続・削除） / new, kept, dropped against an older plan"
    )
    m.add_argument("old_doc_id", help="the indexed older plan")
    m.add_argument("new", help="DRAFT_FILE (.md, .txt, .docx) or the doc id of an indexed document")
    m.add_argument("--json", action="store_true")


def _section_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--intent", help="what the section should say, e.g. 「行政事務のＤＸ」の施策の方向性")
    p.add_argument("--style", choices=["dearu", "desumasu"], default=None, help="である調 / ですます調")
    p.add_argument("--docx", help="write the draft to a Word file")
    p.add_argument("--md", help="write the draft to a Markdown file")
    p.add_argument("--json", action="store_true")
    p.add_argument("--mode", choices=["auto", "extractive", "llm"], default=None)


DRAFT_ACTIONS = ("section", "check", "compare")


def draft_shorthand(rest: list[str], common: argparse.ArgumentParser) -> list[str]:
    """The words after `draft`, with the implied `section` added (`draft "題"` → `draft section "題"`).

    A sub-command named after options (`draft --json check FILE`, accepted before subparsers) is moved
    to the front. argparse itself finds the first positional word, so `--md=F`, abbreviations and option
    values that happen to read "check" are read as the section parser would read them.
    """

    def first_word(tokens: list[str]) -> str | None:
        probe = argparse.ArgumentParser(add_help=False, parents=[common], exit_on_error=False)
        _section_options(probe)
        probe.add_argument("words", nargs="*")
        try:
            words: list[str] = probe.parse_known_args(tokens)[0].words
        except argparse.ArgumentError:  # e.g. a bad --style: the real parser reports it; guess the word
            words = [t for t in tokens if not t.startswith("-")]
        return words[0] if words else None

    word = first_word(rest)
    if word is None or (rest[0] == word and word in DRAFT_ACTIONS):
        return rest  # `draft`, `draft --help`, `draft check FILE` …
    if word not in DRAFT_ACTIONS:
        return ["section", *rest]
    for i, token in enumerate(rest):  # the first place where argparse reads `word` as a positional
        if token == word and first_word(rest[:i]) is None and first_word(rest[: i + 1]) == word:
            return [word, *rest[:i], *rest[i + 1 :]]
    return rest
