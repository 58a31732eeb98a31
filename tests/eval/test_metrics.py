"""Each answer-quality metric catches a planted failure (pure functions, no index needed)."""

from __future__ import annotations

import pytest

from assistant.answer.citations import REFUSAL_TEXT
from assistant.types import Chunk
from eval import metrics as m
from eval.suite import GoldSource


def chunk(doc_id: str, section: str, text: str, page: int | None = None) -> Chunk:
    return Chunk(
        chunk_id=f"{doc_id}:{abs(hash(text)) % 10**8}",
        doc_id=doc_id,
        title=doc_id,
        level="city",
        edition="",
        page=page,
        section=section,
        text=text,
        original=text,
        ordinal=0,
    )


PERIOD = chunk(
    "atsugi",
    "４ 計画の期間",
    "4 計画の期間\n令和9(2027)年度から令和14(2032)年度までの6年間とし、アクションプランは前期3年、後期3年の計画とします。",
)
SECURITY = chunk(
    "atsugi",
    "６ 計画策定に当たって考慮すべき視点 > (3) 情報セキュリティの確保",
    "(3) 情報セキュリティの確保\n市民の個人情報や市の重要情報等の情報資産を守るため、情報セキュリティを確保する取組を進める必要があります。",
)
FRONT = chunk(
    "national",
    "総務省要約 > 3 取組事項 > 3.1 自治体DXの重点取組事項 > (1) 自治体フロントヤード改革の推進",
    "2026年度までに300団体が総合的なフロントヤード改革に取り組むことがKPIとされています。",
    page=12,
)
GOLD_PERIOD = GoldSource("atsugi", section="4 計画の期間")  # half-width digit matches the full-width section


# -- matching and retrieval ----------------------------------------------------------------------------
def test_gold_matching_rules() -> None:
    assert m.matches(PERIOD, GOLD_PERIOD)
    assert m.matches(SECURITY, GoldSource("atsugi", section="6 計画策定に当たって考慮すべき視点"))  # prefix
    assert m.matches(FRONT, GoldSource("national", section="3.1 自治体DXの重点取組事項 > (1)"))  # any path tail
    assert m.matches(FRONT, GoldSource("national", page=12)) and not m.matches(FRONT, GoldSource("national", page=3))
    assert m.matches(PERIOD, GoldSource("atsugi", quote="令和14（2032）年度"))  # NFKC quote
    assert not m.matches(PERIOD, GoldSource("national", section="4 計画の期間"))  # wrong document
    assert not m.matches(PERIOD, GoldSource("atsugi", section="計画の期間"))  # not a prefix of any tail


def test_retrieval_metrics() -> None:
    ranked = [SECURITY, FRONT, PERIOD]
    assert m.hit_at_k(ranked, [GOLD_PERIOD], 3) == 1.0
    assert m.hit_at_k(ranked, [GOLD_PERIOD], 2) == 0.0
    assert m.mrr_at_k(ranked, [GOLD_PERIOD], 10) == pytest.approx(1 / 3)
    two = [GOLD_PERIOD, GoldSource("national", section="3.1")]
    assert m.recall_at_k(ranked, two, 2) == 0.5 and m.recall_at_k(ranked, two, 3) == 1.0
    assert m.ndcg_at_k([PERIOD, FRONT], two, 10) == pytest.approx(1.0)
    assert m.ndcg_at_k([SECURITY, PERIOD], [GOLD_PERIOD], 10) == pytest.approx(1 / m.math.log2(3))
    # a gold source is credited once even when several chunks match it
    assert m.ndcg_at_k([PERIOD, PERIOD], [GOLD_PERIOD], 10) == pytest.approx(1.0)
    assert m.gold_labels([PERIOD, PERIOD], [GOLD_PERIOD]) == ["gold0", ""]


# -- answer text ---------------------------------------------------------------------------------------
def test_containment_catches_a_missing_answer() -> None:
    good = "令和９（２０２７）年度から令和14（2032）年度までの６年間 とします。 [1]"
    assert m.containment(good, ["6年間", "令和14(2032)年度"]) == 1.0  # NFKC + whitespace-insensitive
    assert m.containment("アクションプランを前期と後期に分けます。 [1]", ["6年間"]) == 0.0
    assert m.containment("6年間 [1]", ["6年間", "前期3年"]) == 0.5
    with pytest.raises(ValueError):
        m.containment("x", [])


