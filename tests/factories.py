"""Builders for real test inputs: Japanese PDFs (reportlab), broken PDFs, a GeoPackage (fudgeo) and Word
documents (python-docx, msoffcrypto-tool for a password-protected one).

Other test modules reuse these, so they take a target path and return it.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

from fudgeo.enumeration import FieldType, ShapeType
from fudgeo.geometry import Point, Polygon
from fudgeo.geopkg import Field, GeoPackage, SpatialReferenceSystem
from pypdf import PdfReader, PdfWriter
from reportlab.lib.pagesizes import A4
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas

JA_FONT = "HeiseiMin-W3"  # built-in CID font: no font file needed, text stays extractable
_FONT_SIZE = 11
_LINE_HEIGHT = 16
_WRAP_CHARS = 40  # full-width characters per line on A4 with 2 cm margins

# Atsugi facilities (approximate positions, WGS 84) used by GeoPackage tests.
FACILITIES: tuple[tuple[str, str, str, float, float], ...] = (
    ("厚木市役所", "庁舎", "厚木市中町3-17-17", 139.3614, 35.4433),
    ("厚木市立中央図書館", "図書館", "厚木市中町1-1-3", 139.3649, 35.4412),
    ("アミューあつぎ", "複合施設", "厚木市中町2-12-15", 139.3637, 35.4402),
    ("厚木市保健福祉センター", "福祉施設", "厚木市中町1-4-1", 139.3627, 35.4425),
)
DEPARTMENTS: tuple[tuple[str, str, str], ...] = (
    ("デジタル戦略課", "行政経営部", "046-225-2111"),
    ("情報政策課", "行政経営部", "046-225-2112"),
)

_WGS84_WKT = (
    'GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563]],'
    'PRIMEM["Greenwich",0],UNIT["degree",0.0174532925199433],AUTHORITY["EPSG","4326"]]'
)


def _register_font() -> None:
    if JA_FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(JA_FONT))


def _wrap(text: str) -> list[str]:
    lines: list[str] = []
    for paragraph in text.splitlines() or [""]:
        lines.extend(textwrap.wrap(paragraph, _WRAP_CHARS) or [""])
    return lines


def make_pdf(
    path: Path,
    pages: list[str],
    *,
    title: str | None = None,
    encrypt_password: str | None = None,
    owner_password: str | None = None,
) -> Path:
    """A PDF with one page per item of `pages`, in a Japanese CID font, long lines wrapped.

    `encrypt_password` is the user password ("" = opens without one, restricted by `owner_password`).
    """
    _register_font()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    c = canvas.Canvas(str(path), pagesize=A4, invariant=True)
    if title is not None:
        c.setTitle(title)
    width, height = A4
    for page_text in pages:
        c.setFont(JA_FONT, _FONT_SIZE)
        y = height - 60
        for line in _wrap(page_text):
            if y < 60:
                raise ValueError(f"page text too long for one A4 page: {page_text[:30]}…")
            c.drawString(56, y, line)
            y -= _LINE_HEIGHT
        c.showPage()
    c.save()
    if encrypt_password is not None:
        _encrypt_in_place(path, encrypt_password, owner_password or encrypt_password)
    return path


def make_labelled_pdf(path: Path, pages: list[str], ranges: list[tuple[int, int, str, str, int]]) -> Path:
    """A PDF whose catalog has /PageLabels: `ranges` are (first, last page index, style, prefix, start),
    e.g. (0, 1, "/r", "", 1) for i, ii and (2, 5, "/D", "", 1) for 1…4 (pypdf's set_page_label)."""
    make_pdf(path, pages)
    writer = PdfWriter(clone_from=PdfReader(path))
    for first, last, style, prefix, start in ranges:
        writer.set_page_label(first, last, style=style, prefix=prefix or None, start=start)
    with open(path, "wb") as fh:
        writer.write(fh)
    return path


def _encrypt_in_place(path: Path, password: str, owner_password: str, algorithm: str = "RC4-128") -> None:
    reader = PdfReader(path)
    writer = PdfWriter(clone_from=reader)
    # RC4-128 works with pypdf's pure-Python fallback; AES needs the cryptography package.
    writer.encrypt(user_password=password, owner_password=owner_password, algorithm=algorithm)
    with open(path, "wb") as fh:
        writer.write(fh)


def make_image_only_pdf(path: Path, n_pages: int = 2) -> Path:
    """A PDF whose pages carry only drawn shapes: what a scan without OCR looks like to a text extractor."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    c = canvas.Canvas(str(path), pagesize=A4, invariant=True)
    for i in range(n_pages):
        c.setFillGray(0.2 + 0.1 * i)
        c.rect(80, 400, 300, 200, fill=1, stroke=0)
        c.circle(300, 250, 60 + 10 * i, fill=1)
        c.line(50, 100, 500, 120)
        c.showPage()
    c.save()
    return path


def make_encrypted_pdf(path: Path, password: str = "secret", *, owner_password: str | None = None) -> Path:
    """A Japanese PDF that needs `password` to open (password "" plus an owner password: opens freely)."""
    return make_pdf(
        path, ["この文書はパスワードで保護されています。"], encrypt_password=password, owner_password=owner_password
    )


def make_aes_owner_only_pdf(path: Path) -> Path:
    """AES-256 encryption with an empty user password and an owner password: any viewer opens it."""
    make_pdf(path, ["閲覧制限だけがかかった文書です。"])
    _encrypt_in_place(Path(path), "", "owner", algorithm="AES-256")
    return Path(path)


def _blank_helvetica_page():  # type: ignore[no-untyped-def]
    """A writer with one blank A4 page and a /F1 Helvetica font dictionary, for hand-built content streams."""
    from pypdf.generic import DictionaryObject, NameObject

    writer = PdfWriter()
    page = writer.add_blank_page(595, 842)
    font = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Font"),
            NameObject("/Subtype"): NameObject("/Type1"),
            NameObject("/BaseFont"): NameObject("/Helvetica"),
        }
    )
    return writer, page, DictionaryObject({NameObject("/F1"): writer._add_object(font)})


def _write(writer: PdfWriter, path: Path) -> Path:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as fh:
        writer.write(fh)
    return Path(path)


def make_form_bomb_pdf(path: Path, form_chars: int = 900_000, draws: int = 50) -> Path:
    """A PDF of a few KB: one form XObject with `form_chars` characters of text, drawn `draws` times
    on its one page. Valid, and its text is form_chars x draws characters (45 MB by default)."""
    from pypdf.generic import ArrayObject, DecodedStreamObject, DictionaryObject, FloatObject, NameObject

    writer, page, fonts = _blank_helvetica_page()
    line = b"(" + b"x" * 99 + b") Tj T* "  # 100 characters with the line break
    form = DecodedStreamObject()
    form.set_data(b"BT /F1 1 Tf 1 TL " + line * (form_chars // 100) + b"ET")
    form = form.flate_encode()
    form[NameObject("/Type")] = NameObject("/XObject")
    form[NameObject("/Subtype")] = NameObject("/Form")
    form[NameObject("/BBox")] = ArrayObject([FloatObject(0), FloatObject(0), FloatObject(595), FloatObject(842)])
    form[NameObject("/Resources")] = DictionaryObject({NameObject("/Font"): fonts})
    xobjects = DictionaryObject({NameObject("/X1"): writer._add_object(form)})
    page[NameObject("/Resources")] = DictionaryObject({NameObject("/Font"): fonts, NameObject("/XObject"): xobjects})
    contents = DecodedStreamObject()
    contents.set_data(b"/X1 Do " * draws)
    page[NameObject("/Contents")] = writer._add_object(contents.flate_encode())
    return _write(writer, path)


def make_corrupt_pdf(path: Path) -> Path:
    """A real PDF cut in the middle and with its body garbled: starts with %PDF- but cannot be parsed."""
    path = Path(path)
    make_pdf(path, ["壊れたPDFの元になる文書です。" * 5, "二ページ目です。"])
    data = path.read_bytes()
    head = data[: len(data) // 2]
    garbled = bytearray(head)
    for i in range(200, len(garbled), 7):
        garbled[i] = (garbled[i] * 31 + 7) % 256
    path.write_bytes(bytes(garbled))
    return path


def make_slow_pdf(path: Path, operators: int = 1_000_000) -> Path:
    """A tiny PDF (a few KB) whose one page holds a compressed content stream of `operators` text-show
    operators: valid, but text extraction takes seconds per 100,000 of them."""
    from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

    writer, page, fonts = _blank_helvetica_page()
    page[NameObject("/Resources")] = DictionaryObject({NameObject("/Font"): fonts})
    stream = DecodedStreamObject()
    stream.set_data(b"BT /F1 12 Tf " + b"(x) Tj " * operators + b"ET")
    page[NameObject("/Contents")] = writer._add_object(stream.flate_encode())
    return _write(writer, path)


def _wgs84() -> SpatialReferenceSystem:
    return SpatialReferenceSystem(
        name="WGS 84", organization="EPSG", org_coord_sys_id=4326, definition=_WGS84_WKT, srs_id=4326
    )


def make_empty_gpkg(path: Path) -> Path:
    """A valid GeoPackage with one point layer and no features."""
    path = Path(path).with_suffix(".gpkg")
    path.parent.mkdir(parents=True, exist_ok=True)
    gpkg = GeoPackage.create(path, flavor="EPSG")
    gpkg.create_feature_class(
        "公共施設", srs=_wgs84(), shape_type=ShapeType.point, fields=(Field("名称", FieldType.text),)
    )
    gpkg.connection.close()
    return path


def make_gpkg(path: Path, *, polygons: bool = False) -> Path:
    """A GeoPackage with a point layer 「公共施設」 (EPSG:4326) and a non-spatial table 「担当課」.

    `polygons` adds a polygon layer 「地区」 with one district (for bounding-box handling).
    """
    path = Path(path).with_suffix(".gpkg")
    path.parent.mkdir(parents=True, exist_ok=True)
    gpkg = GeoPackage.create(path, flavor="EPSG")
    srs = _wgs84()
    fields = (
        Field("名称", FieldType.text, size=100),
        Field("種別", FieldType.text, size=50),
        Field("住所", FieldType.text, size=200),
    )
    fc = gpkg.create_feature_class("公共施設", srs=srs, shape_type=ShapeType.point, fields=fields)
    rows = [(Point(x=x, y=y, srs_id=4326), name, kind, addr) for name, kind, addr, x, y in FACILITIES]
    table = gpkg.create_table(
        "担当課",
        fields=(
            Field("課名", FieldType.text, size=50),
            Field("部局", FieldType.text, size=50),
            Field("電話", FieldType.text, size=20),
        ),
    )
    with gpkg.connection as conn:
        conn.executemany(f'INSERT INTO {fc.escaped_name} ("SHAPE", "名称", "種別", "住所") VALUES (?, ?, ?, ?)', rows)
        conn.executemany(f'INSERT INTO {table.escaped_name} ("課名", "部局", "電話") VALUES (?, ?, ?)', DEPARTMENTS)
    if polygons:
        districts = gpkg.create_feature_class(
            "地区", srs=srs, shape_type=ShapeType.polygon, fields=(Field("地区名", FieldType.text, size=50),)
        )
        ring = [(139.35, 35.43), (139.37, 35.43), (139.37, 35.45), (139.35, 35.45), (139.35, 35.43)]
        with gpkg.connection as conn:
            conn.execute(
                f'INSERT INTO {districts.escaped_name} ("SHAPE", "地区名") VALUES (?, ?)',
                (Polygon([ring], srs_id=4326), "中心市街地"),
            )
    gpkg.connection.close()
    return path


# --- Word ---------------------------------------------------------------------------------------------

# A plan section as staff write it in Word: heading styles, body paragraphs, a table under a heading.
DOCX_TITLE = "厚木市DX推進計画（素案）"
DOCX_ROWS: tuple[tuple[str, str, str], ...] = (
    ("取組", "担当課", "目標年度"),
    ("行政手続のオンライン化", "DX推進課", "令和9年度"),
    ("窓口のキャッシュレス決済", "市民課", "令和10年度"),
)


def make_docx(path: Path, *, headings: bool = True) -> Path:
    """A Japanese Word document; `headings` False writes the headings as plain numbered paragraphs."""
    import docx

    document = docx.Document()
    document.core_properties.title = DOCX_TITLE

    def heading(text: str, level: int) -> None:
        if headings:
            document.add_heading(text, level=level)
        else:
            document.add_paragraph(text)

    heading("第1章 計画の概要", 1)
    document.add_paragraph("本計画は、市民の利便性向上と行政運営の効率化を目的とする。")
    heading("計画の期間" if headings else "1 計画の期間", 2)
    document.add_paragraph("計画期間は令和9年度から令和14年度までの6年間とする。")
    heading("第2章 主な取組", 1)
    document.add_paragraph("主な取組と担当課は次の表のとおり")
    table = document.add_table(rows=0, cols=3)
    for row in DOCX_ROWS:
        cells = table.add_row().cells
        for cell, text in zip(cells, row, strict=True):
            cell.text = text
    document.add_paragraph("詳細は別紙")
    document.add_paragraph("のとおり")  # a short kana paragraph after kanji: kept (not PDF furigana)
    document.save(str(path))
    return path


def make_empty_docx(path: Path) -> Path:
    """A valid Word document whose only paragraph is blank."""
    import docx

    document = docx.Document()
    document.add_paragraph("   ")
    document.save(str(path))
    return path


def make_encrypted_docx(path: Path, password: str = "secret") -> Path:
    """A password-protected Word document, encrypted as Word does it (an OLE file holding the package)."""
    import io

    import msoffcrypto.format.ooxml

    plain = make_docx(path.with_name(path.stem + "-plain.docx"))
    with open(plain, "rb") as src, open(path, "wb") as out:
        msoffcrypto.format.ooxml.OOXMLFile(io.BytesIO(src.read())).encrypt(password, out)
    plain.unlink()
    return path
