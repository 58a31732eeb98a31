"""Retrieval signals: the registry builds what the weights name, a custom signal changes the ranking,
and the BM25 / extractive tunables come from Settings."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from assistant.answer.extractive import ExtractiveAnswerer
from assistant.config import AnswerSettings, BM25Settings, RetrieveSettings, Settings
from assistant.pipeline import Pipeline, build_tokenizers
from assistant.retrieve import Retriever
from assistant.signals import SIGNALS, BM25Signal, DenseSignal, Filters, PoolSignal, Signal, TitlePriorSignal
from assistant.sparse import DEFAULT_B, DEFAULT_K1
from assistant.store import Index

QUESTION = "計画の期間はいつからいつまでですか"
BOOSTED = "kanagawa-dx-digest"


class DocumentBoost:
    """Scores every chunk of one document 1.0: a stand-in for a document prior."""

    name = "boost"

    def __init__(self, index: Index, doc_id: str) -> None:
        self.index, self.doc_id = index, doc_id

    def search(self, query: str, n: int, filters: Filters) -> list[tuple[str, float]]:
        return [(c.chunk_id, 1.0) for c in self.index.document_chunks(self.doc_id)][:n]


class LevelRerank:
    """A pool signal: prefers the candidates of one level (a stand-in for a reranker)."""

    name = "level"

    def __init__(self, index: Index, level: str) -> None:
        self.index, self.level = index, level

    def score(self, query: str, ids: Sequence[str]) -> list[tuple[str, float]]:
        return [(c.chunk_id, 1.0 if c.level == self.level else 0.0) for c in self.index.get_chunks(ids)]


def _retrieve(weights: dict[str, float], **kw: object) -> RetrieveSettings:
    return RetrieveSettings(weights=weights, **kw)  # type: ignore[arg-type]


def test_weights_decide_which_signals_are_built(corpus_pipeline: Pipeline) -> None:
    index = corpus_pipeline.index
    default = Retriever(index, RetrieveSettings()).signals  # type: ignore[call-arg]
    assert [s.name for s in default] == ["dense", "sudachi", "bigram", "title"]
    assert isinstance(default[0], DenseSignal) and all(isinstance(s, BM25Signal) for s in default[1:3])
    assert isinstance(default[3], TitlePriorSignal) and all(s.titles is not None for s in default[1:3])  # type: ignore[attr-defined]
    assert all(isinstance(s, Signal) for s in default[:3]) and isinstance(default[3], PoolSignal)
    some = Retriever(index, _retrieve({"dense": 0.0, "bigram": 1.0, "title": 0.5, "nosuch": 1.0})).signals
    assert [s.name for s in some] == ["bigram", "title"]
    assert isinstance(some[1], TitlePriorSignal) and isinstance(some[1], PoolSignal)


def test_a_registered_signal_changes_the_ranking(corpus_pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch) -> None:
    index = corpus_pipeline.index
    monkeypatch.setitem(SIGNALS, "boost", lambda idx, s: DocumentBoost(idx, BOOSTED))
    plain = Retriever(index, RetrieveSettings()).search(QUESTION).hits  # type: ignore[call-arg]
    assert plain[0].chunk.doc_id != BOOSTED
    weights = {"dense": 1.0, "sudachi": 1.0, "bigram": 1.0}
    off = Retriever(index, _retrieve({**weights, "boost": 0.0}))
    assert "boost" not in [s.name for s in off.signals]
    assert [h.chunk.chunk_id for h in off.search(QUESTION).hits] == [h.chunk.chunk_id for h in plain]
    boosted = Retriever(index, _retrieve({**weights, "boost": 5.0})).search(QUESTION).hits
    assert all(h.chunk.doc_id == BOOSTED for h in boosted[:3])
    assert boosted[0].scores["boost"] == 1.0 and "dense" in boosted[0].scores


def test_a_pool_signal_rescores_the_candidates(corpus_pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch) -> None:
    index = corpus_pipeline.index
    monkeypatch.setitem(SIGNALS, "level", lambda idx, s: LevelRerank(idx, "national"))
    weights = {"dense": 1.0, "sudachi": 1.0, "bigram": 1.0}
    plain = Retriever(index, _retrieve(weights)).search(QUESTION).hits
    assert plain[0].chunk.level != "national"
    reranked = Retriever(index, _retrieve({**weights, "level": 10.0})).search(QUESTION).hits
    assert reranked[0].chunk.level == "national"
    # it only rescored what the searching signals found
    found = {cid for s in Retriever(index, _retrieve(weights)).signals for cid, _ in s.search(QUESTION, 50, Filters())}  # type: ignore[union-attr]
    assert {h.chunk.chunk_id for h in reranked} <= found


def test_bm25_parameters_come_from_settings(corpus_pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch) -> None:
    assert (BM25Settings().k1, BM25Settings().b) == (DEFAULT_K1, DEFAULT_B)  # type: ignore[call-arg]
    monkeypatch.setenv("DXA_RETRIEVE__BM25__K1", "1.5")
    assert Settings().retrieve.bm25.k1 == 1.5  # type: ignore[call-arg]
    default = corpus_pipeline.index
    s = corpus_pipeline.settings
    steep = s.model_copy(update={"retrieve": s.retrieve.model_copy(update={"bm25": BM25Settings(k1=1.5, b=0.75)})})
    other = Index(steep, corpus_pipeline.embedder, build_tokenizers())
    bm25, bm25_steep = default.sparse_indexes()["sudachi"], other.sparse_indexes()["sudachi"]
    assert (bm25.k1, bm25_steep.k1) == (DEFAULT_K1, 1.5)
    tokens = default.tokenizers["sudachi"].tokenize("計画の期間")
    a, b = dict(bm25.search(tokens, 20)), dict(bm25_steep.search(tokens, 20))
    assert a.keys() & b.keys() and any(abs(a[c] - b[c]) > 1e-6 for c in a.keys() & b.keys())


def test_extractive_tunables_come_from_settings(corpus_pipeline: Pipeline) -> None:
    hits = corpus_pipeline.search(QUESTION).hits
    default = ExtractiveAnswerer(corpus_pipeline.settings.answer).answer(QUESTION, hits)
    assert default == ExtractiveAnswerer().answer(QUESTION, hits)  # the defaults are the settings' defaults
    one = ExtractiveAnswerer(AnswerSettings(max_sentences=1, keep_ratio=0.0))  # type: ignore[call-arg]
    loose = ExtractiveAnswerer(AnswerSettings(keep_ratio=0.0))  # type: ignore[call-arg]
    lines = default.answer.splitlines()
    assert len(one.answer(QUESTION, hits).answer.splitlines()) == 1
    assert len(loose.answer(QUESTION, hits).answer.splitlines()) == 6 > len(lines)
    strict = ExtractiveAnswerer(AnswerSettings(refusal_threshold=1.01))  # type: ignore[call-arg]
    assert not default.refused and strict.answer(QUESTION, hits).refused


@pytest.mark.parametrize("section", [RetrieveSettings, BM25Settings, AnswerSettings])
def test_every_setting_is_described(section: type) -> None:
    assert all(f.description for f in section.model_fields.values())


def test_the_sentence_signal_scores_a_candidate_by_its_best_sentence(corpus_pipeline: Pipeline) -> None:
    import numpy as np

    from assistant.signals import SentenceSignal, sentence_texts

    index = corpus_pipeline.index
    built = Retriever(index, _retrieve({"dense": 1.0, "sentence": 1.0})).signals
    assert [s.name for s in built] == ["dense", "sentence"] and isinstance(built[1], PoolSignal)
    pool = [cid for cid, _ in built[0].search(QUESTION, 6, Filters())]  # type: ignore[union-attr]
    scored = dict(SentenceSignal(index).score(QUESTION, pool))
    assert set(scored) == set(pool)
    query = index.embedder.embed_query(QUESTION)
    for chunk in index.get_chunks(pool):
        sentences = sentence_texts(chunk)
        assert len(sentences) >= 1 and all(s in chunk.text for s in sentences)
        best = max(float(v @ query) for v in index.embedder.embed_passages(sentences))
        assert scored[chunk.chunk_id] == pytest.approx(best, abs=1e-5)
    assert SentenceSignal(index).score(QUESTION, []) == []
    assert np.isfinite(list(scored.values())).all()
