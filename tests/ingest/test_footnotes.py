"""Footnotes of a PDF page, and a Markdown file's footnote definitions: the chunks that cite them record where
they are (NOTES_META), and an answer that quotes a citing sentence adds the footnote when it holds what the
question asks (「改定日はいつ」「法律番号は」)."""

from __future__ import annotations

import json
from pathlib import Path

from assistant.config import IngestSettings, Settings
from assistant.types import NOTES_AT_META, NOTES_META, NOTES_ONLY_META, PAGE_NOTES_META, footnote_cited
from ingest.chunk import NOTES_SECTION, chunk_document
from ingest.loaders import load_document
from ingest.loaders.text import move_footnotes
from tests.factories import make_pdf

PAGES = [
    "1 テレワークの推進\n"
    "民間企業には、ガイドライン116に沿った導入支援を行う。\n"
    "国家公務員については、多様な働き方を推進する観点からテレワークの定着を図る。\n"
    "また、「国家公務員テレワーク・ロードマップ」117に基づき、計画的な環境整備を進める。\n"
    "相談窓口では約50の企業から相談を受けた。\n"
    "116 2021年3月25日厚生労働省\n"
    "117 2015年1月21日連絡会議決定、令和3年3月30日改定",
    "2 人材の育成\n職員の研修を充実し、デジタル人材を計画的に育成する。",
]


def _pdf(tmp_path: Path) -> Path:
    return make_pdf(tmp_path / "notes.pdf", PAGES, title="重点計画（抜粋）")


def test_a_citing_chunk_records_the_footnotes_it_cites(tmp_path: Path) -> None:
    chunks = chunk_document(load_document(_pdf(tmp_path), None, IngestSettings()))
    by_id = {c.chunk_id: c for c in chunks}
    citing = [c for c in chunks if NOTES_META in c.meta]
    assert citing, [c.text for c in chunks]
    links = [(n, by_id[cid]) for c in citing for n, cid in json.loads(str(c.meta[NOTES_META]))]
    assert sorted(n for n, _ in links) == [116, 117]  # 「約50の企業」 is a quantity, not a footnote
    holder = dict(links)[117]
    assert holder.page == 1 and "117 2015年1月21日連絡会議決定、令和3年3月30日改定" in holder.text
    assert any("ロードマップ」117に基づき" in c.text for c in citing)
    assert NOTES_META not in holder.meta and all(c.page == 1 for c in citing)
    # the page's footnotes chunk is marked as such (no support), its body chunks are not; a PDF cites by number
    assert holder.meta.get(PAGE_NOTES_META) is True and NOTES_ONLY_META not in holder.meta
    assert [c for c in chunks if c.meta.get(PAGE_NOTES_META)] == [holder]


def test_what_cites_a_footnote() -> None:
    assert footnote_cited(117, "「国家公務員テレワーク・ロードマップ」117に基づき")
    assert footnote_cited(10, "行政の推進等に関する法律10(以下「デジタル手続法」という。)")
    assert footnote_cited(70, "過去最多となっている70。")
    assert not footnote_cited(50, "約50の国家資格等について")
    assert not footnote_cited(3, "第3条に定める")
    assert not footnote_cited(2021, "2021年に改定")
    assert not footnote_cited(12, "12件の手続")


def test_an_answer_adds_the_footnote_that_holds_the_date(tmp_path: Path, embed_cache: Path) -> None:
    """Given only the citing passage, the answer quotes its sentence and then footnote 117 from the chunk of
    the page's footnotes; the footnote also counts for the focus (改定), so the question is not refused."""
    from assistant.pipeline import Pipeline
    from assistant.types import Hit
    from ingest.indexer import ingest_file
    from tests.conftest import make_settings

    settings: Settings = make_settings(tmp_path / "home", embed_cache)
    pipeline = Pipeline(settings)
    assert ingest_file(pipeline.index, settings, _pdf(tmp_path)).ok
    chunks = pipeline.index.document_chunks(pipeline.index.documents()[0].doc_id)
    citing = next(c for c in chunks if NOTES_META in c.meta)
    hits = [Hit(chunk=citing, score=1.0, scores={"dense": 0.95})]
    question = "国家公務員テレワーク・ロードマップの改定日はいつですか"
    assert pipeline.extractive.missing_focus(question, hits) is None
    answer = pipeline.extractive.answer(question, hits)
    assert not answer.refused, answer.answer
    lines = answer.answer.splitlines()
    roadmap = next(i for i, line in enumerate(lines) if "ロードマップ」117に基づき" in line)
    assert lines[roadmap + 1] == "117 2015年1月21日連絡会議決定、令和3年3月30日改定 [2]"
    note = answer.citations[1]
    assert note.quote in note.chunk.text and note.chunk.page == 1 and note.chunk.chunk_id != citing.chunk_id
    assert not any(line.startswith("116 ") for line in lines)  # cited by another sentence, not quoted
    # without the footnotes the passage does not mention 改定
    pipeline.extractive.footnotes = None
    assert pipeline.extractive.missing_focus(question, hits) == "改定"
    # through the whole pipeline, the date is in the answer
    pipeline.extractive.footnotes = pipeline.footnotes
    assert "令和3年3月30日改定" in pipeline.ask(question).answer
    # the footnotes' chunk alone answers nothing: a list of dates and sources is no passage on the question
    holder = next(c for c in chunks if c.meta.get(PAGE_NOTES_META))
    assert pipeline.extractive.answer(question, [Hit(chunk=holder, score=1.0, scores={"dense": 0.95})]).refused


