"""Answers are clean: no 〔出典N〕, URL, Markdown markup or digest bookkeeping in the answer text or its quotes;
citations carry the statement's source URL and the printed page number."""

from __future__ import annotations

import re

from assistant.answer.extractive import ExtractiveAnswerer, clean_sentence
from assistant.audit import citation_dicts
from assistant.export import where
from assistant.types import Chunk, Citation, Hit
from eval.bench_staffqa import MARKUP
from eval.suite import load_suite
from ui.render import answer_as_text, citation_label

# Bookkeeping and markup that must never be shown as (part of) an answer.
# The benchmark's markup pattern (eval/bench_staffqa.py MARKUP) and the digests' notes.
DIRTY = re.compile(MARKUP.pattern + r"|本要約では|確認できませんでした|確認できていない", re.M)


def test_every_plan_question_gets_a_clean_answer(corpus_pipeline) -> None:  # type: ignore[no-untyped-def]
    suite = load_suite("plan")
    assert len(suite.cases) >= 100
    answered = digest_citations = 0
    for case in suite.cases:
        answer = corpus_pipeline.ask(case.question)
        assert not DIRTY.search(answer.answer), (case.id, answer.answer)
        for c in answer.citations:
            assert c.quote in c.chunk.text
            assert not DIRTY.search(c.quote), (case.id, c.quote)
            if c.chunk.doc_id.endswith("-digest"):
                digest_citations += 1
                assert c.source_url and c.source_url.startswith("http"), (case.id, c.quote)
        answered += not answer.refused
    assert answered >= 80 and digest_citations >= 20


def test_a_digest_citation_shows_its_source_url(corpus_pipeline) -> None:  # type: ignore[no-untyped-def]
    answer = corpus_pipeline.ask(
        "フロントヤード改革のKPIとして、2026年度までに何団体が取り組むことが目標とされていますか"
    )
    assert not answer.refused
    data = next(d for d in citation_dicts(answer) if "300団体" in d["quote"])
    assert data["doc_id"] == "jichitai-dx-digest"
    assert data["source_url"] == "https://www.transcosmos-cotra.jp/municipal-front-yard-reform"  # 〔出典11〕
    assert "page_label" in data and data["page_label"] is None and data["page"] is None
    copied = answer_as_text(answer.question, answer.answer, citation_dicts(answer))
    assert f"出典URL: {data['source_url']}" in copied
    assert "〔出典" not in copied


def _chunk(text: str, **meta: object) -> Chunk:
    return Chunk(
        chunk_id="memo:1",
        doc_id="memo",
        title="メモ",
        level="city",
        edition="",
        page=None,
        section="1 概要",
        text=text,
        original=text,
        ordinal=0,
        meta=dict(meta),  # type: ignore[arg-type]
    )


def test_markup_in_a_users_markdown_is_not_shown_as_the_answer() -> None:
    text = (
        "## 1 概要\n"
        "> 窓口の受付時間は平日の午前8時30分から午後5時15分までです。\n"
        "| 窓口 | 受付時間 |\n|---|---|\n| 市民課 | 平日の午前8時30分から午後5時15分まで |\n"
        "**受付時間**の詳細は https://example.jp/madoguchi にあります〔出典1〕。"
    )
    hit = Hit(chunk=_chunk(text), score=1.0, rank=1, scores={"dense": 0.95})
    answer = ExtractiveAnswerer().answer("窓口の受付時間は何時から何時までですか", [hit])
    assert not answer.refused
    assert "午前8時30分" in answer.answer
    assert not DIRTY.search(answer.answer), answer.answer
    for c in answer.citations:
        assert c.quote in text and not DIRTY.search(c.quote), c.quote
    assert clean_sentence("|---|---|") is None
    assert clean_sentence("| 市民課窓口 | 平日 |") == ("市民課窓口、平日", "市民課窓口")
    assert clean_sentence("| 市民課 | 平日 |") is None  # no clean piece long enough to quote


def test_labels_show_printed_and_physical_pages() -> None:
    chunk = Chunk(
        chunk_id="plan:1",
        doc_id="plan",
        title="重点計画",
        level="national",
        edition="2023年版",
        page=105,
        section="第３ 重点的な取組",
        text="光ファイバの整備を進める。",
        original="光ファイバの整備を進める。",
        ordinal=0,
        meta={"page_label": "100", "page_count": 118},
    )
    citation = Citation(n=1, chunk=chunk, quote="光ファイバの整備を進める。", score=1.0)
    assert "p.100（PDF 105/118頁）" in where(citation)
    hit = Hit(chunk=chunk, score=1.0)
    answer = ExtractiveAnswerer().answer("光ファイバの整備", [hit])
    [data] = citation_dicts(answer)
    assert data["page_label"] == "100" and data["page_count"] == 118 and data["source_url"] is None
    assert "p.100（PDF 105/118頁）" in citation_label(data)
    unlabelled = dict(data, page_label=None)
    assert "PDF 105/118頁" in citation_label(unlabelled) and "p.100" not in citation_label(unlabelled)


def test_markdown_links_bullets_and_contents_entries_are_not_shown() -> None:
    """A guidebook's table of contents (links to its own anchors) is never the answer; bullets and
    link syntax are not shown, and a list the chosen sentence announces is quoted with it."""
    text = (
        "- [10. カメラ画像利活用ガイドブック](#10-カメラ画像利活用ガイドブック)\n"
        "- [11. 契約ガイドライン](#11-契約ガイドライン)\n"
        "採用ではすべての職種に以下の共通の必須条件があります。\n"
        "* 理念への強い共感\n"
        "* 当事者意識を持って課題を解決するマインド\n"
        "* 国家公務員に求められる高い倫理観\n"
        "詳しくは[募集要項](https://example.jp/boshu)と脚注[^3]を参照してください。"
    )
    hit = Hit(chunk=_chunk(text, kind="markdown"), score=1.0, rank=1, scores={"dense": 0.95})
    answer = ExtractiveAnswerer().answer("すべての職種に共通する必須条件は何ですか", [hit])
    assert not answer.refused
    for wanted in ("強い共感", "当事者意識", "高い倫理観"):
        assert wanted in answer.answer, answer.answer
    assert "](#" not in answer.answer and "カメラ画像" not in answer.answer
    assert not re.search(r"^\s*[-*]", answer.answer, re.M), answer.answer
    assert not DIRTY.search(answer.answer), answer.answer
    for c in answer.citations:
        assert c.quote in text
    assert clean_sentence("詳しくは[募集要項](#boshu)を参照してください。") == (
        "詳しくは募集要項を参照してください。",
        "を参照してください。",
    )
    assert clean_sentence("目的を達成するための施策[^3]を整理します。")[0] == "目的を達成するための施策を整理します。"  # type: ignore[index]
