"""`dxa search` and `dxa ask`: the JSON contract that scripts and the evaluation suite rely on."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from assistant.config import Settings
from assistant.errors import DXAError
from assistant.followup import Turn
from assistant.retrieve import Filters
from ui.cli.base import cli_user, pipeline_for
from ui.cli.output import emit_json, say


def filters_from(args: argparse.Namespace) -> Filters:
    return Filters(levels=tuple(args.level or ()), doc_ids=tuple(args.doc or ()), editions=tuple(args.edition or ()))


def read_jsonl(path: str, key: str) -> Iterator[tuple[Any, str, list[Turn]]]:
    """(id, text, history) per line; `history` is the optional earlier turns, oldest first."""
    stream = sys.stdin if path == "-" else Path(path).open(encoding="utf-8")
    with stream:
        for n, line in enumerate(stream, start=1):
            if not line.strip():
                continue
            obj = json.loads(line)
            text = obj.get(key) or obj.get("query") or obj.get("question")
            if not text:
                raise SystemExit(f"{path}:{n}: '{key}' がありません / missing '{key}'")
            yield obj.get("id", n), text, parse_history(obj.get("history"), f"{path}:{n}")


def read_history(path: str) -> list[Turn]:
    """`--history FILE.json` for a single question."""
    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SystemExit(f"{path}: 会話履歴を読めません / cannot read the history: {exc}") from exc
    return parse_history(raw, path)


def parse_history(raw: Any, where: str) -> list[Turn]:
    """`[{"question": …, "answer": …}, …]` (oldest first) as turns; a clear usage error otherwise."""
    if raw is None:
        return []
    if not isinstance(raw, list) or not all(isinstance(t, dict) and isinstance(t.get("question"), str) for t in raw):
        raise SystemExit(
            f'{where}: history は [{{"question": …, "answer": …}}, …] の形で指定してください'
            " / history must be a list of {question, answer}"
        )
    return [Turn(t["question"], str(t.get("answer") or "")) for t in raw]


def cmd_search(args: argparse.Namespace, settings: Settings) -> int:
    pipeline = pipeline_for(settings)
    filters = filters_from(args)
    if not (args.query or args.queries):
        say("問いを指定してください / give a query or --queries FILE", file=sys.stderr)
        return 2
    queries = read_jsonl(args.queries, "query") if args.queries else [(None, args.query, [])]
    failed = 0
    for qid, query, _ in queries:
        try:
            result = pipeline.search(query, args.k, filters, True if args.balance else None)
        except DXAError as exc:  # e.g. the Chroma server went away: say so for this query, go on
            failed += 1
            report_failure(exc, qid, "query", query, args.json)
            continue
        if args.json:
            obj: dict[str, Any] = {"query": query, "hits": [h.to_dict() for h in result.hits]}
            if qid is not None:
                obj["id"] = qid
            emit_json(obj)
        else:
            for h in result.hits:
                page = f"p.{h.chunk.page}" if h.chunk.page else ""
                say(
                    f"{h.rank:>2}. [{h.chunk.level}] {h.chunk.title} {page} {h.chunk.section}\n    {h.chunk.text[:120]}"
                )
    return 1 if failed else 0


def report_failure(exc: DXAError, qid: Any, key: str, text: str, as_json: bool) -> None:
    """One line for a query or question that failed: a JSON object with "error", or a message on stderr."""
    if as_json:
        obj: dict[str, Any] = {key: text, "error": exc.user_message("ja"), "error_en": exc.user_message("en")}
        if qid is not None:
            obj["id"] = qid
        emit_json(obj)
        return
    label = f"{qid}: " if qid is not None else ""
    say(f"エラー: {label}{text}: {exc.user_message('ja')}", file=sys.stderr)


def cmd_ask(args: argparse.Namespace, settings: Settings) -> int:
    pipeline = pipeline_for(settings)
    filters = filters_from(args)
    if not (args.question or args.questions):
        say("質問を指定してください / give a question or --questions FILE", file=sys.stderr)
        return 2
    questions: Iterable[tuple[Any, str, list[Turn]]]
    if args.questions:
        questions = read_jsonl(args.questions, "question")
    else:
        questions = [(None, args.question, read_history(args.history) if args.history else [])]
    failed = 0
    for qid, question, turns in questions:
        stream = not args.json and not args.questions and pipeline.use_llm(args.mode)
        try:
            answer = pipeline.ask(
                question,
                filters,
                mode=args.mode,
                k=args.k,
                on_token=(lambda t: say(t, end="", flush=True)) if stream else None,
                history=turns,
                user=cli_user(),  # every answer is a run in the run log, as `cli:<OS user>`
            )
        except DXAError as exc:  # e.g. the Chroma server went away: say so for this question, go on
            failed += 1
            report_failure(exc, qid, "question", question, args.json)
            continue
        if args.json:
            obj = answer.to_dict()
            if qid is not None:
                obj["id"] = qid
            emit_json(obj)
            continue
        if answer.resolved_question and answer.resolved_question != answer.question:
            print(f"（前の質問を踏まえた解釈: {answer.resolved_question}）")
        if answer.notice:
            say(f"※ {answer.notice}")
        say(("\n" if stream else "") + ("" if stream else answer.answer))
        for c in answer.citations:
            page = f" {c.chunk.page}頁" if c.chunk.page else ""
            say(f"[{c.n}] {c.chunk.title}（{c.chunk.edition}）{page} {c.chunk.section}\n     「{c.quote}」")
        for s in answer.unsupported:
            say(f"⚠ 根拠が確認できない文: {s}")
    return 1 if failed else 0


def add_parsers(sub: Any, common: argparse.ArgumentParser) -> None:
    """This module's sub-commands; those that open the index take `common` (--store) as a parent."""
    for name, positional, batch in (("search", "query", "--queries"), ("ask", "question", "--questions")):
        p = sub.add_parser(name, parents=[common], help="検索 / search" if name == "search" else "質問 / ask")
        p.add_argument(positional, nargs="?", help="問い (omit with " + batch + ")")
        p.add_argument(batch, help="JSONL file (or -) with one {id, " + positional + "} per line")
        p.add_argument("-k", type=int, default=None, help="passages to retrieve")
        p.add_argument("--json", action="store_true", help="JSON output (one object per line in batch mode)")
        p.add_argument("--level", action="append", choices=["city", "prefecture", "national", "other"])
        p.add_argument("--doc", action="append", help="restrict to a document id (repeatable)")
        p.add_argument("--edition", action="append", help="restrict to an edition (repeatable)")
        p.add_argument("--balance", action="store_true", help="balance results across levels")
        if name == "ask":
            p.add_argument("--mode", choices=["auto", "extractive", "llm"], default=None)
            p.add_argument("--history", help='JSON file: earlier turns [{"question": …, "answer": …}, …], oldest first')
