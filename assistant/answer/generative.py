"""The LLM answerer: streamed generation over the answer prompt, then checked citations.

Retrieved passages go into the prompt (assistant.prompts) as numbered `<passage>` blocks whose text
cannot close its own block, each followed by the footnotes its text cites. The model's [n] markers are then checked against what was retrieved: markers to no
passage are removed, every citation quote is a verified substring of the stored chunk text, and
sentences the cited passages do not support are listed in `Answer.unsupported` for the UI to flag.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Mapping, Sequence

from assistant.answer.citations import (
    REFUSAL_TEXT,
    best_quote,
    markers,
    normal,
    split_sentences,
    unsupported_sentences,
    verify_quote,
)
from assistant.answer.extractive import footnote_text
from assistant.config import LLMSettings
from assistant.errors import LLMError
from assistant.llm import ChatModel
from assistant.prompts import build_prompt, tidy_markers
from assistant.types import Answer, Chunk, Citation, Hit

log = logging.getLogger(__name__)

_SPACE_BEFORE_END = re.compile(r"[ \t　]+(?=[。！？]|$)", re.MULTILINE)
_ANY_MARKER = re.compile(r"\[\d{1,3}\]")


def is_refusal(text: str) -> bool:
    return normal(_ANY_MARKER.sub("", text)).startswith(normal(REFUSAL_TEXT))


class LLMAnswerer:
    """Answers with a chat model (the Pipeline's, or one built from `settings`); every failure of the
    endpoint, a missing model name included, is raised as `LLMError`."""

    def __init__(self, settings: LLMSettings, model: ChatModel | None = None) -> None:
        self.settings = settings
        self.model = model or ChatModel(settings)
        # The footnotes a chunk cites and the chunks holding them (the Pipeline sets it; None = no footnotes)
        self.footnotes: Callable[[Chunk], list[tuple[int, Chunk]]] | None = None

    def notes(self, hits: Sequence[Hit]) -> dict[int, list[tuple[int, str]]]:
        """For each passage n (from 1), the (number, text) of the footnotes its text cites."""
        out: dict[int, list[tuple[int, str]]] = {}
        for n, hit in enumerate(hits, start=1):
            for number, holder in self.footnotes(hit.chunk) if self.footnotes else []:
                note = footnote_text(number, holder)
                if note is not None:
                    text = note[0].removeprefix(str(number)).strip()  # 「117 2015年…」: the number is shown apart
                    out.setdefault(n, []).append((number, text or note[0]))
        return out

    def answer(self, question: str, hits: Sequence[Hit], on_token: Callable[[str], None] | None = None) -> Answer:
        started = time.perf_counter()
        if not hits:
            return Answer(question=question, answer=REFUSAL_TEXT, mode="llm", refused=True, citations=[])
        notes = self.notes(hits)
        system, user = build_prompt(question, hits, notes)
        pieces: list[str] = []
        first_token_ms: float | None = None
        for piece in self.model.stream(system, user):
            if first_token_ms is None:
                first_token_ms = (time.perf_counter() - started) * 1000
            pieces.append(piece)
            if on_token is not None:
                on_token(piece)
        raw = "".join(pieces).strip()
        if not raw:
            raise LLMError(
                "The LLM returned an empty answer.",
                message_ja="生成AIの応答が空でした。",
                hint_ja="モデル名と生成AIサーバーの状態を確認してください。",
            )
        answer = self.postprocess(question, raw, hits, notes)
        answer.timings_ms["answer_ms"] = (time.perf_counter() - started) * 1000
        if first_token_ms is not None:
            answer.timings_ms["first_token_ms"] = first_token_ms
        return answer

    @staticmethod
    def postprocess(
        question: str, raw: str, hits: Sequence[Hit], notes: Mapping[int, Sequence[tuple[int, str]]] | None = None
    ) -> Answer:
        """Check the model's text against the retrieved passages (each with the footnotes it cites, `notes`)
        and build the `Answer`. Quotes come from the stored chunk text only."""
        if is_refusal(raw):
            return Answer(question=question, answer=REFUSAL_TEXT, mode="llm", refused=True, citations=[])
        text, removed = tidy_markers(raw, len(hits))
        if removed:
            log.info("removed citation markers to no retrieved passage: %s", removed)
        text = _SPACE_BEFORE_END.sub("", text).strip()
        sentences = split_sentences(text)
        citations: list[Citation] = []
        for n in dict.fromkeys(markers(text)):  # first-appearance order, each once
            hit = hits[n - 1]
            citing = " ".join(s for s in sentences if n in markers(s))
            quote = best_quote(hit.chunk, citing)
            if verify_quote(quote, hit.chunk):
                citations.append(Citation(n=n, chunk=hit.chunk, quote=quote, score=hit.score))
        notes = notes or {}
        passages = {
            n: "\n".join([h.chunk.text, *(text for _, text in notes.get(n, ()))]) for n, h in enumerate(hits, start=1)
        }
        return Answer(
            question=question,
            answer=text,
            mode="llm",
            refused=False,
            citations=citations,
            unsupported=unsupported_sentences(text, passages),
        )
