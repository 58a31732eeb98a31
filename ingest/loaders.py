"""Read one file (PDF, text/Markdown, GeoPackage) into a LoadedDocument of raw Blocks.

PDFs are parsed by ingest/pdf.py in a child process under a time and memory limit; GeoPackages by
fudgeo here. Every failure becomes an IngestError that names the file, says what went wrong in English
and Japanese and what to do; loaders never write anything.
"""

from __future__ import annotations

import hashlib
import logging
import math
import re
import sqlite3
import unicodedata
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal

from fudgeo.geopkg import FeatureClass, GeoPackage, Table

from assistant.config import IngestSettings
from assistant.errors import IngestError
from assistant.types import PAGE_LABEL_META, Block, LoadedDocument, MetaValue, SourceInfo
from ingest.digest import SPANS_META, is_digest, prepare_digest
from ingest.pdf import PdfFailure, printed_page_labels, read_pdf

logger = logging.getLogger(__name__)

PDF_SUFFIXES = frozenset({".pdf"})
TEXT_SUFFIXES = frozenset({".txt", ".md", ".markdown"})
GPKG_SUFFIXES = frozenset({".gpkg"})
SUPPORTED_SUFFIXES = PDF_SUFFIXES | TEXT_SUFFIXES | GPKG_SUFFIXES

_PDF_MAGIC = b"%PDF-"
_SQLITE_MAGIC = b"SQLite format 3\x00"
_SNIFF_BYTES = 1024  # the PDF spec lets the header sit anywhere in the first 1024 bytes
_LEADING_JUNK = b" \t\r\n\f\x00"  # what may stand before %PDF- in a file that is not named .pdf
_UTF8_BOM = b"\xef\xbb\xbf"
_MB = 1024 * 1024
_TITLE_MAX = 200
_DOC_ID_MAX = 60  # room for "-" and an 8-digit path hash within 80 characters
_PLACEHOLDER_TITLES = frozenset({"untitled", "no title", "無題", "タイトルなし"})  # generator defaults, not titles

