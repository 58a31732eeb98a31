"""LLM judgement of one row of the alignment matrix: the JSON reply and its parsing (prompt: assistant.prompts)."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from assistant.align.items import AlignItem
from assistant.errors import LLMError
from assistant.prompts import build_align_prompt

if TYPE_CHECKING:
    from assistant.align.matrix import Match, Verdict
    from assistant.pipeline import Pipeline

VERDICT_NAMES = ("対応あり", "一部対応", "記載なし")


def parse_judgement(raw: str, n_passages: int) -> tuple[Verdict, list[int], str]:
    """(verdict, 0-based passage indexes, reason) from the model's reply; LLMError when unreadable."""
    m = re.search(r"\{.*\}", raw, re.S)
    try:
        obj = json.loads(m.group(0)) if m else None
    except json.JSONDecodeError:
        obj = None
    verdict = obj.get("verdict") if isinstance(obj, dict) else None
    if verdict not in VERDICT_NAMES:
        found = [v for v in VERDICT_NAMES if v in raw]
        if len(found) != 1:
            raise LLMError(
                f"unreadable alignment judgement: {raw[:200]!r}",
                message_ja="生成AIの判定結果を読み取れませんでした。",
                hint_ja="しきい値による判定を表示しています。",
            )
        verdict, obj = found[0], {}
    assert isinstance(obj, dict)
    picked = [int(n) - 1 for n in obj.get("passages") or [] if str(n).isdigit() and 1 <= int(n) <= n_passages]
    return verdict, list(dict.fromkeys(picked)), str(obj.get("reason") or "")[:200]  # type: ignore[return-value]


def judge_with_llm(pipeline: Pipeline, item: AlignItem, matches: Sequence[Match]) -> tuple[Verdict, list[int], str]:
    """Ask the pipeline's chat model for the verdict; LLMError when there is none or it fails."""
    system, user = build_align_prompt(item, matches)
    raw = pipeline.require_model().complete(system, user)
    return parse_judgement(raw, len(matches))
