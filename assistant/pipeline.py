"""Build everything from Settings once; the CLI, the UI and eval all go through here."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from functools import cached_property
from typing import Any

from assistant.answer.extractive import ExtractiveAnswerer
from assistant.config import Settings
from assistant.embed import CachedEmbedder, build_embedder
from assistant.errors import LLMError
from assistant.followup import Turn, resolve
from assistant.retrieve import Filters, Retriever, SearchResult
from assistant.store import Index
from assistant.types import Answer

log = logging.getLogger(__name__)
LLM_FALLBACK_NOTICE = "生成AIの呼び出しに失敗したため、資料からの抜粋で回答しています。"


def build_tokenizers() -> dict[str, Any]:
    """The sparse tokenisers, by name: Sudachi morphemes and character bigrams."""
    from assistant.sparse import BigramTokenizer, SudachiTokenizer

    return {"sudachi": SudachiTokenizer(), "bigram": BigramTokenizer()}


class Pipeline:
    """One configured assistant: embedder, index, retriever and answerers, built lazily."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @cached_property
    def embedder(self) -> CachedEmbedder:
        return build_embedder(self.settings.embed, self.settings.cache_dir)

    @cached_property
    def index(self) -> Index:
        return Index(self.settings, self.embedder, build_tokenizers())

    @cached_property
    def retriever(self) -> Retriever:
        return Retriever(self.index, self.settings.retrieve)

    @cached_property
    def extractive(self) -> ExtractiveAnswerer:
        return ExtractiveAnswerer(self.settings.answer)

    @cached_property
    def llm_answerer(self) -> Any:
        from assistant.answer.generative import LLMAnswerer

        return LLMAnswerer(self.settings.llm)

    def use_llm(self, mode: str | None = None) -> bool:
        mode = mode or self.settings.answer.mode
        return mode == "llm" or (mode == "auto" and self.settings.llm.configured)

    def search(
        self, query: str, k: int | None = None, filters: Filters | None = None, balance: bool | None = None
    ) -> SearchResult:
        return self.retriever.search(query, k, filters, balance)

    def ask(
        self,
        question: str,
        filters: Filters | None = None,
        *,
        mode: str | None = None,
        k: int | None = None,
        on_token: Callable[[str], None] | None = None,
        history: Sequence[Turn] = (),
    ) -> Answer:
        """Retrieve and answer. With an LLM configured, tokens stream to `on_token`; failures fall back.

        `history` holds the conversation's earlier turns (oldest first): a follow-up (「じゃあ県は？」) is
        answered as its stand-alone form, reported in `resolved_question`."""
        started = time.perf_counter()
        asked = question
        question = resolve(question, history)
        result = self.search(question, k, filters)
        answer: Answer | None = None
        notice = ""
        if self.use_llm(mode):
            try:
                answer = self.llm_answerer.answer(question, result.hits, on_token=on_token)
            except LLMError as exc:
                log.warning("LLM failed, falling back to extractive: %s", exc)
                notice = f"{LLM_FALLBACK_NOTICE}（{exc.message_ja}）"
        if answer is None:
            t0 = time.perf_counter()
            answer = self.extractive.answer(question, result.hits)
            answer.timings_ms["answer_ms"] = (time.perf_counter() - t0) * 1000
            if notice:
                answer.notice = f"{notice} {answer.notice}".strip()
        answer.question, answer.resolved_question = asked, question
        answer.retrieved = [h.chunk.chunk_id for h in result.hits]
        answer.timings_ms.update(result.timings_ms)
        answer.timings_ms["total_ms"] = (time.perf_counter() - started) * 1000
        return answer
