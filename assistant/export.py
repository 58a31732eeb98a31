"""Exports staff use: the 整合表 as Excel and Markdown, drafts as Word (.docx) and Markdown.

The 整合表 layout: 区分 / 項目 / 国・県の記述 / 市の記述 / 判定 / 出典, where 出典 names the document
title, edition and page/section of both sides. openpyxl and python-docx are used only here.
"""

from __future__ import annotations

from collections.abc import Sequence
from io import BytesIO
from pathlib import Path
from typing import Any

from assistant.align import AlignmentMatrix, AlignmentRow
from assistant.draft import SOURCES_HEADING, Draft, source_line
from assistant.types import LEVEL_LABELS_JA, Citation, page_ref

MATRIX_COLUMNS = ("区分", "項目", "国・県の記述", "市の記述", "判定", "出典")
_WIDTHS = (8, 30, 60, 60, 10, 50)


def where(c: Citation) -> str:
    ch = c.chunk
    ref = page_ref(ch.page, c.page_label, c.page_count)
    page = f" {ref}" if ref else ""
    return f"{ch.title}（{ch.edition}）{page} {ch.section}".strip()


def matrix_cells(row: AlignmentRow) -> list[str]:
    source = "\n".join(f"「{c.quote}」" for c in row.source_quotes)
    city = "\n".join(f"「{c.quote}」" for c in row.city_quotes) or "（該当する記述なし）"
    judged = row.verdict + (f"\n{row.reason}" if row.reason else "")
    refs = [f"国・県: {where(c)}" for c in row.source_quotes] + [f"市: {where(c)}" for c in row.city_quotes]
    return [
        LEVEL_LABELS_JA.get(row.item.level, row.item.level),
        row.item.heading,
        source,
        city,
        judged,
        "\n".join(refs),
    ]


def _format_sheet(ws: Any, widths: Sequence[int]) -> None:
    """Column widths, wrapped top-aligned cells and a bold header row."""
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    for i, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(i)].width = width
    for cells in ws.iter_rows():
        for cell in cells:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    for cell in ws[1]:
        cell.font = Font(bold=True)


def matrix_xlsx(matrix: AlignmentMatrix) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import PatternFill

    wb = Workbook()
    ws = wb.active
    ws.title = "整合表"
    ws.append(list(MATRIX_COLUMNS))
    fills = {"対応あり": "C6EFCE", "一部対応": "FFEB9C", "記載なし": "FFC7CE"}
    for row in matrix.rows:
        ws.append(matrix_cells(row))
        ws.cell(ws.max_row, 5).fill = PatternFill("solid", fgColor=fills[row.verdict])
    _format_sheet(ws, _WIDTHS)
    for cell in ws[1]:
        cell.fill = PatternFill("solid", fgColor="DDEBF7")
    ws.freeze_panes = "A2"
    gaps = wb.create_sheet("未対応の項目")
    gaps.append(["順位", "区分", "項目", "判定", "国・県の記述", "出典"])
    for rank, row in enumerate(matrix.gaps(), start=1):
        src = row.source_quotes[0] if row.source_quotes else None
        gaps.append(
            [
                rank,
                LEVEL_LABELS_JA.get(row.item.level, ""),
                row.item.heading,
                row.verdict,
                f"「{src.quote}」" if src else "",
                where(src) if src else "",
            ]
        )
    _format_sheet(gaps, (6, 8, 30, 10, 60, 50))
    buf = BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _md_cell(text: str) -> str:
    return text.replace("|", "｜").replace("\n", "<br>")


def matrix_markdown(matrix: AlignmentMatrix, gaps: bool = True) -> str:
    lines = ["# 整合表", "", "| " + " | ".join(MATRIX_COLUMNS) + " |", "|" + "---|" * len(MATRIX_COLUMNS)]
    lines += ["| " + " | ".join(_md_cell(c) for c in matrix_cells(r)) + " |" for r in matrix.rows]
    if gaps:
        lines += ["", "## 未対応の項目（記載なし・一部対応）", ""]
        for rank, r in enumerate(matrix.gaps(), start=1):
            src = r.source_quotes[0] if r.source_quotes else None
            quote = f"「{src.quote}」（{where(src)}）" if src else ""
            lines.append(f"{rank}. 【{r.verdict}】{r.item.heading} — {quote}")
    return "\n".join(lines) + "\n"


def draft_markdown(draft: Draft, body: str | None = None) -> str:
    """The draft (or staff-edited `body`) followed by the 出典 list that `check_draft` reads back."""
    sources = [f"- {source_line(c)}" for c in sorted(draft.citations, key=lambda c: c.n)]
    return (
        (body if body is not None else draft.text).rstrip()
        + f"\n\n## {SOURCES_HEADING}\n\n"
        + "\n".join(sources)
        + "\n"
    )


def draft_docx(draft: Draft, body: str | None = None) -> bytes:
    """Word document: title, headings, one paragraph per sentence, and the 出典 list."""
    from docx import Document

    doc = Document()
    text = body if body is not None else draft.text
    for line in text.splitlines():
        line = line.rstrip()
        if not line:
            continue
        if line.startswith("# "):
            doc.add_heading(line[2:].strip(), level=0)
        elif line.startswith("#"):
            doc.add_heading(line.lstrip("#").strip(), level=1)
        else:
            doc.add_paragraph(line)
    doc.add_heading(SOURCES_HEADING, level=1)
    for c in sorted(draft.citations, key=lambda c: c.n):
        doc.add_paragraph(source_line(c))
    buf = BytesIO()
    doc.save(buf)
    return buf.getvalue()


def read_docx_text(path: Path) -> str:
    """A .docx written by `draft_docx` (and edited by staff) back as Markdown-like text."""
    from docx import Document

    lines = []
    for p in Document(str(path)).paragraphs:
        style = (p.style.name or "") if p.style is not None else ""
        if style == "Title":
            lines.append(f"# {p.text}")
        elif style.startswith("Heading"):
            lines.append(f"## {p.text}")
        else:
            lines.append(p.text)
    return "\n".join(lines)
