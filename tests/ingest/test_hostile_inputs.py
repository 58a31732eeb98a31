"""Hostile or unusual inputs that used to be refused wrongly: an AES PDF that any viewer opens (empty
user password), and a text file that mentions "%PDF-1.7" near its start."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.config import IngestSettings
from assistant.errors import IngestError
from ingest.loaders import load_document
from tests.factories import make_aes_owner_only_pdf, make_pdf


def test_aes_pdf_with_only_an_owner_password_opens(tmp_path: Path) -> None:
    path = make_aes_owner_only_pdf(tmp_path / "restricted-aes.pdf")
    assert b"/AESV3" in path.read_bytes()  # really AES-256, which pypdf reads only with `cryptography`
    doc = load_document(path, None, IngestSettings())
    assert "閲覧制限だけがかかった文書です" in doc.blocks[0].text.replace("\n", "")


def test_aes_pdf_with_a_user_password_is_still_refused(tmp_path: Path) -> None:
    from pypdf import PdfReader, PdfWriter

    path = make_pdf(tmp_path / "locked.pdf", ["秘密の文書です。"])
    writer = PdfWriter(clone_from=PdfReader(path))
    writer.encrypt(user_password="secret", owner_password="owner", algorithm="AES-256")
    with open(path, "wb") as fh:
        writer.write(fh)
    with pytest.raises(IngestError) as info:
        load_document(path, None, IngestSettings())
    assert info.value.kind == "encrypted" and "パスワードが必要です" in info.value.message_ja
    assert "cryptography" not in info.value.message_ja


def test_a_text_file_that_mentions_the_pdf_header_is_text(tmp_path: Path) -> None:
    path = tmp_path / "pdf-notes.txt"
    path.write_text("PDFの仕様メモ\nファイルの先頭は %PDF-1.7 で始まる。\n本文は以上。\n", encoding="utf-8")
    doc = load_document(path, None, IngestSettings())
    assert doc.kind == "text" and "%PDF-1.7" in doc.blocks[0].text


@pytest.mark.parametrize("prefix", [b"", b"\xef\xbb\xbf", b"\r\n  \t"])
def test_a_pdf_is_recognised_at_the_start_whatever_its_name(tmp_path: Path, prefix: bytes) -> None:
    pdf = make_pdf(tmp_path / "real.pdf", ["名前が違うPDFです。"])
    misnamed = tmp_path / "notes.txt"
    misnamed.write_bytes(prefix + pdf.read_bytes())
    assert load_document(misnamed, None, IngestSettings()).kind == "pdf"


def test_a_pdf_named_pdf_may_carry_its_header_later_in_the_first_kb(tmp_path: Path) -> None:
    pdf = make_pdf(tmp_path / "real.pdf", ["前置きのあるPDFです。"])
    prefixed = tmp_path / "prefixed.pdf"
    prefixed.write_bytes(b"junk written by a mail gateway\n" + pdf.read_bytes())
    assert load_document(prefixed, None, IngestSettings()).kind == "pdf"