# Every user-facing message in one place: key -> (kind, English, Japanese, hint, Japanese hint).
_MESSAGES: dict[str, tuple[str, str, str, str, str]] = {
    "no_access": (
        "unreadable",
        "cannot read the file ({why})",
        "ファイルを読み込めません（{why}）",
        "Check the path and the file permissions.",
        "パスとアクセス権を確認してください。",
    ),
    "not_file": (
        "unreadable",
        "not a regular file",
        "通常のファイルではありません",
        "Give the path of a file, not a folder.",
        "フォルダではなくファイルを指定してください。",
    ),
    "too_big": (
        "too_large",
        "the file is {mb:.1f} MB, over the limit of {limit:g} MB",
        "ファイルサイズ（{mb:.1f} MB）が上限（{limit:g} MB）を超えています",
        "Split the file, or raise ingest.max_file_mb (DXA_INGEST__MAX_FILE_MB).",
        "ファイルを分割するか、設定 ingest.max_file_mb（環境変数 DXA_INGEST__MAX_FILE_MB）を引き上げてください。",
    ),
    "too_many_pages": (
        "too_large",
        "the PDF has {n} pages, over the limit of {limit}",
        "ページ数（{n}ページ）が上限（{limit}ページ）を超えています",
        "Split the PDF, or raise ingest.max_pages (DXA_INGEST__MAX_PAGES).",
        "PDFを分割するか、設定 ingest.max_pages（環境変数 DXA_INGEST__MAX_PAGES）を引き上げてください。",
    ),
    "zero_bytes": (
        "empty",
        "the file is empty (0 bytes)",
        "ファイルが空です（0バイト）",
        "Check that the file was saved or downloaded completely, then ingest it again.",
        "ファイルが正しく保存・ダウンロードされているか確認し、取り込み直してください。",
    ),
    "not_pdf": (
        "not_pdf",
        "the name ends in .pdf but the content is not a PDF",
        "拡張子は .pdf ですが、中身がPDFではありません",
        "Get a genuine PDF, or rename the file to match its real format.",
        "正しいPDFを入手し直すか、実際の形式に合った拡張子に変更してください。",
    ),
    "unsupported": (
        "unsupported",
        "unsupported file type ({suffix})",
        "対応していないファイル形式です（{suffix_ja}）",
        "Convert it to PDF, text (.txt, .md) or GeoPackage (.gpkg).",
        "PDF、テキスト（.txt、.md）、GeoPackage（.gpkg）のいずれかに変換してから取り込んでください。",
    ),
    "encrypted": (
        "encrypted",
        "the PDF is encrypted and cannot be read: {why}",
        "PDFが暗号化されているため読み込めません（{why_ja}）",
        "Save an unencrypted copy (remove the password) and ingest that.",
        "パスワードを解除したPDFを保存し直してから取り込んでください。",
    ),
    "corrupt_pdf": (
        "corrupt",
        "the PDF is damaged and cannot be read ({why})",
        "PDFが壊れているため読み込めません",
        "Download the original again, or open it in a PDF viewer and save a new copy.",
        "元のファイルを入手し直すか、PDF閲覧ソフトで開いて別名で保存し直してください。",
    ),
    "pdf_timeout": (
        "too_large",
        "reading the PDF took longer than {limit:g} s and was stopped",
        "PDFの読み込みが制限時間（{limit:g}秒）を超えたため中止しました",
        "The file may be damaged or unusually complex: open it in a PDF viewer and save (or print to PDF) a new "
        "copy, or raise ingest.pdf_time_limit_s (DXA_INGEST__PDF_TIME_LIMIT_S).",
        "ファイルが壊れているか、構造が極端に複雑な可能性があります。PDF閲覧ソフトで開いて別名で保存（またはPDFに印刷）し直すか、"
        "設定 ingest.pdf_time_limit_s（環境変数 DXA_INGEST__PDF_TIME_LIMIT_S）を引き上げてください。",
    ),
    "pdf_memory": (
        "too_large",
        "reading the PDF needed more memory than the limit allows",
        "PDFの読み込みに必要なメモリが上限を超えたため中止しました",
        "The file may hold a decompression bomb or huge images: save a new copy from a PDF viewer, or raise "
        "ingest.pdf_memory_mb (DXA_INGEST__PDF_MEMORY_MB).",
        "圧縮爆弾や巨大な画像を含む可能性があります。PDF閲覧ソフトで別名で保存し直すか、"
        "設定 ingest.pdf_memory_mb（環境変数 DXA_INGEST__PDF_MEMORY_MB）を引き上げてください。",
    ),
    "pdf_crash": (
        "corrupt",
        "the PDF reader stopped unexpectedly ({why})",
        "PDFの読み込み処理が異常終了しました",
        "Open it in a PDF viewer and save a new copy, then ingest that.",
        "PDF閲覧ソフトで開いて別名で保存し直してから取り込んでください。",
    ),
    "page_text_limit": (
        "too_large",
        "page {page} yields over {n:,} characters of text, more than the limit of {limit:,} per page",
        "{page}ページ目から取り出した文字数（{n:,}字超）が1ページの上限（{limit:,}字）を超えたため中止しました",
        "The PDF may draw the same content over and over (e.g. one form repeated): save a new copy from a PDF "
        "viewer and check its text, or raise ingest.max_page_chars (DXA_INGEST__MAX_PAGE_CHARS).",
        "同じ内容を何度も描画するPDFの可能性があります。PDF閲覧ソフトで別名で保存し直して本文を確認するか、"
        "設定 ingest.max_page_chars（環境変数 DXA_INGEST__MAX_PAGE_CHARS）を引き上げてください。",
    ),
    "doc_text_limit": (
        "too_large",
        "the file yields over {n:,} characters of text, more than the limit of {limit:,} per document",
        "取り出した文字数（{n:,}字超）が1文書の上限（{limit:,}字）を超えたため中止しました",
        "Split the document, or raise ingest.max_doc_chars (DXA_INGEST__MAX_DOC_CHARS).",
        "文書を分割するか、設定 ingest.max_doc_chars（環境変数 DXA_INGEST__MAX_DOC_CHARS）を引き上げてください。",
    ),
    "too_many_chunks": (
        "too_large",
        "the document would become {n:,} chunks, over the limit of {limit:,}",
        "チャンク数（{n:,}件）が1文書の上限（{limit:,}件）を超えるため登録しません",
        "Split the document, or raise ingest.max_chunks (DXA_INGEST__MAX_CHUNKS).",
        "文書を分割するか、設定 ingest.max_chunks（環境変数 DXA_INGEST__MAX_CHUNKS）を引き上げてください。",
    ),
    "no_text": (
        "no_text",
        "the PDF has no text layer (image-only, e.g. a scan)",
        "PDFに文字情報がありません（スキャンした画像だけのPDFです）",
        "Run OCR on it first (e.g. Acrobat 'Recognize Text' or ocrmypdf), then ingest the result.",
        "先にOCR（文字認識）をかけて文字情報付きのPDFにしてから取り込んでください。",
    ),
    "blank_text": (
        "empty",
        "the file contains only whitespace",
        "ファイルに本文がありません（空白のみです）",
        "Check that the right file was chosen.",
        "取り込むファイルが正しいか確認してください。",
    ),
    "undecodable": (
        "unreadable",
        "the text encoding could not be recognised (tried UTF-8 and Shift_JIS)",
        "文字コードを判別できないため読み込めません（UTF-8とShift_JISを試しました）",
        "Open it in a text editor and save it as UTF-8.",
        "テキストエディタで開き、UTF-8で保存し直してください。",
    ),
    "corrupt_gpkg": (
        "corrupt",
        "not a readable GeoPackage ({why})",
        "GeoPackageとして読み込めません（ファイルが壊れているか、GeoPackage形式ではありません）",
        "Export the data again as GeoPackage (e.g. from QGIS) and ingest the new file.",
        "QGISなどでGeoPackage形式に書き出し直してから取り込んでください。",
    ),
    "empty_gpkg": (
        "empty",
        "the GeoPackage has no features or rows",
        "GeoPackageに地物・レコードが1件もありません",
        "Check that the layers were exported together with their data.",
        "レイヤをデータ入りで書き出したか確認してください。",
    ),
}


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file's bytes, read in blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(_MB), b""):
            digest.update(block)
    return digest.hexdigest()


