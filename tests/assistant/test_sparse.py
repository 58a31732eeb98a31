"""Sparse retrieval: tokenisers, BM25 ranking, incremental updates, filters, fusion and the metrics."""

import threading

import pytest

from assistant.retrieve import rrf_fuse, score_fuse
from assistant.sparse import BigramTokenizer, BM25Index, SudachiTokenizer, Tokenizer, query_tokens
from eval.metrics_retrieval import hit_at_k, mrr_at_k, recall_at_k, summarize

DOCS = {
    "dx": "厚木市はデジタル技術を活用した行政手続きのオンライン化を推進する。",
    "park": "中央公園の桜は毎年4月に見頃を迎え、多くの市民が訪れる。",
    "tax": "市民税の納付はコンビニエンスストアやスマートフォン決済でも可能である。",
    "bus": "市内の路線バスは本厚木駅を起点に運行している。",
    "dx2": "自治体DXの推進には職員のデジタル人材育成が欠かせない。デジタル化を進める。",
}


@pytest.fixture(scope="module")
def sudachi():
    return SudachiTokenizer()


def build(tok: Tokenizer, **kw) -> BM25Index:
    return BM25Index(list(DOCS), [tok.tokenize(t) for t in DOCS.values()], **kw)


def test_tokenizers_follow_the_protocol_and_drop_punctuation(sudachi):
    big = BigramTokenizer()
    assert isinstance(sudachi, Tokenizer) and isinstance(big, Tokenizer)
    toks = sudachi.tokenize("ＤＸを推進する。")
    assert "dx" in toks and "推進" in toks and "。" not in toks and "を" not in toks
    assert BigramTokenizer(unigrams="isolated").tokenize("ＤＸ推進、市") == ["dx", "x推", "推進", "市"]
    assert set(big.tokenize("ＤＸ推進")) == {"dx", "x推", "推進", "d", "x", "推", "進"}


def test_question_words_are_dropped_from_queries(sudachi):
    assert "何" not in query_tokens(sudachi, "梅雨とは何季の一種か")
    assert "何" in query_tokens(sudachi, "梅雨とは何季の一種か", drop_question_words=False)


