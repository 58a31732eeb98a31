"""Optional LLM-judge metrics (only when an LLM is configured): faithfulness and relevance, 0..1.

The judge answers with two integers 1-5; anything else scores None (not 0) so a confused judge
does not look like a bad answer. The model is the pipeline's; the prompt lives in assistant.prompts.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from assistant.errors import LLMError
from assistant.llm import ChatModel
from assistant.prompts import judge_prompt

_SCORE = re.compile(r"(faithfulness|relevance)\s*[:：]\s*([1-5])", re.I)


def parse_scores(text: str) -> dict[str, float | None]:
    found = {k.lower(): int(v) for k, v in _SCORE.findall(text)}
    return {f"llm_judge_{k}": ((found[k] - 1) / 4 if k in found else None) for k in ("faithfulness", "relevance")}


class LLMJudge:
    """Scores answers with a chat model: the pipeline's (`pipeline.require_model()`)."""

    def __init__(self, model: ChatModel) -> None:
        self.model = model

    def score(self, question: str, answer: str, passages: Sequence[str]) -> dict[str, float | None]:
        try:
            return parse_scores(self.model.complete(*judge_prompt(question, answer, passages)))
        except LLMError:
            return {"llm_judge_faithfulness": None, "llm_judge_relevance": None}
