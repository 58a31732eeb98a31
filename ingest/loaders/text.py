"""Plain text and Markdown: one block, decoded from UTF-8, UTF-16 (with a BOM) or Shift_JIS.

Markdown keeps its markup (headings, lists and table rows are structure for normalisation and chunking),
except the inline HTML that document converters leave in it (pandoc's figures, line breaks in table cells),
which would otherwise be indexed and quoted as text: a figure keeps its caption as a line of its own. Its
blank lines end paragraphs (BlockFlags.paragraphs); in plain text they do not (extracted text has blank
lines inside sentences). Its footnote definitions (「[^1]: 情報通信技術を活用した…」) move to the end as
footnote lines (「1 情報通信技術を活用した…」, as a PDF page prints them), where NOTES_AT_META says they begin:
chunking links each to the chunks that cite it (「デジタル手続法[^1]」), instead of filing them as sentences of
whatever section ends the file.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from pathlib import Path

from assistant.config import IngestSettings
from assistant.types import NOTES_AT_META, Block, LoadedDocument, SourceInfo
from ingest.digest import SPANS_META, is_digest, prepare_digest
from ingest.loaders.base import (
    BlockFlags,
    Message,
    check_doc_chars,
    file_source,
    first_line_title,
    ingest_error,
    read_bytes,
)

MESSAGES: dict[str, Message] = {
    "blank_text": Message(
        "empty",
        "the file contains only whitespace",
        "ファイルに本文がありません（空白のみです）",
        "Check that the right file was chosen.",
        "取り込むファイルが正しいか確認してください。",
    ),
    "undecodable": Message(
        "unreadable",
        "the text encoding could not be recognised (tried UTF-8 and Shift_JIS)",
        "文字コードを判別できないため読み込めません（UTF-8とShift_JISを試しました）",
        "Open it in a text editor and save it as UTF-8.",
        "テキストエディタで開き、UTF-8で保存し直してください。",
    ),
}


# [^<]* (not .*?): a caption holds no tag, and an unclosed <figcaption> costs one scan to the next "<"
_FIGCAPTION = re.compile(r"[ \t]*<figcaption\b[^<>]*>([^<]*)</figcaption>[ \t]*", re.I)
_BREAK = re.compile(r"<br\s*/?>", re.I)
_TAG = re.compile(r"</?(?:figure|figcaption|img|picture|source|span|div|p|u|sup|sub)\b[^<>]*>", re.I)
_AUTOLINK = re.compile(r"<((?:https?|mailto):[^<>\s]+)>")
# a numbered footnote definition; its continuation lines are indented
_FOOTNOTE_DEF = re.compile(r"^\[\^(\d{1,3})\]:[ \t]*(.*)$")


def strip_inline_html(text: str) -> str:
    """Markdown without the inline HTML of converters: <img> and <figure> go, a <figcaption> becomes its own
    line, <br> in a table cell a space (the row stays one line), an autolink <https://…> its address."""
    text = _FIGCAPTION.sub(lambda m: f"\n{m.group(1).strip()}\n", text)
    text = _BREAK.sub(" ", text)
    text = _TAG.sub("", text)
    return _AUTOLINK.sub(r"\1", text)


def move_footnotes(text: str) -> tuple[str, int | None]:
    """Markdown with its numbered footnote definitions moved to the end, one line each, as a printed page
    has them (「[^1]: 情報通信技術…」 → 「1 情報通信技術…」), and the offset where they begin; (text, None) when
    it has none. A definition's indented continuation lines join its line."""
    lines = text.split("\n")
    body: list[str] = []
    notes: list[str] = []
    i = 0
    while i < len(lines):
        m = _FOOTNOTE_DEF.match(lines[i])
        i += 1
        if m is None:
            body.append(lines[i - 1])
            continue
        parts = [m.group(2).strip()]
        while i < len(lines) and lines[i].startswith(("    ", "\t")) and lines[i].strip():
            parts.append(lines[i].strip())
            i += 1
        note = " ".join(p for p in parts if p)
        if note:
            notes.append(f"{m.group(1)} {note}")
    if not notes:
        return text, None
    head = "\n".join(body).rstrip() + "\n\n"
    return head + "\n\n".join(notes) + "\n", len(head)  # a paragraph each: lines are not rejoined


class TextLoader:
    """The whole file as one block; our own digests (ingest/digest.py) keep their statements only."""

    kind = "text"
    suffixes = frozenset({".txt"})
    label = "text (.txt)"
    label_ja = "テキスト（.txt）"
    flags = BlockFlags()

    def sniff(self, path: Path, head: bytes) -> bool:
        return False  # text has no signature: only its name says so

    def prepare(self, text: str) -> str:
        """The decoded text as it is indexed: plain text as written."""
        return text

    def block(self, text: str) -> Block:
        """The prepared text as one block."""
        return Block(text=text, page=None)

    def load(self, path: Path, source: SourceInfo | None, settings: IngestSettings) -> LoadedDocument:
        data = read_bytes(path)
        text = _decode(path, data)
        if not text.strip():
            raise ingest_error(path, MESSAGES["blank_text"])
        check_doc_chars(path, text, settings)
        text = self.prepare(text)
        if is_digest(text):  # our own digest: index its statements, not its bookkeeping (ingest/digest.py)
            digest = prepare_digest(text)
            block = Block(text=digest.text, page=None, meta={SPANS_META: digest.spans_json()})
        else:
            block = self.block(text)
        return LoadedDocument(
            source=source or file_source(path, first_line_title(text)),
            path=path,
            sha256=hashlib.sha256(data).hexdigest(),
            kind=self.kind,
            blocks=(block,),
        )


class MarkdownLoader(TextLoader):
    """Markdown: read like text, without the converters' inline HTML; a blank line ends a paragraph."""

    kind = "markdown"
    suffixes = frozenset({".md", ".markdown"})
    label = "Markdown (.md)"
    label_ja = "Markdown（.md）"
    flags = BlockFlags(paragraphs=True)

    def prepare(self, text: str) -> str:
        return strip_inline_html(text)

    def block(self, text: str) -> Block:
        """One block, its footnote definitions at the end (NOTES_AT_META: where they begin)."""
        body, notes_at = move_footnotes(text)
        return Block(text=body, page=None, meta={} if notes_at is None else {NOTES_AT_META: notes_at})


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
    raise ingest_error(path, MESSAGES["undecodable"])


def _looks_like_text(text: str) -> bool:
    """cp932 decodes almost any bytes; binary shows up as control and private-use characters."""
    odd = sum(1 for ch in text if unicodedata.category(ch) in ("Cc", "Co") and ch not in "\t\n\r\f")
    return odd <= max(2, len(text) // 100)
