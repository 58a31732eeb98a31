"""LLM judgement of one row of the alignment matrix: the JSON reply, its parsing and its re-check.

The prompt is assistant.prompts.build_align_prompt. The model names the passages it relied on and
may quote them; the re-check keeps only picks that are evidence (evidence.py) and whose quote is
really in the passage, so a real endpoint cannot put text into the 整合表 that the city never wrote.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from assistant.align.items import AlignItem
from assistant.answer.citations import bigrams, split_sentences
from assistant.errors import LLMError
from assistant.prompts import build_align_prompt

if TYPE_CHECKING:
    from assistant.align.matrix import Match, Verdict
    from assistant.pipeline import Pipeline

VERDICT_NAMES = ("対応あり", "一部対応", "記載なし")
NOT_EVIDENCE = "項目の主題に触れていない"
QUOTE_NOT_FOUND = "引用が市の記述にない"
Status = Literal["ok", "unreadable", "failed", "rejected"]


class UnreadableJudgement(LLMError):
    """The model answered, but no verdict could be read from the reply."""


@dataclass
class Judgement:
    """What the model said: verdict, 0-based passage indexes (best first), its quote per pick, reason."""

    verdict: Verdict
    picked: list[int]
    reason: str
    quotes: dict[int, str] = field(default_factory=dict)


def _index(value: object, n_passages: int) -> int | None:
    s = str(value).strip()
    return int(s) - 1 if s.isdigit() and 1 <= int(s) <= n_passages else None


def read_judgement(raw: str, n_passages: int) -> Judgement:
    """The judgement from the model's reply; UnreadableJudgement when no verdict can be read.

    `passages` may hold numbers or {"n": number, "quote": text} objects (the prompt asks for the latter).
    """
    m = re.search(r"\{.*\}", raw, re.S)
    try:
        obj = json.loads(m.group(0)) if m else None
    except json.JSONDecodeError:
        obj = None
    verdict = obj.get("verdict") if isinstance(obj, dict) else None
    if verdict not in VERDICT_NAMES:
        found = [v for v in VERDICT_NAMES if v in raw]
        if len(found) != 1:
            raise UnreadableJudgement(
                f"unreadable alignment judgement: {raw[:200]!r}",
                message_ja="生成AIの判定結果を読み取れませんでした。",
                hint_ja="しきい値による判定を表示しています。",
            )
        verdict, obj = found[0], {}
    assert isinstance(obj, dict)
    picked: list[int] = []
    quotes: dict[int, str] = {}
    entries = obj.get("passages") or []
    for entry in entries if isinstance(entries, list) else []:
        value = entry.get("n", entry.get("passage")) if isinstance(entry, dict) else entry
        k = _index(value, n_passages)
        if k is None or k in picked:
            continue
        picked.append(k)
        quote = entry.get("quote") if isinstance(entry, dict) else None
        if isinstance(quote, str) and quote.strip():
            quotes[k] = quote.strip()
    return Judgement(verdict, picked, str(obj.get("reason") or "")[:200], quotes)  # type: ignore[arg-type]


def parse_judgement(raw: str, n_passages: int) -> tuple[Verdict, list[int], str]:
    """(verdict, 0-based passage indexes, reason) from the model's reply; LLMError when unreadable."""
    j = read_judgement(raw, n_passages)
    return j.verdict, j.picked, j.reason


def judge_with_llm(pipeline: Pipeline, item: AlignItem, matches: Sequence[Match]) -> Judgement:
    """Ask the pipeline's chat model for the verdict; LLMError when there is none or it fails."""
    system, user = build_align_prompt(item, matches)
    raw = pipeline.require_model().complete(system, user)
    return read_judgement(raw, len(matches))


def _flat(text: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


def located_quote(quote: str, text: str) -> str:
    """The model's quote as an exact substring of `text`: itself, or the sentence of `text` that holds it
    once width and spacing are normalised; "" when the passage does not say it."""
    if len(_flat(quote)) < 6:
        return ""
    if quote in text:
        return quote
    holding = [s for s in split_sentences(text) if _flat(quote) in _flat(s)]
    if holding:
        return min(holding, key=len)
    if _flat(quote) in _flat(text):  # spans sentences: the sentence sharing most bigrams
        sentences = split_sentences(text) or [text]
        return max(sentences, key=lambda s: len(bigrams(s) & bigrams(quote)))
    return ""


@dataclass
class Recheck:
    """The judgement after the re-check: what stands, and what was dropped and why."""

    status: Status
    verdict: Verdict
    evidence: list[int]  # candidate indexes kept as evidence, in the model's order
    quotes: dict[int, str]  # candidate index → verified exact quote
    reason: str
    dropped: list[str]  # "passage n: why"
    downgraded: bool = False  # the verdict became 記載なし because no candidate is evidence


def recheck(j: Judgement, candidates: Sequence[Match]) -> Recheck:
    """Keep the picks that are evidence and whose quote is in the passage.

    A pick whose quote is not in its passage is dropped; when the model quoted and none of its quotes
    stands, the judgement is rejected (the row keeps the threshold verdict). When no pick is evidence
    the best evidence candidate stands instead, and with none the row is 記載なし.
    """
    kept: list[int] = []
    quotes: dict[int, str] = {}
    dropped: list[str] = []
    for k in j.picked:
        if k in j.quotes:
            q = located_quote(j.quotes[k], candidates[k].chunk.text)
            if not q:
                dropped.append(f"passage {k + 1}: {QUOTE_NOT_FOUND}")
                continue
            quotes[k] = q
        if not candidates[k].evidence:
            dropped.append(f"passage {k + 1}: {NOT_EVIDENCE}")
            continue
        kept.append(k)
    if j.quotes and not quotes:
        return Recheck("rejected", j.verdict, [], {}, j.reason, dropped)
    verdict, reason, downgraded = j.verdict, j.reason, False
    if verdict != "記載なし" and not kept:
        kept = [k for k, m in enumerate(candidates) if m.evidence][:1]
    if verdict != "記載なし" and not kept:
        verdict, downgraded = "記載なし", True
        dropped.append(f"verdict {j.verdict}: {NOT_EVIDENCE}")
        reason = f"{reason}（根拠とされた記述は項目の主題に触れていないため記載なしとしました）"
    if verdict == "記載なし":
        kept = []
    return Recheck("ok", verdict, kept, {k: q for k, q in quotes.items() if k in kept}, reason, dropped, downgraded)