def load_document(path: Path, source: SourceInfo | None, settings: IngestSettings) -> LoadedDocument:
    """Read `path` into blocks; `source` None derives doc_id and title from the file itself."""
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise ingest_error(path, "no_access", why=exc.strerror) from exc
    if not path.is_file():
        raise ingest_error(path, "not_file")
    # Size comes from the directory entry: an oversized file is refused before a byte of it is read.
    if size > settings.max_file_mb * _MB:
        raise ingest_error(path, "too_big", mb=size / _MB, limit=settings.max_file_mb)
    kind = _detect_kind(path)
    if size == 0:
        raise ingest_error(path, "zero_bytes")
    if kind == "gpkg":
        return _load_gpkg(path, source)
    data = _read_bytes(path)
    if kind == "pdf":
        return _load_pdf(path, data, source, settings)
    return _load_text(path, data, source, settings)


def _detect_kind(path: Path) -> Literal["pdf", "text", "gpkg"]:
    """Content first (a PDF is a PDF whatever its name), then the suffix."""
    suffix = path.suffix.lower()
    head = _read_bytes(path, _SNIFF_BYTES)
    if _starts_as_pdf(head) or (suffix in PDF_SUFFIXES and _PDF_MAGIC in head):
        return "pdf"
    if suffix in PDF_SUFFIXES:
        if not head:
            return "pdf"  # zero bytes: reported as empty by the caller
        raise ingest_error(path, "not_pdf")
    if suffix in GPKG_SUFFIXES:
        return "gpkg"
    if suffix in TEXT_SUFFIXES:
        return "text"
    raise ingest_error(path, "unsupported", suffix=suffix or "no suffix", suffix_ja=suffix or "拡張子なし")


def _starts_as_pdf(head: bytes) -> bool:
    """A PDF by content: %PDF- at the very start, after at most a BOM and whitespace. A text file that
    merely mentions "%PDF-1.7" in its first lines is text; only a file named .pdf may carry the header
    later in its first KB (as the PDF spec allows)."""
    head = head.removeprefix(_UTF8_BOM).lstrip(_LEADING_JUNK)
    return head.startswith(_PDF_MAGIC)


# --- PDF --------------------------------------------------------------------------------------------


def _load_pdf(path: Path, data: bytes, source: SourceInfo | None, settings: IngestSettings) -> LoadedDocument:
    try:
        pages, title, labels = read_pdf(
            data,
            max_pages=settings.max_pages,
            time_limit_s=settings.pdf_time_limit_s,
            memory_mb=settings.pdf_memory_mb,
            max_page_chars=settings.max_page_chars,
            max_doc_chars=settings.max_doc_chars,
        )
    except PdfFailure as failure:
        raise ingest_error(path, failure.key, **failure.values) from failure
    if not any(text.strip() for text in pages):
        raise ingest_error(path, "no_text")
    title = "" if title.lower() in _PLACEHOLDER_TITLES else title[:_TITLE_MAX]
    return LoadedDocument(
        source=source or _derive_source(path, title),
        path=path,
        sha256=hashlib.sha256(data).hexdigest(),
        kind="pdf",
        blocks=tuple(
            Block(text=text, page=i + 1, meta={PAGE_LABEL_META: label} if label else {})
            for i, (text, label) in enumerate(zip(pages, labels or printed_page_labels(pages), strict=True))
        ),
        pages=len(pages),
    )


# --- Text -------------------------------------------------------------------------------------------


