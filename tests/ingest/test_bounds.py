"""Extracted text and chunks are bounded per page and per document: a 4 KB PDF that draws one form
XObject of 900 KB of text 50 times is refused inside the parser child, and the index stays as it was."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant.config import IngestSettings
from assistant.errors import IngestError
from ingest.chunk import chunk_document
from ingest.loaders import load_document
from ingest.pdf import _extract
from tests.conftest import make_settings, shared_path
from tests.factories import make_form_bomb_pdf, make_pdf


def test_a_form_drawn_many_times_is_refused_by_the_page_bound(tmp_path: Path) -> None:
    path = make_form_bomb_pdf(tmp_path / "bomb.pdf")
    assert path.stat().st_size < 10_000
    with pytest.raises(IngestError) as info:
        load_document(path, None, IngestSettings())
    err = info.value
    assert err.kind == "too_large"
    assert "bomb.pdf" in err.message_ja and "1ページ目" in err.message_ja and "50,000字" in err.message_ja
    assert "DXA_INGEST__MAX_PAGE_CHARS" in err.hint


def test_the_child_stops_at_the_bound(tmp_path: Path) -> None:
    data = make_form_bomb_pdf(tmp_path / "bomb.pdf").read_bytes()
    out = _extract(data, max_pages=10, max_page_chars=50_000, max_doc_chars=0)
    assert out["error"] == "page_text_limit"
    # stopped at the first piece of text over the bound, not after extracting all 45,000,000 characters
    assert 50_000 < out["values"]["n"] <= 50_000 + 100


def test_the_document_bound_adds_up_pages(tmp_path: Path) -> None:
    path = make_pdf(tmp_path / "three.pdf", ["第一頁の本文です。" * 20, "第二頁の本文です。" * 20, "第三頁です。" * 20])
    with pytest.raises(IngestError) as info:
        load_document(path, None, IngestSettings(max_doc_chars=300))
    assert info.value.kind == "too_large" and "1文書の上限（300字）" in info.value.message_ja
    assert "DXA_INGEST__MAX_DOC_CHARS" in info.value.hint
    assert load_document(path, None, IngestSettings()).pages == 3  # the defaults read it


def test_a_text_file_over_the_document_bound_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "huge.txt"
    path.write_text("市民サービスの向上。\n" * 1000, encoding="utf-8")
    with pytest.raises(IngestError) as info:
        load_document(path, None, IngestSettings(max_doc_chars=5_000))
    assert "huge.txt" in info.value.message_ja and "上限（5,000字）" in info.value.message_ja


def test_real_documents_pass_the_default_bounds_with_margin() -> None:
    defaults = IngestSettings()
    real = shared_path("corpus", "real")
    files = sorted(real.glob("*/*.pdf")) + sorted(real.glob("gif-guidebooks/*.md"))
    assert any(f.suffix == ".pdf" for f in files) and len(files) >= 5
    for f in files:
        doc = load_document(f, None, defaults)  # raises if a bound is hit
        chunks = chunk_document(doc, defaults.chunk_chars, defaults.chunk_overlap)
        longest_page = max(len(b.text) for b in doc.blocks)
        total = sum(len(b.text) for b in doc.blocks)
        assert longest_page * 10 < defaults.max_page_chars or doc.kind != "pdf", f.name
        assert total * 10 < defaults.max_doc_chars, f.name
        assert len(chunks) * 10 < defaults.max_chunks, f.name


def test_chunks_over_the_bound_leave_the_index_unchanged(
    tmp_path: Path, embed_cache: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from ui.cli import main

    home = tmp_path / "home"
    make_settings(home, embed_cache)
    monkeypatch.setenv("DXA_HOME", str(home))
    store = str(tmp_path / "store")
    good = tmp_path / "in" / "good.txt"
    good.parent.mkdir()
    good.write_text("第1章 概要\n本市は窓口の待ち時間を短縮する。\n", encoding="utf-8")
    assert main(["ingest", str(good), "--store", store, "--no-progress"]) == 0
    capsys.readouterr()
    assert main(["status", "--json", "--store", store]) == 0
    before = json.loads(capsys.readouterr().out)

    many = tmp_path / "in" / "many.txt"
    many.write_text("".join(f"## 第{i}節\n施策{i}を進める。\n\n" for i in range(60)), encoding="utf-8")
    bomb = make_form_bomb_pdf(tmp_path / "in" / "bomb.pdf")
    monkeypatch.setenv("DXA_INGEST__MAX_CHUNKS", "20")
    assert main(["ingest", str(many), str(bomb), "--json", "--store", store, "--no-progress"]) == 1
    results = {Path(r["path"]).name: r for r in json.loads(capsys.readouterr().out)["results"]}
    assert results["many.txt"]["error_kind"] == "too_large"
    assert "が1文書の上限（20件）を超える" in results["many.txt"]["message_ja"]
    assert results["bomb.pdf"]["error_kind"] == "too_large" and "1ページの上限" in results["bomb.pdf"]["message_ja"]
    assert main(["status", "--json", "--store", store]) == 0
    assert json.loads(capsys.readouterr().out) == before
