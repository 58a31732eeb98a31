"""Checking edited drafts: every claim sentence needs [n] markers whose 出典 passages support it."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from assistant.answer.citations import is_claim, markers, split_sentences, unsupported_sentences
from assistant.draft.model import PARAPHRASE_NOTE, DraftCheck
from assistant.types import Citation

if TYPE_CHECKING:
    from assistant.pipeline import Pipeline

SOURCES_HEADING = "出典"
_SOURCE_LINE = re.compile(r"^\s*[-*]?\s*\[(\d{1,3})\]\s*(.*)$")
_CHUNK_REF = re.compile(r"chunk:\s*([\w.\-]+:[0-9a-f]{16})")
_QUOTE = re.compile(r"引用「(.+)」")


def source_line(c: Citation, chunk_ref: bool = True) -> str:
    """One 出典 entry; the chunk id lets `check_draft` find the passage again (without it, the exact
    quote does: what a Word file for staff carries)."""
    ch = c.chunk
    where = f"{ch.page}頁 " if ch.page else ""
    ref = f" (chunk: {ch.chunk_id})" if chunk_ref else ""
    return f"[{c.n}] {ch.title}（{ch.edition}）{where}{ch.section} 引用「{c.quote}」{ref}"


def split_sources(text: str) -> tuple[str, dict[int, str]]:
    """(body, {n: 出典 line}) — the 出典 list starts at a line `## 出典` / `出典` / `【出典】`."""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line.strip().lstrip("#").strip().strip("【】") == SOURCES_HEADING:
            refs = {}
            for ref in lines[i + 1 :]:
                m = _SOURCE_LINE.match(ref)
                if m:
                    refs[int(m.group(1))] = m.group(2)
            return "\n".join(lines[:i]), refs
    return text, {}


def check_draft(text: str, pipeline: Pipeline, citations: Sequence[Citation] | None = None) -> DraftCheck:
    """Re-check an edited draft: every claim sentence needs [n] markers whose passages support it."""
    body, refs = split_sources(text)
    by_n: dict[int, Citation] = {c.n: c for c in citations or ()}
    for n, ref in refs.items():
        if n in by_n:
            continue
        chunk = None
        m = _CHUNK_REF.search(ref)
        if m:
            found = pipeline.index.get_chunks([m.group(1)])
            chunk = found[0] if found else None
        q = _QUOTE.search(ref)
        if chunk is None and q:  # no id: find the chunk that holds the quote exactly
            for hit in pipeline.search(q.group(1), 10).hits:
                if q.group(1) in hit.chunk.text:
                    chunk = hit.chunk
                    break
        if chunk is not None:
            by_n[n] = Citation(n=n, chunk=chunk, quote=q.group(1) if q else "", score=0.0)
    # headings and the draft's own note on paraphrased quotes are not claims
    lines = [ln for ln in body.splitlines() if not ln.lstrip().startswith("#") and ln.strip() != PARAPHRASE_NOTE]
    claim_text = "\n".join(lines)
    passages = {n: c.chunk.text for n, c in by_n.items()}
    unsupported = unsupported_sentences(claim_text, passages)
    used = markers(claim_text)
    unknown = sorted({n for n in used if n not in passages})
    checked = [s for s in split_sentences(claim_text) if is_claim(s)]
    return DraftCheck(len(checked), unsupported, unknown, sorted(by_n.values(), key=lambda c: c.n))