def _load_text(path: Path, data: bytes, source: SourceInfo | None, settings: IngestSettings) -> LoadedDocument:
    text = _decode(path, data)
    if not text.strip():
        raise ingest_error(path, "blank_text")
    if settings.max_doc_chars and len(text) > settings.max_doc_chars:
        raise ingest_error(path, "doc_text_limit", page=1, n=len(text), limit=settings.max_doc_chars)
    block = Block(text=text, page=None)
    if is_digest(text):  # our own digest: index its statements, not its bookkeeping (ingest/digest.py)
        digest = prepare_digest(text)
        block = Block(text=digest.text, page=None, meta={SPANS_META: digest.spans_json()})
    return LoadedDocument(
        source=source or _derive_source(path, _text_title(text)),
        path=path,
        sha256=hashlib.sha256(data).hexdigest(),
        kind="text",
        blocks=(block,),
    )


def _decode(path: Path, data: bytes) -> str:
    """UTF-8 (BOM or not), UTF-16 with a BOM, then cp932 (Shift_JIS as Windows writes it)."""
    encodings = ["utf-16"] if data.startswith((b"\xff\xfe", b"\xfe\xff")) else ["utf-8-sig", "cp932"]
    for encoding in encodings:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if _looks_like_text(text):
            return text.replace("\r\n", "\n").replace("\r", "\n")
    raise ingest_error(path, "undecodable")


