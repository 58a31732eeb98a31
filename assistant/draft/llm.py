"""The LLM draft: plan-style prose from numbered passages (treated as data; prompt in assistant.prompts),
re-checked against them."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from assistant.answer.citations import markers, split_sentences, unsupported_sentences, verify_quote
from assistant.draft.model import Draft, DraftSection, DraftSentence, Style
from assistant.draft.skeleton import HEADINGS, retrieve, skeleton
from assistant.errors import LLMError
from assistant.prompts import draft_prompt, tidy_markers
from assistant.types import Citation, Hit

if TYPE_CHECKING:
    from assistant.pipeline import Pipeline

log = logging.getLogger(__name__)
DRAFT_FALLBACK_NOTICE = "生成AIの呼び出しに失敗したため、出典の抜粋による骨子を表示しています。"


def llm_draft(pipeline: Pipeline, title: str, intent: str, style: Style | None = None) -> Draft:
    """Prose with [n] markers from passages retrieved per level; raises LLMError on failure."""
    style = style or pipeline.settings.answer.style
    query = f"{title} {intent}".strip()
    hits: list[Hit] = []
    for _, levels in HEADINGS[:3]:
        hits += [
            h for h in retrieve(pipeline, query, levels, 3) if h.chunk.chunk_id not in {x.chunk.chunk_id for x in hits}
        ]
    model = pipeline.require_model()
    system, user = draft_prompt(title, intent, hits, style)
    raw = model.complete(system, user)
    if not raw.strip():
        raise LLMError(
            "empty draft", message_ja="生成AIの応答が空でした。", hint_ja="生成AIサーバーの状態を確認してください。"
        )
    text, _ = tidy_markers(raw.strip(), len(hits))
    sections: list[DraftSection] = []
    current = DraftSection("本文", [])
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("#"):
            if current.sentences or current.heading != "本文":
                sections.append(current)
            current = DraftSection(line.lstrip("#").strip(), [])
        elif line:
            for s in split_sentences(line):
                current.sentences.append(DraftSentence(s, markers(s), placeholder=s.startswith("【")))
    sections.append(current)
    used = dict.fromkeys(n for s in sections for x in s.sentences for n in x.citations)
    citations = []
    for n in used:
        hit = hits[n - 1]
        citing = " ".join(x.text for s in sections for x in s.sentences if n in x.citations)
        from assistant.align import content_quote

        quote = content_quote(hit.chunk, citing)
        if verify_quote(quote, hit.chunk):
            citations.append(Citation(n=n, chunk=hit.chunk, quote=quote, score=hit.score))
    passages_text = {n: h.chunk.text for n, h in enumerate(hits, start=1)}
    body = "\n".join(x.text for s in sections for x in s.sentences)
    return Draft(title, intent, style, "llm", sections, citations, unsupported_sentences(body, passages_text))


def make_draft(
    pipeline: Pipeline, title: str, intent: str, style: Style | None = None, *, use_llm: bool | None = None
) -> Draft:
    """LLM prose when one is configured (falling back to the skeleton on failure), else the skeleton."""
    if pipeline.use_llm() if use_llm is None else use_llm:
        try:
            return llm_draft(pipeline, title, intent, style)
        except LLMError as exc:
            log.warning("LLM draft failed, falling back to the skeleton: %s", exc)
            draft = skeleton(pipeline, title, intent, style)
            draft.notice = f"{DRAFT_FALLBACK_NOTICE}（{exc.message_ja}）"
            return draft
    return skeleton(pipeline, title, intent, style)
