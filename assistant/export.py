"""Exports staff use: the 整合表 as Excel and Markdown, drafts as Word (.docx) and Markdown.

The 整合表 layout: 区分 / 項目 / 国・県の記述 / 市の記述 / 判定 / 出典, where 出典 names the document
title, edition and page/section of both sides. openpyxl and python-docx are used only here.
Both files are set up for a Japanese office: Japanese fonts, A4, page numbers, a print layout that fits.
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
# Fonts every Japanese Windows/Office has; a reader without them (LibreOffice on Linux) takes the
# Noto CJK font the .docx font table names as the alternative.
BODY_FONT, HEADING_FONT, SHEET_FONT = "游明朝", "游ゴシック", "游ゴシック"
FONT_FALLBACKS = {"游明朝": "Noto Serif CJK JP", "游ゴシック": "Noto Sans CJK JP"}
VERDICT_FILLS = {"対応あり": "C6EFCE", "一部対応": "FFEB9C", "記載なし": "FFC7CE"}


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
    """Column widths, wrapped top-aligned cells in a Japanese font, a bold header row repeated on every
    printed page, and A4 landscape fitted to the page width with page numbers."""
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    for i, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(i)].width = width
    for cells in ws.iter_rows():
        for cell in cells:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
            cell.font = Font(name=SHEET_FONT, size=10)
    for cell in ws[1]:
        cell.font = Font(name=SHEET_FONT, size=10, bold=True)
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.orientation = "landscape"
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0  # as many pages down as the rows need
    ws.print_title_rows = "1:1"
    ws.oddFooter.center.text = "&P / &N"


def matrix_xlsx(matrix: AlignmentMatrix) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import PatternFill

    wb = Workbook()
    ws = wb.active
    ws.title = "整合表"
    ws.append(list(MATRIX_COLUMNS))
    for row in matrix.rows:
        ws.append(matrix_cells(row))
        ws.cell(ws.max_row, 5).fill = PatternFill("solid", fgColor=VERDICT_FILLS[row.verdict])
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
        gaps.cell(gaps.max_row, 4).fill = PatternFill("solid", fgColor=VERDICT_FILLS[row.verdict])
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


def _set_run_fonts(rpr: Any, font: str) -> None:
    """Explicit fonts for Latin and East Asian text (w:rFonts), replacing the template's theme fonts."""
    from docx.oxml.ns import qn

    fonts = rpr.get_or_add_rFonts()
    for attr in ("asciiTheme", "hAnsiTheme", "eastAsiaTheme", "cstheme"):
        fonts.attrib.pop(qn(f"w:{attr}"), None)
    for attr in ("ascii", "hAnsi", "eastAsia", "cs"):
        fonts.set(qn(f"w:{attr}"), font)


def _japanese_office(doc: Any) -> None:
    """A4 portrait, Japanese fonts (with Noto fallbacks in the font table), Japanese as the East Asian
    language, and a page number (PAGE / NUMPAGES fields) centred in the footer."""
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.opc.oxml import serialize_part_xml
    from docx.oxml import OxmlElement, parse_xml
    from docx.oxml.ns import qn
    from docx.shared import Mm

    section = doc.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin, section.bottom_margin = Mm(30), Mm(25)
    section.left_margin = section.right_margin = Mm(25)

    defaults = doc.styles.element.find(qn("w:docDefaults"))
    rpr = defaults.find(qn("w:rPrDefault")).find(qn("w:rPr"))
    _set_run_fonts(rpr, BODY_FONT)
    lang = rpr.find(qn("w:lang"))
    if lang is None:
        lang = OxmlElement("w:lang")
        rpr.append(lang)
    lang.set(qn("w:eastAsia"), "ja-JP")
    for name in ("Normal", "Title", "Heading 1", "Heading 2"):
        _set_run_fonts(doc.styles[name].element.get_or_add_rPr(), BODY_FONT if name == "Normal" else HEADING_FONT)

    table = next(p for p in doc.part.package.iter_parts() if str(p.partname) == "/word/fontTable.xml")
    fonts = parse_xml(table.blob)
    for name, alt in FONT_FALLBACKS.items():
        font = OxmlElement("w:font")
        font.set(qn("w:name"), name)
        for tag, value in (
            ("w:altName", alt),
            ("w:charset", "80"),
            ("w:family", "roman" if "明朝" in name else "swiss"),
        ):
            child = OxmlElement(tag)
            child.set(qn("w:val"), value)
            font.append(child)
        fonts.append(font)
    table._blob = serialize_part_xml(fonts)

    footer = section.footer.paragraphs[0]
    footer.alignment = WD_ALIGN_PARAGRAPH.CENTER
    for i, field in enumerate(("PAGE", "NUMPAGES")):
        if i:
            footer.add_run(" / ")
        for kind in ("begin", None, "separate", "1", "end"):
            run = footer.add_run()
            if kind is None:
                instr = OxmlElement("w:instrText")
                instr.set(qn("xml:space"), "preserve")
                instr.text = f" {field} "
                run._r.append(instr)
            elif kind == "1":
                run.text = "1"  # shown until the reader updates the field
            else:
                char = OxmlElement("w:fldChar")
                char.set(qn("w:fldCharType"), kind)
                run._r.append(char)


def draft_docx(draft: Draft, body: str | None = None) -> bytes:
    """Word document for a Japanese office: title, headings, one paragraph per sentence, and the 出典
    list as staff read it (document, edition, page, section, quote; no internal ids)."""
    from docx import Document

    doc = Document()
    _japanese_office(doc)
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
        doc.add_paragraph(source_line(c, chunk_ref=False))
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
