"""Answer-quality metrics as pure functions (no LLM): retrieval against gold sources, containment,
Japanese token F1, citation precision/recall, unsupported sentences, refusals, latency.

REGISTRY (at the end) names every metric once: per-case or aggregate, which direction is better,
and its Japanese name; the runner, suite validation, the HTML report and the 評価 page read it.

Matching rules (documented in eval/README.md):
- a chunk matches a gold source when the doc_id is equal and, if given, the section prefix matches
  one tail of the chunk's section path (NFKC, whitespace-insensitive; "3.1 自治体DXの重点取組事項"
  matches "…要約 > 3 取組事項 > 3.1 自治体DXの重点取組事項 > (1) …"), the page is equal, and the
  quote is contained in the chunk text;
- each gold source is credited once, to the best-ranked chunk that matches it.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Protocol

from assistant.answer.citations import REFUSAL_TEXT, split_sentences, support, unsupported_sentences
from eval.metrics_retrieval import hit_at_k as _hit_ids
from eval.metrics_retrieval import mean
from eval.metrics_retrieval import mrr_at_k as _mrr_ids
from eval.metrics_retrieval import recall_at_k as _recall_ids

if TYPE_CHECKING:  # eval.suite reads the registry below, so these are for annotations only
    from eval.results import CaseResult
    from eval.suite import Case, GoldSource

# A cited passage supports an answer sentence when it holds at least this share of the sentence's
# character bigrams. 0.5 is the threshold the answerers use to flag unsupported sentences
# (assistant/answer/citations.py unsupported_sentences), so eval and the UI agree.
SUPPORT_THRESHOLD = 0.5
_MARKER = re.compile(r"\s*\[\d{1,3}\]")
_LEVEL_HEADING = re.compile(r"^【[^】]*】$", re.M)
_WS = re.compile(r"\s+")
# The extractive answerer writes "…です。 [1]": the marker follows the full stop, so split_sentences
# would cut it off into a fragment of its own. Move such markers before the full stop first.
_TRAILING_MARKERS = re.compile(r"([。！？!?])((?:[ \t]*\[\d{1,3}\])+)")


def attach_markers(answer: str) -> str:
    """Turn `文。 [1]` into `文 [1]。` so every sentence carries its own citation markers."""
    return _TRAILING_MARKERS.sub(lambda m: m.group(2) + m.group(1), answer)


class ChunkLike(Protocol):
    """What the metrics read from a retrieved or cited passage (our Chunk has all of it)."""

    @property
    def doc_id(self) -> str: ...
    @property
    def section(self) -> str: ...
    @property
    def page(self) -> int | None: ...
    @property
    def text(self) -> str: ...


def norm(text: str) -> str:
    """NFKC, whitespace removed: how expected strings, quotes and sections are compared."""
    return _WS.sub("", unicodedata.normalize("NFKC", text))


# -- retrieval -------------------------------------------------------------------------------------
def matches(chunk: ChunkLike, gold: GoldSource) -> bool:
    if chunk.doc_id != gold.doc_id:
        return False
    if gold.page is not None and chunk.page != gold.page:
        return False
    if gold.quote is not None and norm(gold.quote) not in norm(chunk.text):
        return False
    if gold.section is not None:
        want = norm(gold.section)
        parts = [norm(p) for p in chunk.section.split(" > ")]
        if not any(">".join(parts[i:]).startswith(want) for i in range(len(parts))):
            return False
    return True


def gold_labels(ranked: Sequence[ChunkLike], gold: Sequence[GoldSource]) -> list[str]:
    """Each ranked chunk as the label of the first not-yet-credited gold source it matches, else ''."""
    credited: set[int] = set()
    out = []
    for chunk in ranked:
        label = ""
        for i, g in enumerate(gold):
            if i not in credited and matches(chunk, g):
                credited.add(i)
                label = f"gold{i}"
                break
        out.append(label)
    return out


def _gold_ids(gold: Sequence[GoldSource]) -> set[str]:
    return {f"gold{i}" for i in range(len(gold))}


def hit_at_k(ranked: Sequence[ChunkLike], gold: Sequence[GoldSource], k: int) -> float:
    return _hit_ids(gold_labels(ranked, gold), _gold_ids(gold), k)


def recall_at_k(ranked: Sequence[ChunkLike], gold: Sequence[GoldSource], k: int) -> float:
    return _recall_ids(gold_labels(ranked, gold), _gold_ids(gold), k)


def mrr_at_k(ranked: Sequence[ChunkLike], gold: Sequence[GoldSource], k: int) -> float:
    return _mrr_ids(gold_labels(ranked, gold), _gold_ids(gold), k)


def ndcg_at_k(ranked: Sequence[ChunkLike], gold: Sequence[GoldSource], k: int) -> float:
    """Binary-gain nDCG: a chunk gains 1 when it is the first to match a gold source."""
    labels = gold_labels(ranked[:k], gold)
    dcg = sum(1.0 / math.log2(r + 2) for r, label in enumerate(labels) if label)
    ideal = sum(1.0 / math.log2(r + 2) for r in range(min(k, len(gold))))
    return dcg / ideal if ideal else 0.0


# -- answer text -----------------------------------------------------------------------------------
def answer_body(answer: str) -> str:
    """The answer without [n] markers and 【市】-style level headings."""
    return _LEVEL_HEADING.sub("", _MARKER.sub("", answer))


def containment(answer: str, expected: Sequence[str]) -> float:
    """Share of the expected strings found in the answer (NFKC, whitespace-insensitive)."""
    if not expected:
        raise ValueError("containment needs at least one expected string")
    body = norm(answer_body(answer))
    return sum(1 for e in expected if norm(e) in body) / len(expected)


_tokenizer: Any = None


def sudachi_tokens(text: str) -> list[str]:
    """Content words (Sudachi mode A, normalised forms, particles and punctuation dropped)."""
    global _tokenizer
    if _tokenizer is None:
        from assistant.sparse import SudachiTokenizer

        _tokenizer = SudachiTokenizer()
    return list(_tokenizer.tokenize(answer_body(text)))


def token_f1(answer: str, reference: str) -> float:
    """SQuAD-style F1 over Sudachi tokens (multiset overlap), not whitespace tokens."""
    a, r = Counter(sudachi_tokens(answer)), Counter(sudachi_tokens(reference))
    overlap = sum((a & r).values())
    if not overlap:
        return 0.0
    precision, recall = overlap / sum(a.values()), overlap / sum(r.values())
    return 2 * precision * recall / (precision + recall)


# -- citations -------------------------------------------------------------------------------------
def _sentences_citing(answer: str, n: int) -> list[str]:
    sentences = split_sentences(attach_markers(answer))
    citing = [s for s in sentences if f"[{n}]" in s]
    return citing or [s for s in sentences if not _LEVEL_HEADING.fullmatch(s)]


def citation_supported(
    n: int, passage: str, answer: str, expected: Sequence[str] = (), threshold: float = SUPPORT_THRESHOLD
) -> bool:
    """The cited passage holds an expected string, or supports a sentence that cites it ([n])."""
    if any(norm(e) in norm(passage) for e in expected):
        return True
    return any(support(_MARKER.sub("", s), passage) >= threshold for s in _sentences_citing(answer, n))


def citation_precision(
    citations: Sequence[tuple[int, str]],
    answer: str,
    expected: Sequence[str] = (),
    threshold: float = SUPPORT_THRESHOLD,
) -> float | None:
    """Share of citations (n, passage text) that really support the answer; None without citations."""
    if not citations:
        return None
    return mean([1.0 if citation_supported(n, p, answer, expected, threshold) else 0.0 for n, p in citations])


def citation_recall(cited: Sequence[ChunkLike], gold: Sequence[GoldSource]) -> float | None:
    """Share of gold sources that some cited passage matches; None without gold sources."""
    if not gold:
        return None
    return sum(1 for g in gold if any(matches(c, g) for c in cited)) / len(gold)


def citation_gold_precision(cited: Sequence[ChunkLike], gold: Sequence[GoldSource]) -> float | None:
    """Share of cited passages that match a gold source (stricter than citation_precision)."""
    if not cited or not gold:
        return None
    return sum(1 for c in cited if any(matches(c, g) for g in gold)) / len(cited)


def unsupported(answer: str, passages: Mapping[int, str], threshold: float = SUPPORT_THRESHOLD) -> tuple[int, int]:
    """(unsupported claim sentences, claim sentences), via citations.unsupported_sentences.

    A claim sentence is one the answerer's own check looks at (headings and fragments are skipped);
    it is unsupported when no passage it cites holds `threshold` of its bigrams.
    """
    answer = attach_markers(answer)
    claims = len(unsupported_sentences(answer, {}, threshold))  # with no passages every claim is unsupported
    return len(unsupported_sentences(answer, dict(passages), threshold)), claims


def unsupported_rate(answer: str, passages: Mapping[int, str], threshold: float = SUPPORT_THRESHOLD) -> float | None:
    bad, claims = unsupported(answer, passages, threshold)
    return bad / claims if claims else None


# -- refusals --------------------------------------------------------------------------------------
def is_refusal(refused: bool, answer: str) -> bool:
    return refused or norm(REFUSAL_TEXT) in norm(answer)


def refusal_correct(refused: bool, answerable: bool) -> bool:
    return refused != answerable


# -- latency and aggregation -----------------------------------------------------------------------
def percentile(values: Sequence[float], p: float) -> float | None:
    """Linear-interpolated percentile (p in 0..100); None for no values."""
    if not values:
        return None
    xs = sorted(values)
    pos = (len(xs) - 1) * p / 100
    lo, hi = math.floor(pos), math.ceil(pos)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def mean_of(values: Iterable[float | None]) -> float | None:
    """Mean over the values that apply (None = metric not applicable to that case)."""
    xs = [v for v in values if v is not None]
    return sum(xs) / len(xs) if xs else None


# -- the registry ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class CaseInputs:
    """What a case's metrics read: the case, the ranked and the cited passages, the answer."""

    case: Case
    ranked: Sequence[ChunkLike]  # Pipeline.search hits, best first
    cited: Sequence[ChunkLike]  # the answer's cited chunks, in citation order
    citations: Sequence[tuple[int, str]]  # (n, cited passage text)
    answer: str
    refused: bool