def test_token_f1_uses_sudachi_tokens() -> None:
    ref = "計画期間は令和9年度から令和14年度までの6年間です。"
    assert m.token_f1(ref, ref) == pytest.approx(1.0)
    assert m.token_f1("情報セキュリティを確保する。", ref) == 0.0
    # no spaces anywhere: a whitespace tokenizer would see one token per sentence and score 0
    partial = m.token_f1("計画期間は6年間です。 [1]", ref)
    assert 0.3 < partial < 1.0
    assert "計画" in m.sudachi_tokens("計画期間") and "[1]" not in "".join(m.sudachi_tokens("計画 [1]"))


# -- citations and support -----------------------------------------------------------------------------
ANSWER = "令和9(2027)年度から令和14(2032)年度までの6年間とし、アクションプランは前期3年、後期3年の計画とします。 [1]"


def test_citation_precision_drops_for_a_wrong_citation() -> None:
    assert m.citation_precision([(1, PERIOD.text)], ANSWER, ["6年間"]) == 1.0
    # the marker points at a passage that says something else
    assert m.citation_precision([(1, SECURITY.text)], ANSWER) == 0.0
    two = ANSWER + "\nテレワークを全庁で推進します。 [2]"  # [2] is cited for a claim its passage lacks
    assert m.citation_precision([(1, PERIOD.text), (2, SECURITY.text)], two) == 0.5
    # a passage that holds an expected string counts even if no sentence cites it
    assert m.citation_precision([(2, SECURITY.text)], ANSWER, ["情報資産"]) == 1.0
    assert m.citation_precision([], ANSWER) is None


def test_citation_recall_and_gold_precision() -> None:
    golds = [GOLD_PERIOD, GoldSource("national", section="3.1")]
    assert m.citation_recall([PERIOD], golds) == 0.5
    assert m.citation_recall([PERIOD, FRONT], golds) == 1.0
    assert m.citation_recall([SECURITY], golds) == 0.0
    assert m.citation_gold_precision([PERIOD, SECURITY], golds) == 0.5
    assert m.citation_recall([PERIOD], []) is None


def test_unsupported_rate_catches_a_fabricated_sentence() -> None:
    assert m.unsupported_rate(ANSWER, {1: PERIOD.text}) == 0.0
    fabricated = ANSWER + "\n厚木市は2030年までに全ての手続を完全にオンライン化します。 [1]"
    assert m.unsupported_rate(fabricated, {1: PERIOD.text}) == 0.5
    assert m.unsupported_rate("根拠のない主張を述べる文章です。", {}) == 1.0  # no marker at all
    # headings such as 【市】 are not claims; the extractive format "文。 [1]" keeps its marker
    assert m.unsupported("【市】\n" + ANSWER, {1: PERIOD.text}) == (0, 1)
    assert m.unsupported_rate("", {}) is None


# -- refusals and latency ------------------------------------------------------------------------------
def test_refusal_metrics() -> None:
    assert m.is_refusal(False, REFUSAL_TEXT) and m.is_refusal(True, "") and not m.is_refusal(False, ANSWER)
    assert m.refusal_correct(refused=True, answerable=False)
    assert not m.refusal_correct(refused=True, answerable=True)  # refused although the corpus answers
    assert not m.refusal_correct(refused=False, answerable=False)  # answered although it cannot


def test_percentile_and_mean() -> None:
    assert m.percentile([10, 20, 30, 40, 50], 50) == 30
    assert m.percentile([10, 20], 95) == pytest.approx(19.5)
    assert m.percentile([], 95) is None
    assert m.mean_of([1.0, None, 0.0]) == 0.5 and m.mean_of([None]) is None


def test_llm_judge_scores_are_parsed_or_none() -> None:
    from eval.judge import parse_scores

    assert parse_scores("faithfulness: 5\nrelevance: 3") == {"llm_judge_faithfulness": 1.0, "llm_judge_relevance": 0.5}
    assert parse_scores("よく分かりません") == {"llm_judge_faithfulness": None, "llm_judge_relevance": None}
