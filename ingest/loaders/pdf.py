"""PDF: text per physical page, parsed by ingest/pdf.py in a child process under a time and memory limit."""

from __future__ import annotations

import hashlib
from pathlib import Path

from assistant.config import IngestSettings
from assistant.types import PAGE_LABEL_META, Block, LoadedDocument, SourceInfo
from ingest.loaders.base import TITLE_MAX, BlockFlags, Message, file_source, ingest_error, read_bytes
from ingest.pdf import PdfFailure, printed_page_labels, read_pdf

_PDF_MAGIC = b"%PDF-"
_LEADING_JUNK = b" \t\r\n\f\x00"  # what may stand before %PDF- in a file that is not named .pdf
_UTF8_BOM = b"\xef\xbb\xbf"
_PLACEHOLDER_TITLES = frozenset({"untitled", "no title", "無題", "タイトルなし"})  # generator defaults, not titles

# PdfFailure.key (from the parser child) -> message; "doc_text_limit" is a shared one (base.MESSAGES).
MESSAGES: dict[str, Message] = {
    "not_pdf": Message(
        "not_pdf",
        "the name ends in .pdf but the content is not a PDF",
        "拡張子は .pdf ですが、中身がPDFではありません",
        "Get a genuine PDF, or rename the file to match its real format.",
        "正しいPDFを入手し直すか、実際の形式に合った拡張子に変更してください。",
    ),
    "too_many_pages": Message(
        "too_large",
        "the PDF has {n} pages, over the limit of {limit}",
        "ページ数（{n}ページ）が上限（{limit}ページ）を超えています",
        "Split the PDF, or raise ingest.max_pages (DXA_INGEST__MAX_PAGES).",
        "PDFを分割するか、設定 ingest.max_pages（環境変数 DXA_INGEST__MAX_PAGES）を引き上げてください。",
    ),
    "encrypted": Message(
        "encrypted",
        "the PDF is encrypted and cannot be read: {why}",
        "PDFが暗号化されているため読み込めません（{why_ja}）",
        "Save an unencrypted copy (remove the password) and ingest that.",
        "パスワードを解除したPDFを保存し直してから取り込んでください。",
    ),
    "corrupt_pdf": Message(
        "corrupt",
        "the PDF is damaged and cannot be read ({why})",
        "PDFが壊れているため読み込めません",
        "Download the original again, or open it in a PDF viewer and save a new copy.",
        "元のファイルを入手し直すか、PDF閲覧ソフトで開いて別名で保存し直してください。",
    ),
    "pdf_timeout": Message(
        "too_large",
        "reading the PDF took longer than {limit:g} s and was stopped",
        "PDFの読み込みが制限時間（{limit:g}秒）を超えたため中止しました",
        "The file may be damaged or unusually complex: open it in a PDF viewer and save (or print to PDF) a new "
        "copy, or raise ingest.pdf_time_limit_s (DXA_INGEST__PDF_TIME_LIMIT_S).",
        "ファイルが壊れているか、構造が極端に複雑な可能性があります。PDF閲覧ソフトで開いて別名で保存（またはPDFに印刷）し直すか、"
        "設定 ingest.pdf_time_limit_s（環境変数 DXA_INGEST__PDF_TIME_LIMIT_S）を引き上げてください。",
    ),
    "pdf_memory": Message(
        "too_large",
        "reading the PDF needed more memory than the limit allows",
        "PDFの読み込みに必要なメモリが上限を超えたため中止しました",
        "The file may hold a decompression bomb or huge images: save a new copy from a PDF viewer, or raise "
        "ingest.pdf_memory_mib (DXA_INGEST__PDF_MEMORY_MIB).",
        "圧縮爆弾や巨大な画像を含む可能性があります。PDF閲覧ソフトで別名で保存し直すか、"
        "設定 ingest.pdf_memory_mib（環境変数 DXA_INGEST__PDF_MEMORY_MIB）を引き上げてください。",
    ),
    "pdf_crash": Message(
        "corrupt",
        "the PDF reader stopped unexpectedly ({why})",
        "PDFの読み込み処理が異常終了しました",
        "Open it in a PDF viewer and save a new copy, then ingest that.",
        "PDF閲覧ソフトで開いて別名で保存し直してから取り込んでください。",
    ),
    "page_text_limit": Message(
        "too_large",
        "page {page} yields over {n:,} characters of text, more than the limit of {limit:,} per page",
        "{page}ページ目から取り出した文字数（{n:,}字超）が1ページの上限（{limit:,}字）を超えたため中止しました",
        "The PDF may draw the same content over and over (e.g. one form repeated): save a new copy from a PDF "
        "viewer and check its text, or raise ingest.max_page_chars (DXA_INGEST__MAX_PAGE_CHARS).",
        "同じ内容を何度も描画するPDFの可能性があります。PDF閲覧ソフトで別名で保存し直して本文を確認するか、"
        "設定 ingest.max_page_chars（環境変数 DXA_INGEST__MAX_PAGE_CHARS）を引き上げてください。",
    ),
    "no_text": Message(
        "no_text",
        "the PDF has no text layer (image-only, e.g. a scan)",
        "PDFに文字情報がありません（スキャンした画像だけのPDFです）",
        "Run OCR on it first (e.g. Acrobat 'Recognize Text' or ocrmypdf), then ingest the result.",
        "先にOCR（文字認識）をかけて文字情報付きのPDFにしてから取り込んでください。",
    ),
}


def _starts_as_pdf(head: bytes) -> bool:
    """A PDF by content: %PDF- at the very start, after at most a BOM and whitespace. A text file that
    merely mentions "%PDF-1.7" in its first lines is text; only a file named .pdf may carry the header
    later in its first KB (as the PDF spec allows)."""
    head = head.removeprefix(_UTF8_BOM).lstrip(_LEADING_JUNK)
    return head.startswith(_PDF_MAGIC)


class PdfLoader:
    """Pages as blocks (1-based physical page numbers) with their printed page labels."""

    kind = "pdf"
    suffixes = frozenset({".pdf"})
    label = "PDF"
    label_ja = "PDF"
    flags = BlockFlags(page_furniture=True)

    def sniff(self, path: Path, head: bytes) -> bool:
        return _starts_as_pdf(head) or (path.suffix.lower() in self.suffixes and _PDF_MAGIC in head)

    def load(self, path: Path, source: SourceInfo | None, settings: IngestSettings) -> LoadedDocument:
        data = read_bytes(path)
        if _PDF_MAGIC not in data[:1024]:
            raise ingest_error(path, MESSAGES["not_pdf"])
        try:
            pages, title, labels = read_pdf(
                data,
                max_pages=settings.max_pages,
                time_limit_s=settings.pdf_time_limit_s,
                memory_mib=settings.pdf_memory_mib,
                max_page_chars=settings.max_page_chars,
                max_doc_chars=settings.max_doc_chars,
            )
        except PdfFailure as failure:
            raise ingest_error(path, MESSAGES.get(failure.key, failure.key), **failure.values) from failure
        if not any(text.strip() for text in pages):
            raise ingest_error(path, MESSAGES["no_text"])
        title = "" if title.lower() in _PLACEHOLDER_TITLES else title[:TITLE_MAX]
        return LoadedDocument(
            source=source or file_source(path, title),
            path=path,
            sha256=hashlib.sha256(data).hexdigest(),
            kind="pdf",
            blocks=tuple(
                Block(text=text, page=i + 1, meta={PAGE_LABEL_META: label} if label else {})
                for i, (text, label) in enumerate(zip(pages, labels or printed_page_labels(pages), strict=True))
            ),
            pages=len(pages),
        )
