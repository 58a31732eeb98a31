"""Optional LLM-judge metrics (only when an LLM is configured): faithfulness and relevance, 0..1.

The judge answers with two integers 1-5; anything else scores None (not 0) so a confused judge
does not look like a bad answer. Built with assistant.llm, the one place that makes chat models.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from assistant.config import LLMSettings
from assistant.errors import LLMError
from assistant.llm import build_chat_model, stream_chat

SYSTEM = (
    "あなたは行政文書に基づく回答の評価者です。出力は次の2行だけにしてください。\n"
    "faithfulness: <1-5>  (回答の各文が根拠資料に書かれている度合い)\n"
    "relevance: <1-5>  (回答が質問に答えている度合い)"
)
_SCORE = re.compile(r"(faithfulness|relevance)\s*[:：]\s*([1-5])", re.I)


def parse_scores(text: str) -> dict[str, float | None]:
    found = {k.lower(): int(v) for k, v in _SCORE.findall(text)}
    return {f"llm_judge_{k}": ((found[k] - 1) / 4 if k in found else None) for k in ("faithfulness", "relevance")}


class LLMJudge:
    def __init__(self, settings: LLMSettings) -> None:
        self.settings = settings
        self.model = build_chat_model(settings)

    def score(self, question: str, answer: str, passages: Sequence[str]) -> dict[str, float | None]:
        sources = "\n".join(f"[{i}] {p}" for i, p in enumerate(passages, start=1)) or "（なし）"
        user = f"質問: {question}\n\n回答:\n{answer}\n\n根拠資料:\n{sources}"
        try:
            return parse_scores("".join(stream_chat(self.model, SYSTEM, user, timeout_s=self.settings.timeout_s)))
        except LLMError:
            return {"llm_judge_faithfulness": None, "llm_judge_relevance": None}