MARKDOWN = (
    "# 相互運用性の手引き\n\n"
    "## 1. 背景\n\n"
    "2019年に、3原則を掲げるデジタル手続法[^1]を制定しています。\n\n"
    "詳しくは研修資料[^2]を参照してください。表1のとおり、3つの原則があります。\n\n"
    "[^1]: 情報通信技術を活用した行政の推進等に関する法律\n"
    "    (デジタル手続法。平成14年法律第151号)\n"
    "[^2]: https://example.go.jp/training.pdf\n\n"
    "## 2. 用語集\n\n"
    "相互運用性とは、システム同士がデータをやり取りできることです。\n"
)


def _markdown(tmp_path: Path) -> Path:
    path = tmp_path / "guide.md"
    path.write_text(MARKDOWN, encoding="utf-8")
    return path


def test_markdown_footnote_definitions_move_to_the_end_as_footnote_lines() -> None:
    body, at = move_footnotes(MARKDOWN)
    assert at is not None and "[^1]:" not in body and "## 2. 用語集" in body[:at]
    # one line each, the continuation joined, a paragraph each so that no two are rejoined
    assert body[at:] == (
        "1 情報通信技術を活用した行政の推進等に関する法律 (デジタル手続法。平成14年法律第151号)\n\n"
        "2 https://example.go.jp/training.pdf\n"
    )
    assert move_footnotes("脚注のない本文。\n") == ("脚注のない本文。\n", None)


def test_a_markdown_chunk_records_the_footnotes_its_markers_cite(tmp_path: Path) -> None:
    doc = load_document(_markdown(tmp_path), None, IngestSettings())
    assert NOTES_AT_META in doc.blocks[0].meta
    chunks = chunk_document(doc)
    by_id = {c.chunk_id: c for c in chunks}
    holder = next(c for c in chunks if c.text.startswith("1 情報通信技術"))
    # the definitions are footnotes, not sentences of the section that ends the file (用語集)
    assert not any("[^1]:" in c.text for c in chunks)
    assert holder.section == NOTES_SECTION and holder.meta.get(NOTES_ONLY_META) is True
    assert not [c.text[:40] for c in chunks if c.meta.get(NOTES_ONLY_META) and c is not holder]
    links = [(n, by_id[cid]) for c in chunks if NOTES_META in c.meta for n, cid in json.loads(str(c.meta[NOTES_META]))]
    assert sorted(n for n, _ in links) == [1, 2]  # 「表1」「3つの原則」 are no markers
    assert dict(links)[1] is holder
    assert footnote_cited(1, "デジタル手続法[^1]を制定", marked=True)
    assert not footnote_cited(1, "表1のとおり", marked=True)


def test_an_answer_adds_the_markdown_footnote_that_holds_the_law_number(tmp_path: Path, embed_cache: Path) -> None:
    from assistant.pipeline import Pipeline
    from assistant.types import Hit
    from ingest.indexer import ingest_file
    from tests.conftest import make_settings

    settings: Settings = make_settings(tmp_path / "home", embed_cache)
    pipeline = Pipeline(settings)
    assert ingest_file(pipeline.index, settings, _markdown(tmp_path)).ok
    chunks = pipeline.index.document_chunks(pipeline.index.documents()[0].doc_id)
    citing = next(c for c in chunks if "[^1]" in c.text)
    hits = [Hit(chunk=citing, score=1.0, scores={"dense": 0.95})]
    answer = pipeline.extractive.answer("デジタル手続法の法律番号は？", hits)
    assert not answer.refused, answer.answer
    lines = answer.answer.splitlines()
    law = next(i for i, line in enumerate(lines) if "デジタル手続法を制定しています。" in line)
    assert lines[law + 1].startswith("1 情報通信技術を活用した行政の推進等に関する法律")
    assert "平成14年法律第151号" in lines[law + 1]
    assert not any(line.startswith((":", "[^")) for line in lines)
    note = answer.citations[1]
    assert note.quote in note.chunk.text and note.chunk.chunk_id != citing.chunk_id
    # the footnotes' chunk is no support: alone it answers nothing
    holder = next(c for c in chunks if c.meta.get(NOTES_ONLY_META))
    alone = pipeline.extractive.answer(
        "デジタル手続法の法律番号は？", [Hit(chunk=holder, score=1.0, scores={"dense": 0.95})]
    )
    assert alone.refused