def _looks_like_text(text: str) -> bool:
    """cp932 decodes almost any bytes; binary shows up as control and private-use characters."""
    odd = sum(1 for ch in text if unicodedata.category(ch) in ("Cc", "Co") and ch not in "\t\n\r\f")
    return odd <= max(2, len(text) // 100)


def _text_title(text: str) -> str:
    for line in text.splitlines():
        line = re.sub(r"<!--.*?-->", "", line).strip().lstrip("#").strip()
        if line:
            return line[:_TITLE_MAX]
    return ""


# --- GeoPackage -------------------------------------------------------------------------------------


class _ReadOnlyGeoPackage(GeoPackage):  # type: ignore[misc]
    """fudgeo's GeoPackage opened read-only: a loader must never create or modify the file."""

    def _configure_connection(self, db: str) -> None:
        uri = f"{Path(db).resolve().as_uri()}?mode=ro"
        conn = sqlite3.connect(uri, uri=True, detect_types=sqlite3.PARSE_DECLTYPES | sqlite3.PARSE_COLNAMES)
        self._register_functions(conn)  # fudgeo's geometry converters and ST_ functions
        self._conn = conn


def _load_gpkg(path: Path, source: SourceInfo | None) -> LoadedDocument:
    if not _read_bytes(path, len(_SQLITE_MAGIC)).startswith(_SQLITE_MAGIC):
        raise ingest_error(path, "corrupt_gpkg", why="not an SQLite database")
    gpkg = _ReadOnlyGeoPackage(path)
    try:
        blocks = tuple(_gpkg_blocks(gpkg))
    except Exception as exc:  # sqlite3.Error, or fudgeo failing on a malformed geometry blob
        raise ingest_error(path, "corrupt_gpkg", why=f"{type(exc).__name__}: {exc}") from exc
    finally:
        if gpkg._conn is not None:
            gpkg._conn.close()
    if not blocks:
        raise ingest_error(path, "empty_gpkg")
    return LoadedDocument(
        source=source or _derive_source(path, ""),
        path=path,
        sha256=sha256_file(path),
        kind="gpkg",
        blocks=blocks,
    )


def _gpkg_blocks(gpkg: GeoPackage) -> Iterator[Block]:
    for name, fc in sorted(gpkg.feature_classes.items()):
        yield from _feature_blocks(name, fc)
    for name, table in sorted(gpkg.tables.items()):
        yield from _row_blocks(name, table)


def _feature_blocks(name: str, fc: FeatureClass) -> Iterator[Block]:
    srs = fc.spatial_reference_system
    crs = _crs_label(srs.organization, srs.org_coord_sys_id, srs.srs_id)
    pk = fc.primary_key_field
    special = {fc.geometry_column_name, pk.name if pk is not None else None}
    fields = [f for f in fc.fields if f.name not in special]
    # Row layout from fudgeo's select: geometry, [primary key], fields...
    for n, (geom, *values) in enumerate(fc.select(fields=fields, include_primary=True), start=1):
        fid = values.pop(0) if pk is not None else n
        meta: dict[str, MetaValue] = {
            "layer": name,
            "fid": fid,
            "srs_id": srs.srs_id,
            "crs": crs,
            "geometry": fc.geometry_type,
        }
        lines = [f"レイヤ: {name}", f"fid: {fid}", *_attribute_lines(fields, values, meta)]
        lines += _geometry_lines(geom, crs, meta)
        yield Block(text="\n".join(lines), page=None, meta=meta)


def _row_blocks(name: str, table: Table) -> Iterator[Block]:
    pk = table.primary_key_field
    fields = [f for f in table.fields if pk is None or f.name != pk.name]
    for n, row in enumerate(table.select(fields=fields, include_primary=True), start=1):
        values = list(row)
        fid = values.pop(0) if pk is not None else n
        meta: dict[str, MetaValue] = {"layer": name, "fid": fid}
        lines = [f"テーブル: {name}", f"fid: {fid}", *_attribute_lines(fields, values, meta)]
        yield Block(text="\n".join(lines), page=None, meta=meta)


_RESERVED_META = frozenset({"layer", "fid", "x", "y", "srs_id", "crs", "geometry", "bbox", "center_x", "center_y"})


def _attribute_lines(fields: list[Any], values: list[Any], meta: dict[str, MetaValue]) -> list[str]:
    lines = []
    for field, value in zip(fields, values, strict=False):
        simple = _simple_value(value)
        if simple is None:
            continue
        meta[f"attr:{field.name}" if field.name in _RESERVED_META else field.name] = simple
        lines.append(f"{field.name}: {simple}")
    return lines


def _geometry_lines(geom: Any, crs: str, meta: dict[str, MetaValue]) -> list[str]:
    """Points keep x/y; other shapes get a bounding box and its centre."""
    if geom is None or getattr(geom, "is_empty", False):
        return []
    if hasattr(geom, "x") and hasattr(geom, "y"):
        meta["x"], meta["y"] = float(geom.x), float(geom.y)
        return [f"座標: {_num(geom.x)}, {_num(geom.y)} ({crs})"]
    min_x, min_y, max_x, max_y = (float(v) for v in geom.envelope.bounding_box)
    if any(math.isnan(v) for v in (min_x, min_y, max_x, max_y)):
        return []
    cx, cy = (min_x + max_x) / 2, (min_y + max_y) / 2
    meta["bbox"] = ",".join(_num(v) for v in (min_x, min_y, max_x, max_y))
    meta["center_x"], meta["center_y"] = cx, cy
    return [
        f"範囲: {_num(min_x)}, {_num(min_y)} – {_num(max_x)}, {_num(max_y)} ({crs})",
        f"中心: {_num(cx)}, {_num(cy)} ({crs})",
    ]


def _simple_value(value: Any) -> MetaValue | None:
    if isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return None if math.isnan(value) else value
    if isinstance(value, datetime | date):
        return value.isoformat()
    return None  # NULL, BLOB and anything exotic stays out of text and metadata


def _crs_label(organization: str, org_id: int, srs_id: int) -> str:
    if organization and organization.upper() != "NONE" and org_id > 0:
        return f"{organization.upper()}:{org_id}"
    return f"srs_id:{srs_id}"


def _num(v: float) -> str:
    return f"{v:.6f}".rstrip("0").rstrip(".")


# --- Shared -----------------------------------------------------------------------------------------


def _derive_source(path: Path, title: str) -> SourceInfo:
    return SourceInfo(doc_id=derive_doc_id(path), title=title or path.stem, level="other")


def derive_doc_id(name: Path | str) -> str:
    """The readable part of a document id, from a file name: the NFKC-normalised stem, lower-cased, with
    every run of characters that are not letters or digits made one "-". Japanese stays Japanese
    (厚木市DX計画.pdf → 厚木市dx計画); a name with no letters or digits at all becomes "doc".

    The indexer (ingest.indexer.assign_doc_id) makes it unique per source path.
    """
    stem = unicodedata.normalize("NFKC", Path(name).stem).lower()
    slug = re.sub(r"[\W_]+", "-", stem).strip("-")
    return slug[:_DOC_ID_MAX] or "doc"


def _read_bytes(path: Path, limit: int = -1) -> bytes:
    try:
        with open(path, "rb") as fh:
            return fh.read(limit)
    except OSError as exc:
        raise ingest_error(path, "no_access", why=exc.strerror) from exc


def ingest_error(path: Path, key: str, **values: Any) -> IngestError:
    """The IngestError for message `key` of the table above, naming `path`."""
    kind, message, message_ja, hint, hint_ja = _MESSAGES[key]
    return IngestError(
        str(path),
        message.format(**values),
        message_ja=message_ja.format(**values),
        hint=hint,
        hint_ja=hint_ja,
        kind=kind,
    )
