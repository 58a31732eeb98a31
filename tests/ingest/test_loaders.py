"""Loaders on real files: generated Japanese PDFs and GeoPackages, broken inputs, and the shipped corpus."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

from assistant.config import IngestSettings
from assistant.errors import IngestError
from assistant.types import SourceInfo
from ingest import loaders
from ingest.loaders import base, docx, gpkg, load_document, sha256_file, text
from ingest.loaders import pdf as pdf_loader
from tests.factories import (
    FACILITIES,
    make_corrupt_pdf,
    make_empty_gpkg,
    make_encrypted_pdf,
    make_gpkg,
    make_image_only_pdf,
    make_pdf,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
SHARED = REPO_ROOT.parent / "shared"
REAL = SHARED / "corpus" / "real"
JUTEN_PDF = REAL / "juten-keikaku-2023" / "20230609_policies_priority_outline_05.pdf"
GUIDEBOOKS = (
    "410_overview.md",
    "465-1_guidebook_datamanagement_intro.md",
    "466-1_guidebook_human_resource.md",
    "492-1_appendix_rules.md",
)
JA = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")

PAGES = [
    "厚木市デジタル・トランスフォーメーション推進計画。第1章 計画の策定にあたって。"
    "本計画は、行政手続のオンライン化と窓口の利便性向上を目指すものである。",
    "第2章 基本方針。誰一人取り残さないデジタル化を進める。",
    "第3章 推進体制。デジタル戦略課が全庁の取組を取りまとめる。",
]


@pytest.fixture
def settings() -> IngestSettings:
    return IngestSettings()


def squash(text: str) -> str:
    """Extraction may break lines or add spaces; compare text without any whitespace."""
    return re.sub(r"\s+", "", text)


def expect_error(path: Path, kind: str, settings: IngestSettings) -> IngestError:
    with pytest.raises(IngestError) as info:
        load_document(path, None, settings)
    err = info.value
    assert err.kind == kind, err.message
    assert str(path) in err.message and str(path) in err.message_ja
    assert JA.search(err.message_ja.replace(str(path), "")), "Japanese message must be Japanese"
    assert err.hint and JA.search(err.hint_ja), "every error says what to do, in Japanese too"
    return err


# --- bad input: one test per failure class ---------------------------------------------------------


def test_zero_byte_pdf_is_empty(tmp_path: Path, settings: IngestSettings) -> None:
    path = tmp_path / "空のファイル.pdf"
    path.write_bytes(b"")
    expect_error(path, "empty", settings)


def test_non_pdf_with_pdf_name(tmp_path: Path, settings: IngestSettings) -> None:
    path = tmp_path / "report.pdf"
    path.write_text("<html><body>これはPDFではありません</body></html>", encoding="utf-8")
    err = expect_error(path, "not_pdf", settings)
    assert "PDFではありません" in err.message_ja


def test_corrupt_pdf(tmp_path: Path, settings: IngestSettings) -> None:
    path = make_corrupt_pdf(tmp_path / "broken.pdf")
    err = expect_error(path, "corrupt", settings)
    assert "壊れている" in err.message_ja


def test_recursion_in_pypdf_becomes_corrupt(monkeypatch: pytest.MonkeyPatch) -> None:
    # pypdf can recurse without end on hostile object graphs; the parser child reports it as damage.
    import pypdf

    from ingest import pdf

    def recurse(*args: object, **kwargs: object) -> None:
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(pypdf, "PdfReader", recurse)
    out = pdf._extract(b"%PDF-1.7 ...", max_pages=10)
    assert out["error"] == "corrupt_pdf" and "RecursionError" in out["values"]["why"]


def test_memory_error_in_the_parser_is_its_own_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import pypdf

    from ingest import pdf

    def balloon(*args: object, **kwargs: object) -> None:
        raise MemoryError

    monkeypatch.setattr(pypdf, "PdfReader", balloon)
    assert pdf._extract(b"%PDF-1.7 ...", max_pages=10)["error"] == "pdf_memory"


def test_encrypted_pdf(tmp_path: Path, settings: IngestSettings) -> None:
    path = make_encrypted_pdf(tmp_path / "secret.pdf", password="secret")
    err = expect_error(path, "encrypted", settings)
    assert "PDFが暗号化されているため読み込めません" in err.message_ja


def test_encrypted_pdf_with_empty_user_password_opens(tmp_path: Path, settings: IngestSettings) -> None:
    # Permissions-only encryption: readers open it without asking, and so do we.
    path = make_encrypted_pdf(tmp_path / "restricted.pdf", password="", owner_password="owner")
    doc = load_document(path, None, settings)
    assert "パスワードで保護" in squash(doc.blocks[0].text)


def test_image_only_pdf_needs_ocr(tmp_path: Path, settings: IngestSettings) -> None:
    path = make_image_only_pdf(tmp_path / "scan.pdf", n_pages=2)
    err = expect_error(path, "no_text", settings)
    assert "OCR" in err.hint and "OCR" in err.hint_ja


def test_oversize_file_is_refused_before_reading(
    tmp_path: Path, settings: IngestSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = make_pdf(tmp_path / "big.pdf", PAGES)
    tiny = settings.model_copy(update={"max_file_mib": 0.001})  # ~1 KB

    def no_reading(*args: object, **kwargs: object) -> None:
        raise AssertionError("the file was opened before its size was checked")

    for module in (loaders, base, pdf_loader, text, gpkg, docx):
        monkeypatch.setattr(module, "open", no_reading, raising=False)
    err = expect_error(path, "too_large", tiny)
    assert "MiB" in err.message_ja


def test_size_limits_are_mib_and_the_old_mb_names_still_work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from assistant.config import Settings

    path = make_pdf(tmp_path / "big.pdf", PAGES)
    size = path.stat().st_size
    just_under = IngestSettings(max_file_mib=(size - 1) / 1024 / 1024)
    assert load_document(path, None, IngestSettings(max_file_mib=size / 1024 / 1024)).pages == 3  # exactly at it
    assert "MiB" in expect_error(path, "too_large", just_under).message_ja
    monkeypatch.setenv("DXA_INGEST__MAX_FILE_MB", "0.25")
    monkeypatch.setenv("DXA_INGEST__PDF_MEMORY_MB", "1234")
    ingest = Settings().ingest
    assert (ingest.max_file_mib, ingest.pdf_memory_mib) == (0.25, 1234)
    monkeypatch.setenv("DXA_INGEST__MAX_FILE_MIB", "0.5")
    assert Settings().ingest.max_file_mib == 0.5


def test_too_many_pages(tmp_path: Path, settings: IngestSettings) -> None:
    path = make_pdf(tmp_path / "long.pdf", PAGES)
    err = expect_error(path, "too_large", settings.model_copy(update={"max_pages": 2}))
    assert "3ページ" in err.message_ja


def test_unsupported_suffix(tmp_path: Path, settings: IngestSettings) -> None:
    path = tmp_path / "計画.xlsx"
    path.write_bytes(b"PK\x03\x04 not a Word document")
    err = expect_error(path, "unsupported", settings)
    assert ".xlsx" in err.message_ja
    assert "Word（.docx）" in err.hint_ja and "GeoPackage（.gpkg）" in err.hint_ja  # the registry's formats


def test_undecodable_text(tmp_path: Path, settings: IngestSettings) -> None:
    path = tmp_path / "binary.txt"
    path.write_bytes(bytes(range(256)) * 8)  # invalid UTF-8; cp932 "decodes" it into control characters
    err = expect_error(path, "unreadable", settings)
    assert "文字コード" in err.message_ja


def test_whitespace_only_text_is_empty(tmp_path: Path, settings: IngestSettings) -> None:
    path = tmp_path / "blank.md"
    path.write_text(" \n\u3000\n\t\n", encoding="utf-8")
    expect_error(path, "empty", settings)


def test_missing_file(tmp_path: Path, settings: IngestSettings) -> None:
    expect_error(tmp_path / "nowhere.pdf", "unreadable", settings)


def test_gpkg_that_is_not_sqlite_is_corrupt(tmp_path: Path, settings: IngestSettings) -> None:
    path = tmp_path / "layers.gpkg"
    path.write_text("not a database", encoding="utf-8")
    expect_error(path, "corrupt", settings)


def test_sqlite_without_geopackage_tables_is_corrupt(tmp_path: Path, settings: IngestSettings) -> None:
    import sqlite3

    path = tmp_path / "plain.gpkg"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE t (a TEXT)")
    conn.close()
    expect_error(path, "corrupt", settings)


def test_gpkg_without_rows_is_empty(tmp_path: Path, settings: IngestSettings) -> None:
    path = make_empty_gpkg(tmp_path / "empty.gpkg")
    expect_error(path, "empty", settings)


# --- PDF ---------------------------------------------------------------------------------------------


def test_japanese_pdf_pages_and_text(tmp_path: Path, settings: IngestSettings) -> None:
    path = make_pdf(tmp_path / "dx_plan_2024.pdf", PAGES, title="厚木市DX推進計画")
    doc = load_document(path, None, settings)
    assert doc.kind == "pdf" and doc.pages == 3
    assert [b.page for b in doc.blocks] == [1, 2, 3]
    for block, expected in zip(doc.blocks, PAGES, strict=True):
        assert squash(block.text) == squash(expected)
    assert doc.source.title == "厚木市DX推進計画"
    assert doc.source.doc_id == "" and doc.source.level == "other"  # the indexer names it (ingest/doc_ids.py)
    assert doc.sha256 == sha256_file(path) == hashlib.sha256(path.read_bytes()).hexdigest()


def test_given_source_is_kept(tmp_path: Path, settings: IngestSettings) -> None:
    path = make_pdf(tmp_path / "x.pdf", PAGES[:1])
    source = SourceInfo(doc_id="atsugi-dx-2024", title="厚木市DX推進計画", level="city", edition="2024")
    assert load_document(path, source, settings).source == source


def test_pdf_without_title_uses_file_name(tmp_path: Path, settings: IngestSettings) -> None:
    path = make_pdf(tmp_path / "untitled-memo.pdf", PAGES[:1])  # reportlab writes /Title "untitled"
    assert load_document(path, None, settings).source.title == "untitled-memo"


def test_pdf_content_is_sniffed_whatever_the_suffix(tmp_path: Path, settings: IngestSettings) -> None:
    path = make_pdf(tmp_path / "download.txt", PAGES[:2])
    doc = load_document(path, None, settings)
    assert doc.kind == "pdf" and doc.pages == 2


def test_loading_writes_nothing(tmp_path: Path, settings: IngestSettings) -> None:
    pdf = make_pdf(tmp_path / "a.pdf", PAGES)
    gpkg = make_gpkg(tmp_path / "b.gpkg")
    before = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in tmp_path.iterdir()}
    load_document(pdf, None, settings)
    load_document(gpkg, None, settings)
    assert {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in tmp_path.iterdir()} == before


# --- text --------------------------------------------------------------------------------------------


def test_shift_jis_text_decodes(tmp_path: Path, settings: IngestSettings) -> None:
    text = "厚木市の窓口案内\r\n住民票の写しはコンビニエンスストアでも取得できます。\r\n"
    path = tmp_path / "madoguchi.txt"
    path.write_bytes(text.encode("shift_jis"))
    doc = load_document(path, None, settings)
    assert doc.kind == "text" and len(doc.blocks) == 1 and doc.blocks[0].page is None
    assert doc.blocks[0].text == text.replace("\r\n", "\n")
    assert doc.source.title == "厚木市の窓口案内"


def test_utf8_bom_markdown(tmp_path: Path, settings: IngestSettings) -> None:
    path = tmp_path / "guide.md"
    path.write_bytes("\ufeff# デジタル推進ガイド <!-- omit in toc -->\n\n本文です。\n".encode())
    doc = load_document(path, None, settings)
    assert doc.blocks[0].text.startswith("# デジタル推進ガイド")  # BOM gone
    assert doc.source.title == "デジタル推進ガイド"


# --- GeoPackage --------------------------------------------------------------------------------------


def test_gpkg_one_block_per_feature_and_row(tmp_path: Path, settings: IngestSettings) -> None:
    path = make_gpkg(tmp_path / "facilities.gpkg")
    doc = load_document(path, None, settings)
    assert doc.kind == "gpkg" and doc.pages is None
    features = [b for b in doc.blocks if b.meta["layer"] == "公共施設"]
    rows = [b for b in doc.blocks if b.meta["layer"] == "担当課"]
    assert len(features) == len(FACILITIES) and len(rows) == 2 and len(doc.blocks) == len(FACILITIES) + 2
    city_hall = next(b for b in features if b.meta["名称"] == "厚木市役所")
    assert city_hall.meta["fid"] == 1 and city_hall.meta["種別"] == "庁舎"
    assert city_hall.meta["x"] == pytest.approx(139.3614) and city_hall.meta["y"] == pytest.approx(35.4433)
    assert city_hall.meta["crs"] == "EPSG:4326" and city_hall.meta["srs_id"] == 4326
    assert city_hall.text.splitlines() == [
        "レイヤ: 公共施設",
        "fid: 1",
        "名称: 厚木市役所",
        "種別: 庁舎",
        "住所: 厚木市中町3-17-17",
        "座標: 139.3614, 35.4433 (EPSG:4326)",
    ]
    assert sorted(b.meta["fid"] for b in features) == [1, 2, 3, 4]
    assert "課名: デジタル戦略課" in rows[0].text and "x" not in rows[0].meta
    assert doc.source.doc_id == "" and doc.source.title == "facilities" and doc.sha256 == sha256_file(path)


def test_gpkg_polygon_gets_bbox_and_centre(tmp_path: Path, settings: IngestSettings) -> None:
    doc = load_document(make_gpkg(tmp_path / "areas.gpkg", polygons=True), None, settings)
    (district,) = [b for b in doc.blocks if b.meta["layer"] == "地区"]
    assert district.meta["geometry"] == "Polygon" and district.meta["crs"] == "EPSG:4326"
    assert district.meta["bbox"] == "139.35,35.43,139.37,35.45"
    assert district.meta["center_x"] == pytest.approx(139.36) and district.meta["center_y"] == pytest.approx(35.44)
    assert "地区名: 中心市街地" in district.text and "範囲: 139.35, 35.43" in district.text


# --- the real corpus ---------------------------------------------------------------------------------

needs_shared = pytest.mark.skipif(not REAL.is_dir(), reason="../shared/corpus/real is not available")


@needs_shared
def test_real_priority_plan_pdf(settings: IngestSettings) -> None:
    doc = load_document(JUTEN_PDF, None, settings)
    assert doc.pages == 118 and len(doc.blocks) == 118
    assert [b.page for b in doc.blocks] == list(range(1, 119))
    with_text = [b for b in doc.blocks if len(b.text.strip()) > 50]
    assert len(with_text) >= 110
    assert "デジタル社会の実現に向けた重点計画" in doc.blocks[0].text
    assert doc.source.title == "デジタル社会の実現に向けた重点計画本文"


@needs_shared
@pytest.mark.parametrize("name", GUIDEBOOKS)
def test_real_guidebooks_load(name: str, settings: IngestSettings) -> None:
    doc = load_document(REAL / "gif-guidebooks" / name, None, settings)
    assert doc.kind == "markdown" and len(doc.blocks) == 1
    assert len(doc.blocks[0].text) > 2000 and JA.search(doc.source.title)


def test_markdown_loses_the_inline_html_of_converters(tmp_path: Path, settings: IngestSettings) -> None:
    """A converter's figure keeps its caption as a line, <br> in a table cell is a space (the row stays one
    line), an autolink is its address; headings, lists and table pipes stay for normalisation."""
    path = tmp_path / "guide.md"
    path.write_text(
        "# 評価の方法\n"
        '<figure><img src="media/image3.png" alt="" /><figcaption>図2 経験点の減衰</figcaption></figure>\n'
        "|用語|意味|\n|---|---|\n|KPI|重要業績<br>評価指標|\n"
        '- 詳しくは<https://example.jp/guide>を参照。<span class="underline">注記</span>\n',
        encoding="utf-8",
    )
    body = load_document(path, None, settings).blocks[0].text
    assert "図2 経験点の減衰" in body.splitlines()
    assert "|KPI|重要業績 評価指標|" in body.splitlines()
    assert "詳しくはhttps://example.jp/guideを参照。注記" in body
    assert not re.search(r"<\s*/?\s*(?:figure|img|figcaption|br|span)", body)
    assert body.startswith("# 評価の方法\n") and "|---|---|" in body
    # a stray or unclosed tag goes too; a caption spanning lines keeps its text
    assert text.strip_inline_html("a<figcaption>b\nc</figcaption>d<figcaption>e") == "a\nb\nc\nde"
    plain = tmp_path / "note.txt"
    plain.write_text("a <br> b", encoding="utf-8")
    assert load_document(plain, None, settings).blocks[0].text == "a <br> b"  # only Markdown is converted
