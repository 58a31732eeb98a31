"""Printed page numbers (`page_label`) next to physical pages: /PageLabels first, else the number each page prints."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.config import IngestSettings
from assistant.types import PAGE_COUNT_META, PAGE_LABEL_META, Chunk, Citation, page_ref
from ingest.chunk import chunk_document
from ingest.loaders import load_document
from ingest.pdf import printed_page_labels
from tests.conftest import shared_path
from tests.factories import make_labelled_pdf, make_pdf

TOPICS = ("窓口改革", "標準化", "人材育成", "データ活用", "セキュリティ", "テレワーク", "公金収納", "生成AI", "防災")
BODY = "デジタル化の取組について述べる本文である。"


def body(i: int) -> str:
    """A different text per page: lines repeated on every page are dropped as running headers."""
    return f"{TOPICS[i % len(TOPICS)]}について、第{i}の取組として{BODY}"


def _chunks(path: Path) -> list[Chunk]:
    return chunk_document(load_document(path, None, IngestSettings()))


def _labels_by_page(chunks: list[Chunk]) -> dict[int, object]:
    return {c.page: c.meta.get(PAGE_LABEL_META) for c in chunks if c.page is not None}


def test_page_labels_from_the_catalog(tmp_path: Path) -> None:
    pages = [body(i) for i in range(1, 7)]
    path = make_labelled_pdf(tmp_path / "labelled.pdf", pages, [(0, 1, "/r", "", 1), (2, 5, "/D", "", 1)])
    chunks = _chunks(path)
    assert _labels_by_page(chunks) == {1: "i", 2: "ii", 3: "1", 4: "2", 5: "3", 6: "4"}
    assert {c.meta[PAGE_COUNT_META] for c in chunks} == {6}
    fifth = next(c for c in chunks if c.page == 5)
    citation = Citation(n=1, chunk=fifth, quote=fifth.text[:10], score=1.0)
    assert citation.page_label == "3" and citation.page_count == 6
    assert page_ref(fifth.page, citation.page_label, citation.page_count) == "p.3（PDF 5/6頁）"


def test_page_labels_from_printed_footers_with_an_offset(tmp_path: Path) -> None:
    # a cover and a contents page without numbers, then pages printed 1, 2, 3, … (offset 2)
    pages = ["計画の表紙", "目次\n1 はじめに"] + [f"{body(n)}\n- {n} -" for n in range(1, 6)]
    chunks = _chunks(make_pdf(tmp_path / "footers.pdf", pages))
    labels = _labels_by_page(chunks)
    assert labels[1] is None and labels[2] is None
    assert [labels[p] for p in range(3, 8)] == ["1", "2", "3", "4", "5"]


def test_a_stray_number_is_not_a_page_number(tmp_path: Path) -> None:
    # one page starts with "3 …" (a heading), the others print nothing: no consistent offset
    pages = [body(1), "3 計画の体系\n" + body(2), body(3), body(4)]
    chunks = _chunks(make_pdf(tmp_path / "stray.pdf", pages))
    assert set(_labels_by_page(chunks).values()) == {None}
    assert all(PAGE_LABEL_META not in c.meta for c in chunks)
    assert page_ref(2, None, 4) == "PDF 2/4頁"
    assert page_ref(None) == ""


def test_printed_numbers_need_most_pages_to_agree() -> None:
    headers = [f"{n} 本文" for n in (1, 2, 3)] + ["本文"] * 5  # only 3 of 8 pages numbered
    assert printed_page_labels(headers) == [None] * 8
    agree = ["表紙"] + [f"本文\n{n}" for n in range(1, 8)]
    assert printed_page_labels(agree) == [None, "1", "2", "3", "4", "5", "6", "7"]


def test_text_files_have_no_page_label(tmp_path: Path) -> None:
    path = tmp_path / "plain.txt"
    path.write_text("1 はじめに\n" + body(1) + "\n", encoding="utf-8")
    assert all(PAGE_LABEL_META not in c.meta and c.page is None for c in _chunks(path))


def test_real_plan_pdf_prints_page_100_on_physical_page_105() -> None:
    path = shared_path("corpus", "real", "juten-keikaku-2023", "20230609_policies_priority_outline_05.pdf")
    settings = IngestSettings()
    if settings.max_pages < 118:
        pytest.skip("max_pages below the PDF's page count")
    chunks = chunk_document(load_document(path, None, settings))
    labels = _labels_by_page(chunks)
    assert labels[105] == "100"
    assert labels[6] == "1"
    assert labels[118] == "113"
    assert labels[1] is None  # the cover prints no number
    c105 = next(c for c in chunks if c.page == 105)
    citation = Citation(n=1, chunk=c105, quote=c105.text[:8], score=1.0)
    assert page_ref(c105.page, citation.page_label, citation.page_count) == "p.100（PDF 105/118頁）"