@dataclass(frozen=True)
class Metric:
    """One metric: a "case" metric is scored per case (fn(CaseInputs)) and aggregated as the mean over
    the cases it applies to; an "aggregate" one is computed over all case results (fn(list[CaseResult]))."""

    name: str
    fn: Callable[[Any], float | None]
    kind: Literal["case", "aggregate"]
    direction: Literal["higher", "lower"]
    label_ja: str  # the name staff read on the 評価 page
    help_ja: str  # its one-line explanation
    applies: Callable[[Any], bool] = lambda _: True  # case: the case has this score; aggregate: the key is shown


def _has_gold(x: CaseInputs) -> bool:
    return bool(x.case.gold)


def _rate(cases: Sequence[CaseResult], flag: Callable[[CaseResult], bool]) -> float | None:
    return mean_of([1.0 if flag(c) else 0.0 for c in cases])


def _unsupported_micro(cases: Sequence[CaseResult]) -> float | None:
    """Unsupported claim sentences over all claim sentences of the run (micro average)."""
    claims = sum(c.unsupported[1] for c in cases)
    return sum(c.unsupported[0] for c in cases) / claims if claims else None


def _case_mean(key: str) -> Callable[[Sequence[CaseResult]], float | None]:
    return lambda cases: mean_of([c.metrics.get(key) for c in cases])


