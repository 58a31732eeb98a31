"""Build everything from Settings once; the CLI, the UI and eval all go through here.

The Pipeline owns the chat model (one `ChatModel`, `require_model()` for the stages that need it)
and the run log: `ask(..., user=...)` appends the run record and puts its id on the Answer.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any

from assistant.answer.extractive import ExtractiveAnswerer
from assistant.answer.parts import merge_parts
from assistant.config import Settings
from assistant.embed import CachedEmbedder, build_embedder
from assistant.errors import LLMError
from assistant.followup import Turn, resolve, rewrite
from assistant.llm import ChatModel
from assistant.question import question_parts
from assistant.retrieve import Filters, Retriever, SearchResult, interleave
from assistant.store import Index
from assistant.types import NOTES_META, Answer, Chunk

if TYPE_CHECKING:
    from assistant.answer.generative import LLMAnswerer
    from assistant.runlog import RunLog

log = logging.getLogger(__name__)
LLM_FALLBACK_NOTICE = "生成AIの呼び出しに失敗したため、資料からの抜粋で回答しています。"


def build_tokenizers() -> dict[str, Any]:
    """The sparse tokenisers, by name: Sudachi morphemes and character bigrams."""
    from assistant.sparse import BigramTokenizer, SudachiTokenizer

    return {"sudachi": SudachiTokenizer(), "bigram": BigramTokenizer()}


class Pipeline:
    """One configured assistant: embedder, index, retriever, answerers, chat model and run log, built lazily.

    `run_log` may be injected (a benchmark's own file); by default it is `<home>/audit.sqlite`,
    opened on the first recorded run."""

    def __init__(self, settings: Settings, run_log: RunLog | None = None) -> None:
        self.settings = settings
        self._run_log = run_log

    @property
    def run_log(self) -> RunLog:
        """Where `ask(..., user=...)` records runs: the injected log, else `<home>/audit.sqlite`."""
        if self._run_log is None:
            from assistant.runlog import RunLog

            self._run_log = RunLog.from_settings(self.settings)
        return self._run_log

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
        answerer = ExtractiveAnswerer(self.settings.answer)
        answerer.sub_sections = self.sub_sections
        answerer.footnotes = self.footnotes
        return answerer

    def footnotes(self, chunk: Chunk) -> list[tuple[int, Chunk]]:
        """The footnotes a PDF chunk cites (NOTES_META, recorded at ingest) and the chunks that hold them."""
        cited = [(int(n), str(cid)) for n, cid in json.loads(str(chunk.meta.get(NOTES_META, "[]")))]
        holders = {c.chunk_id: c for c in self.index.get_chunks(list(dict.fromkeys(cid for _, cid in cited)))}
        return [(n, holders[cid]) for n, cid in cited if cid in holders]

    def sub_sections(self, chunk: Chunk) -> list[Chunk]:
        """The first chunk of each direct sub-section of the chunk's section, in document order."""
        if not chunk.section:
            return []
        prefix = chunk.section + " > "
        out: dict[str, Chunk] = {}
        for c in self.index.document_chunks(chunk.doc_id):
            if c.section.startswith(prefix) and " > " not in c.section[len(prefix) :]:
                out.setdefault(c.section, c)
        return list(out.values())

    @cached_property
    def chat_model(self) -> ChatModel:
        """The one chat model every stage uses (answer, alignment, draft, eval judge); built on first use."""
        return ChatModel(self.settings.llm)

    def require_model(self) -> ChatModel:
        """The chat model, or LLMError (with what to set) when no LLM is configured."""
        if not self.settings.llm.configured:
            raise LLMError(
                "No LLM model configured (llm.model).",
                message_ja="生成AIのモデル名が設定されていません（llm.model）。",
                hint="Set DXA_LLM__MODEL (and DXA_LLM__BASE_URL for a local server), or use the extractive mode.",
                hint_ja="環境変数 DXA_LLM__MODEL（ローカルのサーバーなら DXA_LLM__BASE_URL も）を設定するか、"
                "抜粋モードで利用してください。",
            )
        return self.chat_model

    @cached_property
    def llm_answerer(self) -> LLMAnswerer:
        from assistant.answer.generative import LLMAnswerer

        answerer = LLMAnswerer(self.settings.llm, self.chat_model)
        answerer.footnotes = self.footnotes
        return answerer

    def use_llm(self, mode: str | None = None) -> bool:
        mode = mode or self.settings.answer.mode
        return mode == "llm" or (mode == "auto" and self.settings.llm.configured)

    def search(
        self, query: str, k: int | None = None, filters: Filters | None = None, balance: bool | None = None
    ) -> SearchResult:
        """Hybrid search; a message that asks several things is searched as each of its questions, the
        hits taken from each in turn (first of each, then second …), without repeats, k in all."""
        parts = question_parts(query)
        if len(parts) == 1:
            return self.retriever.search(query, k, filters, balance)
        results = [self.retriever.search(part, k, filters, balance) for part in parts]
        return interleave(query, results, k or self.settings.retrieve.k)

    def ask(
        self,
        question: str,
        filters: Filters | None = None,
        *,
        mode: str | None = None,
        k: int | None = None,
        on_token: Callable[[str], None] | None = None,
        history: Sequence[Turn] = (),
        user: str | None = None,
        session: str = "",
    ) -> Answer:
        """Retrieve and answer. With an LLM configured, tokens stream to `on_token`; failures fall back.

        `history` holds the conversation's earlier turns (oldest first): a follow-up (「じゃあ県は？」) is
        answered as its stand-alone form, reported in `resolved_question`. With `user` (who asked:
        a login name, `cli:<OS user>`, "eval") the run is appended to the run log and its id put
        in `answer.run_id`; without it nothing is recorded (tests, calibration scripts)."""
        started = time.perf_counter()
        asked = question
        question, resolve_timings = self.resolve(question, history, mode)
        parts = question_parts(question)
        if len(parts) > 1 and not self.use_llm(mode):
            answer = self._answer_parts(parts, history, filters, mode, k)
        else:
            answer = self._answer_one(question, filters, mode, k, on_token)
        answer.question, answer.resolved_question = asked, question
        answer.timings_ms.update(resolve_timings)
        answer.timings_ms["total_ms"] = (time.perf_counter() - started) * 1000
        if user is not None:
            answer.run_id = self.record(answer, user, filters, mode=mode, session=session)
        return answer

    def _answer_parts(
        self, parts: list[str], history: Sequence[Turn], filters: Filters | None, mode: str | None, k: int | None
    ) -> Answer:
        """Each question of the message answered on its own passages, a later part read in the light of the
        earlier ones (「メンバー構成と人数は？」 after 「庁内検討組織はどこ？」), then merged into one answer."""
        answers: list[Answer] = []
        turns = list(history)
        # the message's answer stays about as long as a one-question answer
        sentences = max(2, -(-self.settings.answer.max_sentences // len(parts)))
        for part in parts:
            resolved, _ = self.resolve(part, turns, mode)
            answer = self._answer_one(resolved, filters, mode, k, None, sentences)
            answers.append(answer)
            turns.append(Turn(question=part, answer=answer.answer))
        return merge_parts(" ".join(parts), answers)

    def _answer_one(
        self,
        question: str,
        filters: Filters | None,
        mode: str | None,
        k: int | None,
        on_token: Callable[[str], None] | None,
        sentences: int | None = None,
    ) -> Answer:
        """Retrieve and answer one question (an LLM answers a message that asks several things in one go,
        on the passages of all its questions); `sentences` caps an extractive answer's sentences."""
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
            answer = self.extractive.answer(question, result.hits, sentences)
            answer.timings_ms["answer_ms"] = (time.perf_counter() - t0) * 1000
            if notice:
                answer.notice = f"{notice} {answer.notice}".strip()
        answer.retrieved = [h.chunk.chunk_id for h in result.hits]
        answer.timings_ms.update(result.timings_ms)
        return answer

    def resolve(self, question: str, history: Sequence[Turn], mode: str | None = None) -> tuple[str, dict[str, float]]:
        """The stand-alone form of `question` and its timings. With history and an LLM in use, the chat
        model's rewrite when `accept_rewrite` keeps it (`resolve_llm_ms` is then set); otherwise, and
        on any LLM failure (logged, not shown), the rule-based `resolve`. A first turn costs nothing."""
        if not history:
            return question, {}
        t0 = time.perf_counter()
        timings: dict[str, float] = {}
        resolved: str | None = None
        if self.use_llm(mode):
            try:
                resolved = rewrite(question, history, self.require_model())
            except LLMError as exc:
                log.warning("LLM rewrite of the follow-up failed, using the rules: %s", exc)
            else:
                if resolved is None:
                    log.warning("LLM rewrite of %r did not look like a question, using the rules", question)
                else:
                    timings["resolve_llm_ms"] = (time.perf_counter() - t0) * 1000
        if resolved is None:
            resolved = resolve(question, history)
        timings["resolve_ms"] = (time.perf_counter() - t0) * 1000
        return resolved, timings

    def record(
        self, answer: Answer, user: str, filters: Filters | None = None, *, mode: str | None = None, session: str = ""
    ) -> int:
        """Append `answer` to the run log with the settings fingerprint, the filters, the mode asked
        for and a follow-up's stand-alone form (`resolved_question`); returns the run id."""
        run_filters: dict[str, Any] = (
            {"levels": list(filters.levels), "doc_ids": list(filters.doc_ids), "editions": list(filters.editions)}
            if filters is not None and not filters.empty
            else {}
        )
        if mode:
            run_filters["mode"] = mode
        if answer.resolved_question != answer.question:
            run_filters["resolved_question"] = answer.resolved_question
        return self.run_log.record(
            user,
            answer,
            settings_fingerprint=self.settings.fingerprint(),
            retrieved=answer.retrieved,
            filters=run_filters,
            session=session,
        )
