"""Headings: the Japanese and Markdown heading schemes, and the section path they open.

A line is a heading when it starts with a known numbering scheme (第1章, 1.2, (1), ①, ア …) or a
Markdown "#", and the rest reads as a short title. Used by normalisation (a heading keeps its own
line) and by chunking (a chunk starts at a heading; its section is the path of open headings).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ingest.chars import fold_char, is_japanese

SECTION_SEP = " > "
_KANJI_NUM = "一二三四五六七八九十百"

# (depth, pattern on the folded line); the pattern's end is where the title begins. Outermost first.
_SCHEMES: list[tuple[int, re.Pattern[str]]] = [
    (1, re.compile(rf"^第[\d{_KANJI_NUM}]+[部編]\s*")),
    (2, re.compile(rf"^第[\d{_KANJI_NUM}]+章\s*")),
    (3, re.compile(rf"^第[\d{_KANJI_NUM}]+節\s*")),
    (3, re.compile(r"^第\d+-\d+\s+")),  # 第３-２ 各分野における基本的な施策
    (12, re.compile(rf"^第[\d{_KANJI_NUM}]+条\s*")),  # articles: innermost, so a list of 条 nests
    (2, re.compile(r"^第\d+\s+")),  # 第１ 安全・安心で便利な…
    (6, re.compile(r"^\d{1,2}\.\d{1,2}\.\d{1,2}\.?\s+")),
    (7, re.compile(r"^\d{1,2}\.\d{1,2}\.?\s*\(\d{1,2}\)\s*")),  # 3.1 (2)
    (5, re.compile(r"^\d{1,2}\.\d{1,2}\.?\s+")),
    (4, re.compile(r"^\d{1,2}(?:\.\s*|\s+)")),  # １ 計画策定の趣旨 / １．マイナンバーカード
    (7, re.compile(r"^\(\d{1,2}\)\s*")),
    (8, re.compile(r"^[\u2460-\u2473\u3251-\u325f\u32b1-\u32bf]\s*")),
    (9, re.compile(r"^[ア-ン]\s+")),
    (10, re.compile(r"^\([ア-ン]\)\s*")),
    (11, re.compile(r"^\(?[ⅰ-ⅻ]\)?\.?\s+")),
]
_MARKDOWN = re.compile(r"^(#{1,6})\s*(\S.*)$")
_COMMENT = re.compile(r"<!--.*?-->")
_NEW_MARK = re.compile(r"\s*[(（]?新規[)）]?$")
_MAX_TITLE = 50


def heading_label(line: str) -> str:
    """The heading as printed: whitespace collapsed and stripped, trailing 新規 removed (the section label)."""
    text = " ".join(_COMMENT.sub("", line).split())
    return _NEW_MARK.sub("", text).strip()


def parse_heading(line: str) -> tuple[int, str] | None:
    """(depth, label) when `line` is a heading of a known Japanese or Markdown scheme, else None."""
    raw = line.strip()
    if not raw or "\n" in raw:
        return None
    folded = " ".join("".join(fold_char(c) for c in _COMMENT.sub("", raw)).split())
    m = _MARKDOWN.match(folded)
    if m:
        return len(m.group(1)), heading_label(raw.lstrip("#"))
    if len(folded) > _MAX_TITLE + 12 or "。" in folded:
        return None
    for depth, pattern in _SCHEMES:
        m = pattern.match(folded)
        if not m:
            continue
        title = _NEW_MARK.sub("", folded[m.end() :])
        if (
            not title
            or len(title) > _MAX_TITLE
            or not any(is_japanese(c) for c in title)
            or title[-1] in "、,，(（「"
            or title[0] in "年月日度%％、。)）"
            or ("、" in title and len(title) > 25)  # a wrapped sentence line, not a title
        ):
            return None
        return depth, heading_label(raw)
    return None


@dataclass
class HeadingStack:
    """The open headings, outermost first: pushing a heading closes those at its depth or deeper."""

    items: list[tuple[int, str]] = field(default_factory=list)

    def push(self, depth: int, label: str) -> None:
        while self.items and self.items[-1][0] >= depth:
            self.items.pop()
        self.items.append((depth, label))

    @property
    def path(self) -> str:
        """The section path, e.g. "第1章 総則 > 1 計画策定の趣旨"."""
        return SECTION_SEP.join(label for _, label in self.items)
