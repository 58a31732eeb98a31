"""The 整合表 page's view of a matrix: rows with their document and chapter, filters, heat-map cells.

No streamlit here: the page renders what these functions return.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

from assistant.align import SECTION_SEP, AlignmentMatrix, AlignmentRow
from assistant.types import LEVEL_LABELS_JA

_CHAPTER = re.compile(r"^(?:第[0-9一二三四五六七八九十百]+[章部編]|[0-9]{1,2}(?:[\s.．、]|$))")
NO_CHAPTER = "（章なし）"
HEAT_ROW_PX = 22  # one heat-map row (a Vega-Lite step): room for one line of a 12px label


@dataclass(frozen=True)
class RowView:
    """One matrix row as the page lists it: its number in the whole matrix, document and chapter."""

    n: int
    row: AlignmentRow
    document: str
    chapter: str

    @property
    def label(self) -> str:
        """The heat map's row label: numbered, so two items with the same heading stay two rows."""
        return (
            f"{self.n:03d} 〔{LEVEL_LABELS_JA.get(self.row.item.level, self.row.item.level)}〕{self.row.item.heading}"
        )


def chapter_of(section: str) -> str:
    """The chapter an item lies under: the first numbered heading above it (「3 取組事項」, 「第2章 …」)."""
    parents = section.split(SECTION_SEP)[:-1]
    for part in parents:
        if _CHAPTER.match(unicodedata.normalize("NFKC", part).strip()):
            return part.strip()
    return parents[-1].strip() if parents else NO_CHAPTER


def row_views(matrix: AlignmentMatrix) -> list[RowView]:
    return [
        RowView(i, r, r.item.chunks[0].title if r.item.chunks else r.item.doc_id, chapter_of(r.item.section))
        for i, r in enumerate(matrix.rows, start=1)
    ]


def choices(views: Sequence[RowView], attr: str) -> list[str]:
    """The distinct values of `attr` in matrix order (for a filter's options)."""
    return list(dict.fromkeys(_value(v, attr) for v in views))


def _value(view: RowView, attr: str) -> str:
    if attr == "level":
        return view.row.item.level
    if attr == "verdict":
        return view.row.verdict
    return str(getattr(view, attr))


def filter_rows(
    views: Sequence[RowView],
    documents: Collection[str] = (),
    levels: Collection[str] = (),
    verdicts: Collection[str] = (),
    chapters: Collection[str] = (),
) -> list[RowView]:
    """The rows that pass every filter; an empty filter lets everything through."""
    wanted = {"document": documents, "level": levels, "verdict": verdicts, "chapter": chapters}
    return [v for v in views if all(not want or _value(v, attr) in want for attr, want in wanted.items())]


def heat_cells(matrix: AlignmentMatrix, views: Sequence[RowView]) -> list[dict[str, Any]]:
    """One cell per (shown row, city passage) for the heat map."""
    return [
        {"項目": v.label, "市の記述": f"{j + 1:02d} {sec}", "スコア": s, "文書": v.document}
        for v in views
        for j, (sec, s) in enumerate(zip(matrix.city_sections, matrix.heat[v.n - 1], strict=True))
    ]
