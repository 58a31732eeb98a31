"""The heading prior: question words in a passage's own section heading are evidence, its document's title
words are not, a heading shared by many candidates spreads its evidence, and section-less passages are
left as they were ranked."""

from __future__ import annotations

from pathlib import Path

from assistant.config import RetrieveSettings, Settings
from assistant.pipeline import Pipeline
from assistant.retrieve import Retriever
from assistant.signals import HeadingSignal, PoolSignal
from assistant.types import Chunk
from ingest.indexer import ingest_paths

TITLE_WORDS_QUESTION = "厚木市DX推進計画の計画期間は何年間ですか？"
PERIOD = "４ 計画の期間"
BASE = {"dense": 1.0, "sudachi": 1.0, "bigram": 1.0}


CITY = "atsugi-dx-policy"  # 厚木市ＤＸ推進計画（2027～2032）の策定方針（案）, bundled


def _city_chunks(pipeline: Pipeline) -> list[Chunk]:
    return pipeline.index.document_chunks(CITY)


def test_the_own_heading_is_evidence_and_the_title_is_not(corpus_pipeline: Pipeline) -> None:
    signal = HeadingSignal(corpus_pipeline.index)
    assert isinstance(signal, PoolSignal)
    chunks = _city_chunks(corpus_pipeline)
    period = [c for c in chunks if c.section == PERIOD]
    untitled = [c for c in chunks if not c.section]
    others = [c for c in chunks if c.section and c.section != PERIOD and "期間" not in c.section]
    assert period and untitled and others
    ids = [c.chunk_id for c in period + untitled + others]
    scores = dict(signal.score(TITLE_WORDS_QUESTION, ids))
    assert scores[period[0].chunk_id] > 0.3
    # 「１ 計画策定の趣旨」 shares 計画 with the question, but 計画 is one of the document's title words
    assert all(scores[c.chunk_id] == 0.0 for c in untitled + others)
    # a question of nothing but the document's title words finds no heading evidence in it
    assert all(s == 0.0 for _, s in signal.score("厚木市DX推進計画", ids))


def test_a_heading_shared_by_candidates_spreads_its_evidence(settings: Settings, tmp_path: Path) -> None:
    body = "".join(f"第{i}窓口は本庁舎{i}階にあり、証明書{i}種類の交付を担当します。" for i in range(1, 80))
    doc = tmp_path / "guide.md"
    doc.write_text(f"# 庁舎案内\n\n## 受付時間\n\n{body}\n\n## 駐車場\n\n駐車場は120台分あります。\n", encoding="utf-8")
    pipeline = Pipeline(settings)
    assert all(r.ok for r in ingest_paths(pipeline.index, settings, [doc]))
    chunks = pipeline.index.document_chunks(pipeline.index.documents()[0].doc_id)
    ids = [c.chunk_id for c in chunks if c.section.endswith("受付時間")]
    assert len(ids) >= 2, [c.section for c in chunks]
    signal = HeadingSignal(pipeline.index)
    alone = dict(signal.score("受付時間を教えてください", ids[:1]))[ids[0]]
    assert alone > 0  # 受付 and 時間 are in the heading, 教える is not
    two = dict(signal.score("受付時間を教えてください", ids[:2]))
    assert two[ids[0]] == two[ids[1]] == alone / 2
    whole = dict(HeadingSignal(pipeline.index, spread=False).score("受付時間を教えてください", ids[:2]))
    assert whole[ids[0]] == whole[ids[1]] == alone


def test_built_only_when_weighted(corpus_pipeline: Pipeline) -> None:
    index = corpus_pipeline.index
    assert "heading" not in [s.name for s in Retriever(index, RetrieveSettings(weights=BASE)).signals]  # type: ignore[call-arg]
    on = Retriever(index, RetrieveSettings(weights={**BASE, "heading": 0.5})).signals  # type: ignore[call-arg]
    assert isinstance(on[-1], HeadingSignal)


def test_passages_without_sections_keep_their_ranking(settings: Settings, tmp_path: Path) -> None:
    doc = tmp_path / "notes.txt"
    doc.write_text(
        "\n\n".join(
            [
                "市民窓口の受付時間は平日の午前8時30分から午後5時15分までです。",
                "図書館の開館時間は午前9時から午後8時までで、月曜日は休館です。",
                "公民館の利用申込みは利用日の3か月前から受け付けます。",
                "市営プールの営業期間は7月1日から8月31日までです。",
            ]
        ),
        encoding="utf-8",
    )
    pipeline = Pipeline(settings)
    assert all(r.ok for r in ingest_paths(pipeline.index, settings, [doc]))
    chunks = pipeline.index.document_chunks(pipeline.index.documents()[0].doc_id)
    assert chunks and all(not c.section for c in chunks)
    for question in ("図書館は何時まで開いていますか", "プールの営業期間はいつですか"):
        plain = Retriever(pipeline.index, RetrieveSettings(weights=BASE)).search(question, 3).hits  # type: ignore[call-arg]
        weighted = Retriever(pipeline.index, RetrieveSettings(weights={**BASE, "heading": 1.0})).search(question, 3)  # type: ignore[call-arg]
        assert [h.chunk.chunk_id for h in weighted.hits] == [h.chunk.chunk_id for h in plain]
        assert all(h.scores.get("heading", 0.0) == 0.0 for h in weighted.hits)


def test_with_the_title_mask_the_title_words_question_finds_its_section(corpus_pipeline: Pipeline) -> None:
    """The issue-10 example: 厚木市 … 計画 are the document's title words, 期間 names the section (heading prior off)."""
    option = RetrieveSettings(title_mask=True, weights={**BASE, "heading": 0.5})  # type: ignore[call-arg]
    hits = Retriever(corpus_pipeline.index, option).search(TITLE_WORDS_QUESTION, 5).hits
    assert PERIOD in [h.chunk.section for h in hits if h.chunk.doc_id == CITY]
    period = next(h for h in hits if h.chunk.section == PERIOD)
    assert period.scores["heading"] > 0
