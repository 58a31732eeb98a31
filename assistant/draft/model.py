"""Draft types: a cited plan section under its headings, and the check of staff-edited text."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from assistant.types import Citation

Style = Literal["dearu", "desumasu"]
PARAPHRASE_NOTE = "※ 引用文はである調に整えています（出典一覧の「引用」は原文のままです）。"


@dataclass
class DraftSentence:
    text: str  # as shown in the draft, with its [n] markers
    citations: list[int] = field(default_factory=list)
    placeholder: bool = False  # 【要記入：…】 for staff to write
    paraphrase: bool = False  # the quote's wording was changed (である調); the 出典 keeps the exact quote
    kind: Literal["quote", "consider", "placeholder", "prose"] = "quote"  # consider: a 【検討】 gap line


@dataclass
class DraftSection:
    heading: str
    sentences: list[DraftSentence]


@dataclass
class Draft:
    title: str
    intent: str
    style: Style
    mode: Literal["skeleton", "llm"]
    sections: list[DraftSection]
    citations: list[Citation]
    unsupported: list[str] = field(default_factory=list)
    notice: str = ""

    @property
    def text(self) -> str:
        """The draft body (Markdown headings, one sentence per line) without the 出典 list."""
        parts = [f"# {self.title}"]
        if any(x.paraphrase for s in self.sections for x in s.sentences):
            parts.append(PARAPHRASE_NOTE)
        for s in self.sections:
            parts.append(f"\n## {s.heading}")
            parts.extend(x.text for x in s.sentences)
        return "\n".join(parts)


@dataclass
class DraftCheck:
    sentences: int  # sentences with a claim that were checked
    unsupported: list[str]  # no marker, or the cited passages do not contain the sentence
    unknown_markers: list[int]  # [n] with no entry in the 出典 list
    citations: list[Citation]
