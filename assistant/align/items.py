"""Rows and columns of the alignment matrix: numbered items of national / prefectural documents, city passages."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from assistant.config import PlanSettings
from assistant.types import Chunk

if TYPE_CHECKING:
    from assistant.pipeline import Pipeline

SECTION_SEP = " > "
_NUMBER = re.compile(r"^(?:\d{1,2}\.\d{1,2}\.?\s*)?(?:[(（][0-9０-９]{1,2}[)）]|[①-⑳])\s*")
_SOURCE_NOTE = re.compile(r"〔出典\d+〕")


@dataclass(frozen=True)
class AlignItem:
    """One numbered item of a national or prefectural document (all chunks of its section)."""

    doc_id: str
    section: str
    chunks: tuple[Chunk, ...]

    @property
    def item_id(self) -> str:
        return f"{self.doc_id}#{self.heading}"

    @property
    def heading(self) -> str:
        return self.section.split(SECTION_SEP)[-1]

    @property
    def chapter(self) -> str:
        """The section path above the item (「第１ … > ３．国・地方公共団体を通じた DX の推進」); '' at top level."""
        return SECTION_SEP.join(self.section.split(SECTION_SEP)[:-1])

    @property
    def title(self) -> str:
        """The heading without its number: what the item is about."""
        return _NUMBER.sub("", self.heading).strip() or self.heading

    @property
    def level(self) -> str:
        return self.chunks[0].level

    @property
    def document_title(self) -> str:
        return self.chunks[0].title

    @property
    def text(self) -> str:
        """Body text without Markdown heading lines and the digest's 〔出典N〕 notes."""
        lines = "\n".join(c.text for c in self.chunks).split("\n")
        return _SOURCE_NOTE.sub("", "\n".join(line for line in lines if not line.startswith("#")))


def find_items(pipeline: Pipeline, plan: PlanSettings | None = None) -> list[AlignItem]:
    """Numbered items of the source-level documents, in document order (so grouped by document and chapter)."""
    plan = plan or pipeline.settings.plan
    pattern = re.compile(plan.item_pattern)
    items: list[AlignItem] = []
    for doc in pipeline.index.documents():
        if doc.level not in plan.source_levels:
            continue
        groups: dict[str, list[Chunk]] = {}
        for chunk in pipeline.index.document_chunks(doc.doc_id):
            parts = chunk.section.split(SECTION_SEP) if chunk.section else []
            # the deepest numbered heading owns the chunk: sub-headings (ア, イ …) stay inside its item
            deepest = max((k for k, part in enumerate(parts) if pattern.search(part)), default=-1)
            if deepest >= 0:
                groups.setdefault(SECTION_SEP.join(parts[: deepest + 1]), []).append(chunk)
        items += [AlignItem(doc.doc_id, section, tuple(chunks)) for section, chunks in groups.items()]
    return items


def city_chunks(pipeline: Pipeline, plan: PlanSettings | None = None) -> list[Chunk]:
    plan = plan or pipeline.settings.plan
    docs = [d for d in pipeline.index.documents() if d.level in plan.city_levels]
    return [c for d in docs for c in pipeline.index.document_chunks(d.doc_id)]


def city_label(chunk: Chunk) -> str:
    return chunk.section.split(SECTION_SEP)[-1] if chunk.section else chunk.text[:20]
