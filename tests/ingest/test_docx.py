"""The Word loader on .docx files that python-docx writes here: heading styles become section paths,
tables stay rows, Japanese text survives; broken, encrypted and empty files are refused with a clear
Japanese error through the real indexer, and the index keeps what it had."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import pytest

from assistant.pipeline import Pipeline
from ingest.chunk import chunk_document
from ingest.indexer import ingest_paths
from ingest.loaders import load_document
from tests.factories import DOCX_ROWS, DOCX_TITLE, make_docx, make_empty_docx, make_encrypted_docx
from tests.ingest.test_loaders import JA, expect_error


def test_docx_through_the_indexer_keeps_headings_tables_and_japanese(settings, tmp_path: Path) -> None:
    pipeline = Pipeline(settings)
    path = make_docx(tmp_path / "厚木市DX計画素案.docx")
    [result] = ingest_paths(pipeline.index, settings, [path])
    assert (result.status, result.doc_id, result.error_kind) == ("added", "厚木市dx計画素案", ""), result.message
    record = pipeline.index.document(result.doc_id)
    assert record is not None and record.kind == "docx" and record.title == DOCX_TITLE and record.pages is None
    chunks = pipeline.index.document_chunks(result.doc_id)
    by_section = {c.section: c.text for c in chunks}
    assert "第1章 計画の概要 > 計画の期間" in by_section  # Heading 1 > Heading 2, from the styles
    assert "令和9年度から令和14年度まで" in by_section["第1章 計画の概要 > 計画の期間"]
    assert by_section["第1章 計画の概要 > 計画の期間"].startswith("計画の期間\n")  # the heading opens its chunk
    table = by_section["第2章 主な取組"]
    lines = [ln.replace(" ", "") for ln in table.splitlines()]  # normalisation drops spaces next to Japanese
    for row in DOCX_ROWS:  # one line per row, its cells in order
        assert "|".join(row) in lines, table
    assert "詳細は別紙\nのとおり" in table  # paragraphs are not rejoined or dropped as furigana
    assert all(c.page is None for c in chunks)

    # re-ingesting the same file changes nothing
    [again] = ingest_paths(pipeline.index, settings, [path])
    assert (again.status, again.doc_id) == ("unchanged", result.doc_id)


def test_word_lock_files_in_a_folder_are_not_ingested(settings, tmp_path: Path) -> None:
    folder = tmp_path / "shared"
    folder.mkdir()
    make_docx(folder / "plan.docx")
    (folder / "~$plan.docx").write_bytes(b"\x0bsomeone" + b"\x00" * 150)  # what Word writes while it is open
    results = ingest_paths(Pipeline(settings).index, settings, [folder])
    assert [(Path(r.path).name, r.status) for r in results] == [("plan.docx", "added")]


def test_docx_without_heading_styles_falls_back_to_numbering(tmp_path: Path) -> None:
    from assistant.config import IngestSettings

    doc = load_document(make_docx(tmp_path / "plain.docx", headings=False), None, IngestSettings())
    sections = {c.section for c in chunk_document(doc, 600)}
    assert "第1章 計画の概要 > 1 計画の期間" in sections


def test_docx_is_sniffed_by_content_whatever_its_name(tmp_path: Path) -> None:
    from assistant.config import IngestSettings

    path = tmp_path / "download.txt"
    path.write_bytes(make_docx(tmp_path / "real.docx").read_bytes())
    doc = load_document(path, None, IngestSettings())
    assert doc.kind == "docx" and doc.source.title == DOCX_TITLE


def _not_a_zip(path: Path) -> Path:
    path.write_bytes(b"PK\x03\x04 not really a docx")
    return path


def _truncated(path: Path) -> Path:
    data = make_docx(path.with_name("whole.docx")).read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def _other_zip(path: Path) -> Path:  # e.g. an Excel workbook renamed .docx
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("xl/workbook.xml", "<workbook/>")
    return path


def _legacy_doc(path: Path) -> Path:
    # A compound (OLE) file without an encrypted package, as Word 97-2003 writes: the encrypted one's
    # stream renamed in place (same length), so the container stays well-formed.
    data = make_encrypted_docx(path.with_name("enc.docx")).read_bytes()
    path.write_bytes(data.replace("EncryptedPackage".encode("utf-16-le"), "WordDocumentData".encode("utf-16-le")))
    return path


BAD = [
    ("not-a-zip", _not_a_zip, "corrupt", "Word文書（.docx）として読み込めません"),
    ("truncated", _truncated, "corrupt", "Word文書（.docx）として読み込めません"),
    ("other-zip", _other_zip, "corrupt", "Word文書（.docx）として読み込めません"),
    ("encrypted", lambda p: make_encrypted_docx(p), "encrypted", "パスワードで保護（暗号化）されているため"),
    ("legacy", _legacy_doc, "unsupported", "旧形式のWord文書"),
    ("empty", lambda p: make_empty_docx(p), "empty", "Word文書に本文がありません"),
]


@pytest.mark.parametrize(("name", "make", "kind", "message_ja"), BAD, ids=[b[0] for b in BAD])
def test_bad_docx_is_refused_and_the_index_is_unchanged(
    settings, tmp_path: Path, name: str, make, kind: str, message_ja: str
) -> None:  # type: ignore[no-untyped-def]
    from assistant.config import IngestSettings

    path = make(tmp_path / f"{name}.docx")
    err = expect_error(path, kind, IngestSettings())
    assert message_ja in err.message_ja and JA.search(err.hint_ja)

    pipeline = Pipeline(settings)
    good = make_docx(tmp_path / "good.docx")
    [ok] = ingest_paths(pipeline.index, settings, [good])
    before = [(d.doc_id, d.sha256, d.chunks) for d in pipeline.index.documents()]
    [bad] = ingest_paths(pipeline.index, settings, [path])
    assert bad.status == "error" and bad.error_kind == kind
    assert str(path) in bad.message_ja and message_ja in bad.message_ja
    assert [(d.doc_id, d.sha256, d.chunks) for d in pipeline.index.documents()] == before
    assert re.search(r"[\u3040-\u30ff]", bad.message_ja)
    assert ok.status == "added"
