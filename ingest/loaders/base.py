"""What every loader shares: the Loader protocol, the block flags, file helpers and error wording.

A loader reads one file into a LoadedDocument of raw Blocks and never writes anything. Every failure
becomes an IngestError that names the file, says what went wrong in English and Japanese and what to do.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from assistant.config import IngestSettings
from assistant.errors import IngestError
from assistant.types import LoadedDocument, SourceInfo

MIB = 1024 * 1024  # every size limit is in MiB
SNIFF_BYTES = 1024  # what loader_for reads of a file to tell its format by content
TITLE_MAX = 200
# Block meta for a loader that knows its headings (e.g. Word styles): JSON [[raw offset of the heading
# line in Block.text, depth], …]. Those lines are then the block's headings; numbering is not guessed.
HEADINGS_META = "headings"


@dataclass(frozen=True)
class BlockFlags:
    """How normalisation and chunking treat a loader's blocks (instead of branching on the format).

    page_furniture: blocks are printed pages: drop running headers/footers and page numbers, find
      footnotes, and record the page count and printed page label on every chunk.
    wrapped_lines: a line break may be a layout's wrapping (rejoin it, drop furigana lines); off, every
      line is meant (a Word paragraph, a table row, a record's field).
    records: each block is one record (a GeoPackage feature or row): one chunk, whole, whose section
      is its "layer".
    paragraphs: a blank line ends a paragraph (Markdown): the line after it starts a new line even when
      the paragraph before has no sentence end (a caption, a date line, 「**〔キーワード〕**」, a footnote).
    """

    page_furniture: bool = False
    wrapped_lines: bool = True
    records: bool = False
    paragraphs: bool = False


class Loader(Protocol):
    """One file format: the suffixes it is named by, how its content is recognised, how it is read."""

    kind: str  # LoadedDocument.kind and DocumentRecord.kind, e.g. "pdf"
    suffixes: frozenset[str]  # lower-case, with the dot
    label: str  # English name for messages, e.g. "Word (.docx)"
    label_ja: str  # Japanese name for messages and the upload form, e.g. "Word（.docx）"
    flags: BlockFlags

    def sniff(self, path: Path, head: bytes) -> bool:
        """True when the content (`head`: the first SNIFF_BYTES) is this format, whatever the name."""
        ...

    def load(self, path: Path, source: SourceInfo | None, settings: IngestSettings) -> LoadedDocument:
        """The file's blocks; `source` None takes the title from the file (the indexer assigns the id)."""
        ...


@dataclass(frozen=True)
class Message:
    """A user-facing error: its kind (IngestError.kind) and wording; {names} are filled in."""

    kind: str
    en: str
    ja: str
    hint: str
    hint_ja: str


# Errors that are not about one format; each loader keeps its own next to its code.
MESSAGES: dict[str, Message] = {
    "no_access": Message(
        "unreadable",
        "cannot read the file ({why})",
        "ファイルを読み込めません（{why}）",
        "Check the path and the file permissions.",
        "パスとアクセス権を確認してください。",
    ),
    "not_file": Message(
        "unreadable",
        "not a regular file",
        "通常のファイルではありません",
        "Give the path of a file, not a folder.",
        "フォルダではなくファイルを指定してください。",
    ),
    "too_big": Message(
        "too_large",
        "the file is {mib:.1f} MiB, over the limit of {limit:g} MiB",
        "ファイルサイズ（{mib:.1f} MiB）が上限（{limit:g} MiB）を超えています",
        "Split the file, or raise ingest.max_file_mib (DXA_INGEST__MAX_FILE_MIB).",
        "ファイルを分割するか、設定 ingest.max_file_mib（環境変数 DXA_INGEST__MAX_FILE_MIB）を引き上げてください。",
    ),
    "zero_bytes": Message(
        "empty",
        "the file is empty (0 bytes)",
        "ファイルが空です（0バイト）",
        "Check that the file was saved or downloaded completely, then ingest it again.",
        "ファイルが正しく保存・ダウンロードされているか確認し、取り込み直してください。",
    ),
    "unsupported": Message(
        "unsupported",
        "unsupported file type ({suffix})",
        "対応していないファイル形式です（{suffix_ja}）",
        "Convert it to {formats}.",
        "{formats_ja}のいずれかに変換してから取り込んでください。",
    ),
    "doc_text_limit": Message(
        "too_large",
        "the file yields over {n:,} characters of text, more than the limit of {limit:,} per document",
        "取り出した文字数（{n:,}字超）が1文書の上限（{limit:,}字）を超えたため中止しました",
        "Split the document, or raise ingest.max_doc_chars (DXA_INGEST__MAX_DOC_CHARS).",
        "文書を分割するか、設定 ingest.max_doc_chars（環境変数 DXA_INGEST__MAX_DOC_CHARS）を引き上げてください。",
    ),
    "too_many_chunks": Message(
        "too_large",
        "the document would become {n:,} chunks, over the limit of {limit:,}",
        "チャンク数（{n:,}件）が1文書の上限（{limit:,}件）を超えるため登録しません",
        "Split the document, or raise ingest.max_chunks (DXA_INGEST__MAX_CHUNKS).",
        "文書を分割するか、設定 ingest.max_chunks（環境変数 DXA_INGEST__MAX_CHUNKS）を引き上げてください。",
    ),
}


def ingest_error(path: Path, message: str | Message, **values: Any) -> IngestError:
    """The IngestError for `message` (a Message, or the key of a shared one in MESSAGES), naming `path`."""
    m = MESSAGES[message] if isinstance(message, str) else message
    return IngestError(
        str(path),
        m.en.format(**values),
        message_ja=m.ja.format(**values),
        hint=m.hint.format(**values),
        hint_ja=m.hint_ja.format(**values),
        kind=m.kind,
    )


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file's bytes, read in blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(MIB), b""):
            digest.update(block)
    return digest.hexdigest()


def read_bytes(path: Path, limit: int = -1) -> bytes:
    """The file's bytes (the first `limit` of them); an unreadable file is an IngestError."""
    try:
        with open(path, "rb") as fh:
            return fh.read(limit)
    except OSError as exc:
        raise ingest_error(path, "no_access", why=exc.strerror) from exc


def check_doc_chars(path: Path, text: str, settings: IngestSettings) -> None:
    """Refuse a document that yields more text than ingest.max_doc_chars (0 = no bound)."""
    if settings.max_doc_chars and len(text) > settings.max_doc_chars:
        raise ingest_error(path, "doc_text_limit", page=1, n=len(text), limit=settings.max_doc_chars)


def file_source(path: Path, title: str) -> SourceInfo:
    """The source of a file ingested without one: its title (or file name); the indexer assigns doc_id."""
    return SourceInfo(doc_id="", title=title or path.stem, level="other")


def first_line_title(text: str) -> str:
    """The first non-empty line, without Markdown "#" and HTML comments: a text file's title."""
    for line in text.splitlines():
        line = re.sub(r"<!--.*?-->", "", line).strip().lstrip("#").strip()
        if line:
            return line[:TITLE_MAX]
    return ""
