"""The .docx and .xlsx exports read back with python-docx / openpyxl: A4, Japanese fonts, page numbers,
print set-up, verdict colours, and a 出典 list without internal ids."""

from __future__ import annotations

from io import BytesIO

from docx import Document
from docx.oxml.ns import qn
from docx.shared import Mm
from openpyxl import load_workbook

from assistant.align import AlignItem, AlignmentMatrix, AlignmentRow
from assistant.draft import Draft, DraftSection, DraftSentence, split_sources
from assistant.export import draft_docx, matrix_xlsx, read_docx_text
from assistant.types import Chunk, Citation, make_chunk_id


def chunk(doc_id: str, level: str, section: str, text: str, page: int | None = 3) -> Chunk:
    return Chunk(
        chunk_id=make_chunk_id(doc_id, page, text),
        doc_id=doc_id,
        title=f"{doc_id}の計画",
        level=level,  # type: ignore[arg-type]
        edition="2026年版",
        page=page,
        section=section,
        text=text,
        original=text,
        ordinal=0,
    )


def draft() -> Draft:
    a = chunk("atsugi", "city", "3 取組 > (1) 窓口", "本市は書かない窓口を全庁に広げる。")
    b = chunk("kuni", "national", "2 重点 > (2) デジタル人材", "国は自治体のデジタル人材の確保を支援する。", page=None)
    sentences = [
        DraftSentence("本市は書かない窓口を全庁に広げる[1]。", [1]),
        DraftSentence("人材の確保を進める[2]。", [2]),
    ]
    return Draft(
        title="厚木市DX推進計画（案）",
        intent="窓口",
        style="dearu",
        mode="skeleton",
        sections=[DraftSection("背景", sentences)],
        citations=[
            Citation(1, a, "書かない窓口を全庁に広げる", 0.9),
            Citation(2, b, "自治体のデジタル人材の確保を支援する", 0.8),
        ],
    )


def test_docx_is_a4_in_japanese_fonts_with_page_numbers_and_readable_sources() -> None:
    d = draft()
    doc = Document(BytesIO(draft_docx(d)))
    section = doc.sections[0]
    assert abs(section.page_width - Mm(210)) < Mm(1) and abs(section.page_height - Mm(297)) < Mm(1)

    for name, font in (("Normal", "游明朝"), ("Heading 1", "游ゴシック"), ("Title", "游ゴシック")):
        fonts = doc.styles[name].element.rPr.rFonts
        assert fonts.get(qn("w:eastAsia")) == font, name
        assert fonts.get(qn("w:eastAsiaTheme")) is None, name  # a theme font would override it
    defaults = doc.styles.element.find(qn("w:docDefaults")).find(qn("w:rPrDefault")).find(qn("w:rPr"))
    assert defaults.find(qn("w:rFonts")).get(qn("w:eastAsia")) == "游明朝"
    assert defaults.find(qn("w:lang")).get(qn("w:eastAsia")) == "ja-JP"
    table = next(p for p in doc.part.package.iter_parts() if str(p.partname) == "/word/fontTable.xml")
    assert "Noto Serif CJK JP" in table.blob.decode() and "Noto Sans CJK JP" in table.blob.decode()

    footer = section.footer.paragraphs[0]._p.xml
    assert "<w:instrText" in footer and " PAGE " in footer and " NUMPAGES " in footer
    assert footer.count('w:fldCharType="begin"') == 2 and footer.count('w:fldCharType="end"') == 2

    texts = [p.text for p in doc.paragraphs]
    sources = texts[texts.index("出典") + 1 :]
    assert sources == [
        "[1] atsugiの計画（2026年版）3頁 3 取組 > (1) 窓口 引用「書かない窓口を全庁に広げる」",
        "[2] kuniの計画（2026年版）2 重点 > (2) デジタル人材 引用「自治体のデジタル人材の確保を支援する」",
    ]
    assert not any("chunk" in t or c.chunk.chunk_id in t for t in texts for c in d.citations)
    # read back, the 出典 list still names each quote, which is how check_draft finds the passage
    _, refs = split_sources(read_docx_text_bytes(draft_docx(d)))
    assert [r.split("引用")[1] for r in refs.values()] == [f"「{c.quote}」" for c in d.citations]


def read_docx_text_bytes(data: bytes) -> str:
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "d.docx"
        path.write_bytes(data)
        return read_docx_text(path)


def matrix() -> AlignmentMatrix:
    rows = []
    for i, verdict in enumerate(("対応あり", "一部対応", "記載なし")):
        src = chunk("kuni", "national", f"2 重点 > ({i + 1}) 項目{i + 1}", f"国は項目{i + 1}を進める。")
        city = chunk("atsugi", "city", f"3 取組 > 施策{i + 1}", f"本市は項目{i + 1}に取り組む。")
        rows.append(
            AlignmentRow(
                item=AlignItem(src.doc_id, src.section, (src,)),
                verdict=verdict,  # type: ignore[arg-type]
                score=0.8 - 0.3 * i,
                matches=[],
                source_quotes=[Citation(1, src, src.text, 1.0)],
                city_quotes=[] if verdict == "記載なし" else [Citation(1, city, city.text, 0.7)],
            )
        )
    return AlignmentMatrix(rows=rows, city_sections=["施策1"], heat=[[0.8], [0.5], [0.2]], thresholds=(0.4, 0.7))


def test_xlsx_prints_on_a4_landscape_in_a_japanese_font_with_verdict_colours() -> None:
    wb = load_workbook(BytesIO(matrix_xlsx(matrix())))
    for ws in (wb["整合表"], wb["未対応の項目"]):
        assert ws.page_setup.paperSize == 9 and ws.page_setup.orientation == "landscape"  # 9: A4
        assert ws.sheet_properties.pageSetUpPr.fitToPage is True
        assert (ws.page_setup.fitToWidth, ws.page_setup.fitToHeight) == (1, 0)
        assert ws.print_title_rows == "$1:$1"  # the header row on every printed page
        assert ws.oddFooter.center.text == "&P / &N"
        assert {c.font.name for row in ws.iter_rows() for c in row} == {"游ゴシック"}
        assert all(c.font.bold for c in ws[1])
    ws = wb["整合表"]
    colours = {ws.cell(r, 5).value: ws.cell(r, 5).fill.fgColor.rgb[-6:] for r in range(2, ws.max_row + 1)}
    assert colours == {"対応あり": "C6EFCE", "一部対応": "FFEB9C", "記載なし": "FFC7CE"}
    gaps = wb["未対応の項目"]
    assert [gaps.cell(r, 4).fill.fgColor.rgb[-6:] for r in (2, 3)] == ["FFC7CE", "FFEB9C"]  # 記載なし first
    assert all("chunk" not in str(c.value) for row in ws.iter_rows() for c in row)
