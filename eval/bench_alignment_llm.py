"""The LLM path of the alignment benchmark (`python -m eval.bench_alignment --store DIR --llm`).

The labelled rows go through the same code as `dxa align` with an LLM (prompt builder, JSON parsing,
evidence and quote re-check) against whatever DXA_LLM__* configures; the four 体系 sections are drafted
as `dxa draft … --mode llm --style dearu` does and checked as `dxa draft check` does. Without a real
endpoint this only exercises the path (tests/eval/test_bench_alignment_llm.py runs it on the fake server).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from assistant.align import AlignItem
from assistant.align.judge import NOT_EVIDENCE, QUOTE_NOT_FOUND
from assistant.align.matrix import build_matrix
from assistant.config import PlanSettings
from assistant.draft import check_draft, has_polite_ending, llm_draft
from assistant.errors import LLMError
from assistant.export import draft_markdown
from assistant.pipeline import Pipeline
from assistant.types import Chunk

SECTIONS = ("市民サービスのＤＸ", "地域社会のＤＸ", "行政事務のＤＸ", "ＤＸ推進基盤の整備")  # the 体系 sections


@dataclass
class LLMRun:
    """The labelled rows judged through the LLM path, and what the re-check did."""

    verdicts: list[str]  # per labelled row
    shown: list[list[Chunk]]  # the evidence passages per row
    status: Counter[str]  # ok / unreadable / failed / rejected, per row
    dropped: Counter[str]  # re-check drops by kind: quote not in passage, pick not evidence, verdict → 記載なし
    rows: list[Any] = field(default_factory=list)  # the AlignmentRows, in labelled order


def llm_rows(pipeline: Pipeline, indexes: list[int], items: list[AlignItem], plan: PlanSettings) -> LLMRun:
    """The rows `indexes` (into `items`) judged by the configured chat model, as `dxa align` does with an LLM."""
    matrix = build_matrix(pipeline, use_llm=True, plan=plan, only=set(indexes))
    by_id = {r.item.item_id: r for r in matrix.rows}
    got = [by_id[items[i].item_id] for i in indexes]
    dropped: Counter[str] = Counter()
    for row in got:
        for note in row.dropped:
            kind = next((k for k in (QUOTE_NOT_FOUND, NOT_EVIDENCE) if k in note), note)
            dropped["verdict → 記載なし" if note.startswith("verdict") else kind] += 1
    shown = [[c.chunk for c in row.city_quotes] for row in got]
    return LLMRun([row.verdict for row in got], shown, Counter(row.llm_status for row in got), dropped, got)


@dataclass
class DraftRun:
    section: str
    ok: bool  # the model answered (else: the error)
    error: str = ""
    sentences: int = 0  # checked by `dxa draft check`
    unsupported: list[str] = field(default_factory=list)  # by the check of the Markdown with its 出典
    unknown: list[int] = field(default_factory=list)
    polite: int = 0  # です・ます endings (asked: である調)
    headings: list[str] = field(default_factory=list)


def llm_drafts(pipeline: Pipeline, sections: tuple[str, ...] = SECTIONS) -> list[DraftRun]:
    """Each section drafted by the chat model (`dxa draft … --mode llm --style dearu`), then checked."""
    out = []
    for title in sections:
        try:
            d = llm_draft(pipeline, title, f"「{title}」の施策の方向性", "dearu")
        except LLMError as exc:
            out.append(DraftRun(title, False, str(exc)[:120]))
            continue
        check = check_draft(draft_markdown(d), pipeline)
        polite = sum(has_polite_ending(x.text) for s in d.sections for x in s.sentences)
        headings = [s.heading for s in d.sections]
        out.append(
            DraftRun(title, True, "", check.sentences, check.unsupported, check.unknown_markers, polite, headings)
        )
    return out


def describe(run: LLMRun, drafts: list[DraftRun]) -> list[str]:
    """The counts the benchmark prints under its figures: replies, re-check drops, and each draft's check."""
    s, d = run.status, run.dropped
    lines = [
        f"  replies: {s['ok']} judged, {s['unreadable']} unreadable, {s['failed']} endpoint failures, "
        f"{s['rejected']} rejected (every quote made up); those rows keep the threshold verdict",
        f"  re-check dropped: {d[QUOTE_NOT_FOUND]} picks quoting text not in the passage, "
        f"{d[NOT_EVIDENCE]} picks not naming the item's subject, {d['verdict → 記載なし']} verdicts → 記載なし",
    ]
    for r in drafts:
        if not r.ok:
            lines.append(f"draft {r.section}: LLM failed ({r.error})")
            continue
        lines.append(
            f"draft {r.section}: {r.sentences} sentences checked, {len(r.unsupported)} unsupported, "
            f"{len(r.unknown)} unknown markers, {r.polite} です・ます endings, headings {r.headings}"
        )
    return lines
