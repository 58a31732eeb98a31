"""Answer-quality metrics as pure functions (no LLM): retrieval against gold sources, containment,
Japanese token F1, citation precision/recall, unsupported sentences, refusals, latency.

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
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol

from assistant.answer.citations import REFUSAL_TEXT, split_sentences, support, unsupported_sentences
from eval.metrics_retrieval import hit_at_k as _hit_ids
from eval.metrics_retrieval import mean
from eval.metrics_retrieval import mrr_at_k as _mrr_ids
from eval.metrics_retrieval import recall_at_k as _recall_ids
from eval.suite import GoldSource

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