def _judged(key: str) -> Callable[[Sequence[CaseResult]], bool]:
    return lambda cases: any(key in c.metrics for c in cases)


_LOWER = "（低いほど良い）"
REGISTRY: tuple[Metric, ...] = (
    Metric(
        "hit@5", lambda x: hit_at_k(x.ranked, x.case.gold, 5), "case", "higher",
        "上位5件の的中率", "正解の出典が検索結果の上位5件に1つでも入った設問の割合", _has_gold,
    ),
    Metric(
        "recall@5", lambda x: recall_at_k(x.ranked, x.case.gold, 5), "case", "higher",
        "上位5件の再現率", "正解の出典のうち、検索結果の上位5件に入ったものの割合", _has_gold,
    ),
    Metric(
        "mrr@10", lambda x: mrr_at_k(x.ranked, x.case.gold, 10), "case", "higher",
        "正解の順位（MRR）", "最初に現れた正解の出典の順位の逆数の平均（1位なら1、上位10件まで）", _has_gold,
    ),
    Metric(
        "ndcg@10", lambda x: ndcg_at_k(x.ranked, x.case.gold, 10), "case", "higher",
        "順位の質（nDCG）", "正解の出典が上位に並ぶほど高くなる検索順位の評価（上位10件まで）", _has_gold,
    ),
    Metric(
        "containment", lambda x: 0.0 if x.refused else containment(x.answer, x.case.expected), "case", "higher",
        "期待語句の含有率", "回答に含まれるべき語句のうち、実際に含まれた割合",
        lambda x: x.case.answerable and bool(x.case.expected),
    ),
    Metric(
        "token_f1", lambda x: 0.0 if x.refused else token_f1(x.answer, x.case.reference), "case", "higher",
        "語句の一致度（F1）", "回答と期待する語句の単語の重なり（再現率と適合率の調和平均）",
        lambda x: x.case.answerable and bool(x.case.reference),
    ),
    Metric(
        "citation_precision", lambda x: citation_precision(x.citations, x.answer, x.case.expected), "case", "higher",
        "引用の的確さ", "回答に付いた引用のうち、回答の文を実際に裏付けているものの割合", lambda x: not x.refused,
    ),
    Metric(
        "citation_recall", lambda x: citation_recall(x.cited, x.case.gold), "case", "higher",
        "正解出典の引用率", "正解の出典のうち、回答が引用したものの割合", _has_gold,
    ),
    Metric(
        "citation_gold_precision", lambda x: citation_gold_precision(x.cited, x.case.gold), "case", "higher",
        "引用の正解率", "回答が引用した資料のうち、正解の出典に当たるものの割合", _has_gold,
    ),
    Metric(
        "unsupported_rate", _unsupported_micro, "aggregate", "lower",
        "根拠のない文の割合", "回答の文のうち、引用したどの資料にも裏付けがない文の割合" + _LOWER,
    ),
    Metric(
        "refusal_accuracy", _case_mean("refusal_correct"), "aggregate", "higher",
        "回答可否の正しさ", "資料に答えがある設問には答え、ない設問には答えを控えた割合",
    ),
    Metric(
        "refusal_recall", lambda cs: _rate([c for c in cs if c.kind == "unanswerable"], lambda c: c.refused),
        "aggregate", "higher", "回答を控えた率", "資料に答えがない設問のうち、正しく回答を控えた割合",
    ),
    Metric(
        "false_refusal_rate", lambda cs: _rate([c for c in cs if c.kind != "unanswerable"], lambda c: c.refused),
        "aggregate", "lower", "誤って控えた率", "資料に答えがある設問のうち、回答を控えてしまった割合" + _LOWER,
    ),
    Metric(
        "pass_rate", lambda cs: _rate(cs, lambda c: c.passed), "aggregate", "higher",
        "合格率", "すべての判定基準を満たした設問の割合",
    ),
    Metric(
        "latency_p50_ms", lambda cs: percentile([c.latency_ms for c in cs], 50), "aggregate", "lower",
        "応答時間（中央値）", "1問の回答にかかった時間の中央値（ミリ秒、短いほど良い）",
    ),
    Metric(
        "latency_p95_ms", lambda cs: percentile([c.latency_ms for c in cs], 95), "aggregate", "lower",
        "応答時間（95%）", "95%の設問がこの時間内に回答された（ミリ秒、短いほど良い）",
    ),
    Metric(
        "llm_judge_faithfulness", _case_mean("llm_judge_faithfulness"), "aggregate", "higher",
        "忠実性（生成AI判定）", "回答が引用した資料の内容に忠実かを生成AIが判定した平均",
        _judged("llm_judge_faithfulness"),
    ),
    Metric(
        "llm_judge_relevance", _case_mean("llm_judge_relevance"), "aggregate", "higher",
        "関連性（生成AI判定）", "回答が質問に答えているかを生成AIが判定した平均", _judged("llm_judge_relevance"),
    ),
)  # fmt: skip
METRICS: dict[str, Metric] = {m.name: m for m in REGISTRY}
CASE_METRICS = tuple(m for m in REGISTRY if m.kind == "case")
LOWER_IS_BETTER = frozenset(m.name for m in REGISTRY if m.direction == "lower")
METRIC_LABELS_JA: dict[str, tuple[str, str]] = {m.name: (m.label_ja, m.help_ja) for m in REGISTRY}


def case_scores(inputs: CaseInputs) -> dict[str, float | None]:
    """Every case metric that applies to this case, in registry order."""
    return {m.name: m.fn(inputs) for m in CASE_METRICS if m.applies(inputs)}


def aggregate_scores(cases: Sequence[CaseResult]) -> dict[str, float | None]:
    """The run's aggregate: each case metric's mean, then each aggregate metric that applies, rounded."""
    out: dict[str, float | None] = {}
    for m in REGISTRY:
        if m.kind == "case":
            out[m.name] = mean_of([c.metrics.get(m.name) for c in cases])
        elif m.applies(cases):
            out[m.name] = m.fn(cases)
    return {k: (round(v, 4) if v is not None else None) for k, v in out.items()}
