"""Word (.docx): paragraphs and table rows in document order as one block, read by python-docx.

Heading styles (Heading 1–9, or an outline level on the paragraph or its style) become the section
path: their lines and depths travel in the block's HEADINGS_META, so the chunker need not guess them
from numbering. A document without heading styles falls back to the numbering schemes (ingest/headings.py).
A table row becomes one line of its cells joined by " | ", under the heading it follows.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from assistant.config import IngestSettings
from assistant.types import Block, LoadedDocument, SourceInfo
from ingest.loaders.base import (
    HEADINGS_META,
    MIB,
    TITLE_MAX,
    BlockFlags,
    Message,
    check_doc_chars,
    file_source,
    ingest_error,
    read_bytes,
)

_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # a compound file: an encrypted .docx, or a .doc
_ENCRYPTED_STREAM = "EncryptedPackage".encode("utf-16-le")
_MAIN_PART = "word/document.xml"
_MAX_INFLATE = 50  # a part may inflate to this many times the file-size limit before it counts as a bomb
_HEADING_STYLE = re.compile(r"^heading\s*([1-9])$", re.IGNORECASE)
_BREAKS = re.compile(r"[\r\n\v\f\x1c-\x1e\x85\u2028\u2029]+")
_CELL_SEP = " | "

MESSAGES: dict[str, Message] = {
    "corrupt_docx": Message(
        "corrupt",
        "not a readable Word document ({why})",
        "Word文書（.docx）として読み込めません（ファイルが壊れているか、.docx形式ではありません）",
        "Open it in Word and save it again as a Word document (.docx), then ingest the new file.",
        "Wordで開き、Word文書（.docx）として保存し直してから取り込んでください。",
    ),
    "legacy_doc": Message(
        "unsupported",
        "this is an old-format Word file (.doc, Word 97-2003) named .docx",
        "旧形式のWord文書（.doc、Word 97-2003形式）です",
        "Open it in Word and save it as a Word document (.docx), then ingest the new file.",
        "Wordで開き、Word文書（.docx）として保存し直してから取り込んでください。",
    ),
    "encrypted_docx": Message(
        "encrypted",
        "the Word document is password-protected (encrypted) and cannot be read",
        "Word文書がパスワードで保護（暗号化）されているため読み込めません",
        "Remove the password in Word (File > Info > Protect Document) and save a copy, then ingest that.",
        "Wordの「ファイル > 情報 > 文書の保護」でパスワードを解除して保存し直してから取り込んでください。",
    ),
    "empty_docx": Message(
        "empty",
        "the Word document has no text (no paragraphs or table cells with text)",
        "Word文書に本文がありません（文字の入った段落・表がありません）",
        "Check that the right file was chosen; text only in images or text boxes is not read.",
        "取り込むファイルが正しいか確認してください。画像やテキストボックス内の文字は読み込みません。",
    ),
}


def _is_docx_zip(data: bytes | Path) -> bool:
    try:
        with zipfile.ZipFile(io.BytesIO(data) if isinstance(data, bytes) else data) as zf:
            return _MAIN_PART in zf.namelist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return False


class DocxLoader:
    """Paragraphs and table rows as lines of one block; heading styles give the section path."""

    kind = "docx"
    suffixes = frozenset({".docx"})
    label = "Word (.docx)"
    label_ja = "Word（.docx）"
    flags = BlockFlags(wrapped_lines=False)

    def sniff(self, path: Path, head: bytes) -> bool:
        return head.startswith(_ZIP_MAGIC) and _is_docx_zip(path)

    def load(self, path: Path, source: SourceInfo | None, settings: IngestSettings) -> LoadedDocument:
        data = read_bytes(path)
        if data.startswith(_OLE_MAGIC):
            encrypted = _ENCRYPTED_STREAM in data
            raise ingest_error(path, MESSAGES["encrypted_docx" if encrypted else "legacy_doc"])
        document = _open(path, data, settings)
        lines, headings, title = _lines(document)
        text = "\n".join(lines)
        if not text.strip():
            raise ingest_error(path, MESSAGES["empty_docx"])
        check_doc_chars(path, text, settings)
        meta = {HEADINGS_META: json.dumps(headings)} if headings else {}
        core_title = (document.core_properties.title or "").strip()
        return LoadedDocument(
            source=source or file_source(path, (core_title or title)[:TITLE_MAX]),
            path=path,
            sha256=hashlib.sha256(data).hexdigest(),
            kind="docx",
            blocks=(Block(text=text, page=None, meta=dict(meta)),),
        )


def _open(path: Path, data: bytes, settings: IngestSettings) -> Any:
    """The python-docx Document; a damaged file, a bomb or another Office format is an IngestError."""
    import docx  # here, not at import: lxml and python-docx load only when a Word file is read

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            names = zf.namelist()
            inflated = sum(info.file_size for info in zf.infolist())
    except zipfile.BadZipFile as exc:
        raise ingest_error(path, MESSAGES["corrupt_docx"], why=f"not a zip archive: {exc}") from exc
    if _MAIN_PART not in names:
        raise ingest_error(path, MESSAGES["corrupt_docx"], why=f"no {_MAIN_PART} in the archive")
    if inflated > _MAX_INFLATE * settings.max_file_mib * MIB:
        raise ingest_error(path, MESSAGES["corrupt_docx"], why=f"its parts inflate to {inflated / MIB:.0f} MiB")
    try:
        return docx.Document(io.BytesIO(data))
    except Exception as exc:  # python-docx and lxml raise many kinds (KeyError, ValueError, XMLSyntaxError …)
        raise ingest_error(path, MESSAGES["corrupt_docx"], why=f"{type(exc).__name__}: {exc}") from exc


def _lines(document: Any) -> tuple[list[str], list[list[int]], str]:
    """The text lines, [[raw offset, depth]] of the heading lines, and the first heading (or Title)."""
    lines: list[str] = []
    headings: list[list[int]] = []
    title = ""
    offset = 0
    for kind, depth, line in _items(document):
        if not line:
            continue
        if kind == "title" or (depth and not title):
            title = title or line
        if depth:
            headings.append([offset, depth])
        lines.append(line)
        offset += len(line) + 1
    return lines, headings, title


def _items(document: Any) -> Iterator[tuple[str, int, str]]:
    """(kind, heading depth or 0, text) per paragraph and per table row, in document order."""
    from docx.table import Table

    for item in document.iter_inner_content():
        if isinstance(item, Table):
            for row in _rows(item):
                yield "row", 0, row
            continue
        text = _one_line(item.text)
        style = item.style.name if item.style is not None else ""
        yield ("title" if style == "Title" else "paragraph"), _heading_depth(item), text


def _rows(table: Any) -> Iterator[str]:
    """Each row as "cell | cell"; a merged cell counts once, a nested table's text joins its cell."""
    for row in table.rows:
        cells: list[str] = []
        seen: set[int] = set()
        for cell in row.cells:
            if id(cell._tc) in seen:
                continue
            seen.add(id(cell._tc))
            cells.append(_one_line(" ".join(p.text for p in cell.paragraphs)))
        if any(cells):
            yield _CELL_SEP.join(cells)


def _heading_depth(paragraph: Any) -> int:
    """1–9 for a heading (an outline level on the paragraph or its style chain, or a Heading N style)."""
    from docx.oxml.ns import qn

    level = _outline_level(paragraph._p.pPr, qn)
    style = paragraph.style
    while level is None and style is not None:
        m = _HEADING_STYLE.match(style.name or "")
        level = int(m.group(1)) - 1 if m else _outline_level(style.element.pPr, qn)
        style = style.base_style
    return level + 1 if level is not None and 0 <= level <= 8 else 0


def _outline_level(ppr: Any, qn: Any) -> int | None:
    node = None if ppr is None else ppr.find(qn("w:outlineLvl"))
    value = None if node is None else node.get(qn("w:val"))
    return int(value) if value is not None and value.isdigit() else None


def _one_line(text: str) -> str:
    """A paragraph or cell as one line: soft breaks and tabs become spaces, the ends are stripped."""
    return " ".join(_BREAKS.sub(" ", text).replace("\t", " ").split())