def test_sudachi_splits_long_text_and_is_usable_from_threads(sudachi):
    long = "行政手続きのオンライン化を推進する。" * 2000  # ~36k chars, above Sudachi's input limit
    assert sudachi.tokenize(long).count("推進") == 2000
    results: list[list[str]] = []
    threads = [threading.Thread(target=lambda: results.append(sudachi.tokenize(DOCS["dx"] * 50))) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 4 and all(r == results[0] for r in results)


@pytest.mark.parametrize("make", [SudachiTokenizer, BigramTokenizer])
def test_bm25_ranks_the_relevant_passage_first(make):
    tok = make()
    index = build(tok)
    hits = index.search(query_tokens(tok, "桜の見頃はいつですか"), k=3)
    assert hits[0][0] == "park"
    assert all(s > 0 for _, s in hits)
    assert [s for _, s in hits] == sorted((s for _, s in hits), reverse=True)
    assert index.search(query_tokens(tok, "デジタル人材の育成"), k=1)[0][0] == "dx2"


def test_bm25_term_frequency_saturates_and_unknown_terms_give_nothing(sudachi):
    index = BM25Index(["a", "b", "c"], [["x"], ["x", "x", "x"], ["y"]], k1=1.2, b=0.0)
    (top, s_top), (second, s_second) = index.search(["x"], k=5)
    assert (top, second) == ("b", "a") and s_top < 3 * s_second
    assert index.search(["zzz"], k=5) == []
    assert index.search(["x"], k=0) == []


def test_bm25_add_remove_and_replace(sudachi):
    index = build(sudachi)
    q = query_tokens(sudachi, "路線バスの起点")
    assert index.search(q, 1)[0][0] == "bus"
    index.remove(["bus", "unknown-id"])
    assert "bus" not in index and len(index) == 4
    assert all(d != "bus" for d, _ in index.search(q, 5))
    index.add(["bus2"], [sudachi.tokenize("路線バスは愛甲石田駅も起点としている。")])
    assert index.search(q, 1)[0][0] == "bus2"
    index.add(["bus2"], [sudachi.tokenize("図書館の開館時間")])  # same id replaces the document
    assert len(index) == 5 and all(d != "bus2" for d, _ in index.search(q, 5))
    with pytest.raises(ValueError):
        index.add(["a", "b"], [["x"]])


def test_bm25_allowed_filter(sudachi):
    index = build(sudachi)
    q = query_tokens(sudachi, "デジタル化の推進")
    assert {d for d, _ in index.search(q, 5)} >= {"dx", "dx2"}
    assert [d for d, _ in index.search(q, 5, allowed={"dx"})] == ["dx"]
    assert index.search(q, 5, allowed={"park"}) == []
    assert index.search(q, 5, allowed=set()) == []


def test_empty_index_searches_to_nothing():
    index = BM25Index()
    assert index.search(["x"], 3) == []
    index.add(["a"], [["x"]])
    assert index.search(["x"], 3)[0][0] == "a"


def test_era_years_match_across_forms(sudachi):
    index = BM25Index(
        ["plan", "other"], [sudachi.tokenize("計画期間は令和９年度まで"), sudachi.tokenize("計画期間は2020年度まで")]
    )
    assert index.search(query_tokens(sudachi, "2027年度までの計画期間"), 1)[0][0] == "plan"


def test_rrf_fuse():
    fused = rrf_fuse({"a": ["x", "y", "z"], "b": ["y", "x"]}, k=60)
    assert [d for d, _ in fused] == ["x", "y", "z"]  # x and y tie on score; ties break by id
    assert fused[0][1] == pytest.approx(1 / 61 + 1 / 62)
    weighted = rrf_fuse({"a": ["x", "y"], "b": ["y", "x"]}, k=1, weights={"a": 1.0, "b": 3.0})
    assert weighted[0][0] == "y"
    assert rrf_fuse({"a": ["x"], "b": ["y"]}, weights={"a": 1.0}) == [("x", pytest.approx(1 / 61))]
    assert rrf_fuse({}) == []


def test_score_fuse_normalises_each_list():
    results = {"dense": [("x", 0.9), ("y", 0.8)], "bm25": [("y", 30.0), ("z", 10.0)]}
    fused = dict(score_fuse(results, norm="minmax"))
    assert fused == {"x": 1.0, "y": 1.0, "z": 0.0}
    assert score_fuse(results, weights={"dense": 1.0, "bm25": 2.0})[0][0] == "y"
    assert [d for d, _ in score_fuse(results, norm="zscore")][-1] == "z"


def test_metrics():
    assert recall_at_k(["a", "b", "c"], {"c"}, 2) == 0.0
    assert recall_at_k(["a", "b", "c"], {"c"}, 3) == 1.0
    assert recall_at_k(["a", "b"], {"a", "z"}, 2) == 0.5
    assert hit_at_k(["a", "b"], {"b", "z"}, 2) == 1.0
    assert mrr_at_k(["a", "b", "c"], {"b"}, 10) == 0.5
    assert mrr_at_k(["a", "b", "c"], {"c"}, 2) == 0.0
    s = summarize([(["a", "b"], {"a"}), (["b", "a"], {"a"})])
    assert s["R@1"] == 0.5 and s["R@5"] == 1.0 and s["MRR@10"] == 0.75
    with pytest.raises(ValueError):
        recall_at_k(["a"], set(), 1)


def test_bm25_masked_terms_do_not_count_within_their_documents(sudachi):
    """A word of a document's own title is no evidence for which of its passages answers."""
    ids = ["plan:title", "plan:period", "other:period"]
    texts = ["厚木市DX推進計画の策定方針", "計画の期間は6年間とする。", "厚木市の計画期間は未定である。"]
    index = BM25Index(ids, [sudachi.tokenize(t) for t in texts])
    query = query_tokens(sudachi, "厚木市DX推進計画の期間は")
    assert index.search(query, 3)[0][0] == "plan:title"  # the title line wins on the title's own words
    title_words = set(sudachi.tokenize("厚木市DX推進計画"))
    masked = {t: ["plan"] for t in query if t in title_words}
    ranked = [cid for cid, _ in index.search(query, 3, masked=masked)]
    assert ranked[0] == "other:period" or ranked.index("plan:period") < ranked.index("plan:title")
    assert "plan:title" not in ranked  # only title words matched it: nothing left
    assert index.df("期間") == 2 and index.df("策定") == 1 and index.df("存在しない語") == 0
