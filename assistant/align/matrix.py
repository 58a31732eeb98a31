"""The alignment matrix (整合表): rows, verdicts, evidence, 関連の可能性, and its cache.

A row's verdict comes from its best *evidence* passage (one that names the item's key concepts,
see evidence.py); passages that score high without naming them are shown as 関連の可能性 below the
row, never as evidence; 対応あり also needs the shown evidence to name every key concept of the item
(plan.full_coverage). With an LLM configured, the model judges each row from the top passages, and
the same evidence rule and an exact-quote check re-check the passages it picked (judge.recheck). Built matrices are cached (in memory and in
the app's cache directory) until the index generation or the settings change.
"""

from __future__ import annotations

import hashlib
import logging
import pickle
import threading
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np

from assistant.align.evidence import (
    concept_coverage,
    concept_sentences,
    content_sentences,
    key_concepts,
    load_synonyms,
)
from assistant.align.features import pair_features
from assistant.align.items import AlignItem, city_chunks, city_label, find_items
from assistant.answer.citations import bigrams, split_sentences, verify_quote
from assistant.config import PlanSettings
from assistant.errors import LLMError
from assistant.types import Chunk, Citation

if TYPE_CHECKING:
    from assistant.pipeline import Pipeline

log = logging.getLogger(__name__)

Verdict = Literal["対応あり", "一部対応", "記載なし"]
VERDICTS: tuple[Verdict, ...] = ("対応あり", "一部対応", "記載なし")
LLM_ALIGN_NOTICE = "生成AIによる判定に失敗した行は、類似度のしきい値で判定しています。"
CACHE_VERSION = 2


@dataclass
class Match:
    """A city passage scored against an item, with the feature values behind the score."""

    chunk: Chunk
    score: float
    verdict: Verdict
    features: dict[str, float] = field(default_factory=dict)
    evidence: bool = True  # names the item's key concepts in a content sentence


@dataclass
class AlignmentRow:
    item: AlignItem
    verdict: Verdict
    score: float
    matches: list[Match]  # best first (top_k), evidence passages first
    source_quotes: list[Citation]
    city_quotes: list[Citation]  # the evidence; empty when verdict is 記載なし
    reason: str = ""
    judged_by: Literal["threshold", "llm"] = "threshold"
    related: list[Citation] = field(default_factory=list)  # 関連の可能性: near, but not evidence
    concepts: list[str] = field(default_factory=list)  # the key concepts the evidence had to name
    llm_status: str = ""  # LLM path only: ok, unreadable, failed (endpoint) or rejected (made-up quotes)
    dropped: list[str] = field(default_factory=list)  # LLM picks the re-check dropped, "passage n: why"

    @property
    def citations(self) -> list[Citation]:
        return [*self.source_quotes, *self.city_quotes]

    def to_dict(self) -> dict[str, object]:
        """The row as `dxa align --json` writes it: item, verdict, evidence, 関連の可能性, nearest passages."""
        it = self.item
        return {
            "item_id": it.item_id,
            "level": it.level,
            "doc_id": it.doc_id,
            "section": it.section,
            "chapter": it.chapter,
            "item": it.heading,
            "verdict": self.verdict,
            "score": round(self.score, 4),
            "judged_by": self.judged_by,
            "reason": self.reason,
            "source_quotes": [c.quote for c in self.source_quotes],
            "city_quotes": [c.quote for c in self.city_quotes],
            "citations": [side_citation(c, "source") for c in self.source_quotes]
            + [side_citation(c, "city") for c in self.city_quotes],
            "concepts": self.concepts,
            "dropped": self.dropped,
            "related": [side_citation(c, "related") for c in self.related],
            "nearest": [
                {
                    "chunk_id": m.chunk.chunk_id,
                    "section": m.chunk.section,
                    "score": round(m.score, 4),
                    "verdict": m.verdict,
                    "evidence": m.evidence,
                }
                for m in self.matches
            ],
        }


def side_citation(c: Citation, side: str) -> dict[str, object]:
    """Citation.to_dict() with the side it stands on: source, city or related (a draft passes the level)."""
    data = c.to_dict()
    return {"n": data.pop("n"), "side": side, **data}


@dataclass
class AlignmentMatrix:
    rows: list[AlignmentRow]
    city_sections: list[str]  # heat-map columns: city chunk labels in document order
    heat: list[list[float]]  # scores of evidence passages (0 where a passage is not evidence), rows x city
    thresholds: tuple[float, float]  # (一部対応, 対応あり)
    notice: str = ""

    def gaps(self) -> list[AlignmentRow]:
        """Items the city text does not address: 記載なし first, then 一部対応, clearest absence first."""
        order = {"記載なし": 0, "一部対応": 1}
        gaps = [r for r in self.rows if r.verdict in order]
        return sorted(gaps, key=lambda r: (order[r.verdict], r.score))

    def documents(self) -> list[str]:
        return list(dict.fromkeys(r.item.doc_id for r in self.rows))

    def chapters(self, doc_id: str | None = None) -> list[str]:
        return list(dict.fromkeys(r.item.chapter for r in self.rows if doc_id in (None, r.item.doc_id)))


def verdict_for(score: float, thresholds: tuple[float, float]) -> Verdict:
    partial, full = thresholds
    return "対応あり" if score >= full else "一部対応" if score >= partial else "記載なし"


@dataclass
class RowDecision:
    verdict: Verdict
    score: float
    evidence: list[int]  # city indexes shown as evidence, best first
    related: list[int]  # nearest non-evidence city indexes (関連の可能性)


def decide_row(
    scores: np.ndarray,
    eligible: np.ndarray,
    thresholds: tuple[float, float],
    top_k: int,
    coverage: Callable[[list[int]], float] | None = None,
    full_coverage: float | None = None,
) -> RowDecision:
    """The verdict from the best evidence passage; the rest of the top passages are 関連の可能性.

    With `full_coverage`, 対応あり also needs the shown evidence to name at least that share of the
    item's key concepts (`coverage` of the shown city indexes); a row short of it is 一部対応.
    """
    order = [int(j) for j in np.argsort(-scores, kind="stable")]
    ev = [j for j in order if eligible[j]]
    best = float(scores[ev[0]]) if ev else float(scores[order[0]]) if order else 0.0
    verdict = verdict_for(best, thresholds) if ev else "記載なし"
    shown = [j for j in ev if scores[j] >= thresholds[0]][:top_k] if verdict != "記載なし" else []
    if verdict == "対応あり" and full_coverage is not None and coverage is not None and coverage(shown) < full_coverage:
        verdict = "一部対応"
    related = [j for j in order if j not in shown]  # all, best first: the row shows the first with content
    return RowDecision(verdict, best, shown, related)


def evidence_mask(items: Sequence[AlignItem], city: Sequence[Chunk], plan: PlanSettings) -> np.ndarray:
    """items x city: True where a content sentence of the passage names one of the item's key concepts."""
    synonyms = load_synonyms(plan.synonyms_path)
    out = np.zeros((len(items), len(city)), dtype=bool)
    for i, item in enumerate(items):
        concepts = key_concepts(item.title, synonyms)
        for j, c in enumerate(city):
            out[i, j] = bool(concept_sentences(c, concepts))
    return out


# -- quotes ------------------------------------------------------------------------------------------
def content_quote(chunk: Chunk, target: str, candidates: Sequence[str] | None = None) -> str:
    """The sentence (of `candidates`, else of the chunk) sharing most bigrams with `target`; exact substring."""
    sentences = list(candidates or ()) or [s for s in split_sentences(chunk.text) if not s.startswith("#")]
    sentences = sentences or [chunk.text]
    long = [s for s in sentences if len(s) >= 10] or sentences
    tb = bigrams(target)
    return max(long, key=lambda s: (len(bigrams(s) & tb) / (len(tb) or 1), -abs(len(s) - 80)))


def _citation(n: int, chunk: Chunk, target: str, score: float, candidates: Sequence[str] = ()) -> Citation | None:
    quote = content_quote(chunk, target, candidates)
    return Citation(n=n, chunk=chunk, quote=quote, score=score) if verify_quote(quote, chunk) else None


def _row_quotes(
    item: AlignItem,
    concepts: dict[str, set[str]],
    evidence: Sequence[Match],
    related: Sequence[Match],
    top_k: int,
    given: Sequence[str] = (),
) -> tuple[list[Citation], list[Citation], list[Citation]]:
    """(source quote, city evidence quotes, 関連の可能性: the first `top_k` related passages with content).

    `given`: per evidence passage, a verified exact quote to show (the LLM's) or "" to pick one.
    """
    target = f"{item.title}\n{item.text}"
    city: list[Citation] = []
    for k, m in enumerate(evidence):
        quote = given[k] if k < len(given) else ""
        pool = [quote] if quote else concept_sentences(m.chunk, concepts)
        c = _citation(len(city) + 2, m.chunk, target, m.score, pool)
        if c:
            city.append(c)
    near: list[Citation] = []
    for m in related:
        if len(near) >= top_k:
            break
        if (sents := content_sentences(m.chunk)) and (c := _citation(0, m.chunk, target, m.score, sents)):
            near.append(c)
    anchor = " ".join(c.quote for c in city) or item.title
    with_content = [ch for ch in item.chunks if content_sentences(ch)] or list(item.chunks)
    best = max(with_content, key=lambda ch: len(bigrams(ch.text) & bigrams(anchor)))
    source = _citation(1, best, f"{item.title} {anchor}", 1.0, content_sentences(best))
    return ([source] if source else []), city, near


# -- the matrix ----------------------------------------------------------------------------------------
_CACHE: dict[str, AlignmentMatrix] = {}
_CACHE_LOCK = threading.Lock()


def cache_key(pipeline: Pipeline, plan: PlanSettings, use_llm: bool) -> str:
    index = pipeline.index
    syn = plan.synonyms_path.read_bytes() if plan.synonyms_path.exists() else b""
    llm = (pipeline.settings.llm.model or "") if use_llm else ""
    parts = [str(CACHE_VERSION), str(index.dir), index._meta("store_id"), str(index.generation())]
    parts += [plan.model_dump_json(), hashlib.sha256(syn).hexdigest(), llm, pipeline.embedder.id]
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:24]


def _cache_file(pipeline: Pipeline, key: str) -> Path:
    return pipeline.settings.cache_dir / "align" / f"matrix-{key}.pickle"


def build_matrix(
    pipeline: Pipeline,
    *,
    use_llm: bool | None = None,
    plan: PlanSettings | None = None,
    cache: bool = True,
    only: Collection[int] | None = None,
) -> AlignmentMatrix:
    """The matrix for the current index, from the cache when neither the index nor the settings changed.

    `only`: build just these rows (indexes into find_items), uncached — the benchmark's labelled rows.
    """
    plan = plan or pipeline.settings.plan
    if only is not None:
        return _build(pipeline, plan, bool(pipeline.use_llm() if use_llm is None else use_llm), set(only))
    llm = bool(pipeline.use_llm() if use_llm is None else use_llm)
    key = cache_key(pipeline, plan, llm)
    if cache:
        with _CACHE_LOCK:
            hit = _CACHE.get(key)
        if hit is not None:
            return hit
        path = _cache_file(pipeline, key)
        if path.exists():
            try:  # the file lives in the app's private cache directory, written by this function
                matrix: AlignmentMatrix = pickle.loads(path.read_bytes())
                with _CACHE_LOCK:
                    _CACHE[key] = matrix
                return matrix
            except Exception as exc:  # a stale or truncated cache file is rebuilt
                log.warning("alignment cache %s unreadable, rebuilding: %s", path, exc)
    matrix = _build(pipeline, plan, llm)
    if cache and not matrix.notice:  # a matrix with failed LLM rows is not kept
        with _CACHE_LOCK:
            _CACHE.clear()
            _CACHE[key] = matrix
        path = _cache_file(pipeline, key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            for old in path.parent.glob("matrix-*.pickle"):
                old.unlink(missing_ok=True)
            tmp = path.with_suffix(".tmp")
            tmp.write_bytes(pickle.dumps(matrix))
            tmp.replace(path)
        except OSError as exc:
            log.warning("alignment cache not written: %s", exc)
    return matrix


def _build(pipeline: Pipeline, plan: PlanSettings, llm: bool, only: set[int] | None = None) -> AlignmentMatrix:
    from assistant.align.judge import UnreadableJudgement, judge_with_llm, recheck

    items = find_items(pipeline, plan)
    city = city_chunks(pipeline, plan)
    thresholds = (plan.partial_threshold, plan.full_threshold)
    feats = pair_features(pipeline, items, city, plan)
    scores = feats.scores(plan.weights)
    eligible = evidence_mask(items, city, plan)
    synonyms = load_synonyms(plan.synonyms_path)
    failures = 0
    rows: list[AlignmentRow] = []
    for i, item in enumerate(items):
        if only is not None and i not in only:
            continue
        concepts = key_concepts(item.title, synonyms)

        def match(j: int, i: int = i) -> Match:
            s = float(scores[i, j])
            return Match(
                city[j],
                s,
                verdict_for(s, thresholds) if eligible[i, j] else "記載なし",
                {k: round(float(v[i, j]), 4) for k, v in feats.features.items()},
                bool(eligible[i, j]),
            )

        def cover(js: list[int], concepts: dict[str, set[str]] = concepts) -> float:
            return concept_coverage([city[j] for j in js], concepts)

        d = (
            decide_row(scores[i], eligible[i], thresholds, plan.top_k, cover, plan.full_coverage)
            if city
            else RowDecision("記載なし", 0, [], [])
        )
        evidence = [match(j) for j in d.evidence]
        nearby = [match(j) for j in d.related]  # every other passage, best first
        related = nearby[: plan.top_k]
        verdict, reason, judged_by = d.verdict, "", "threshold"
        status, dropped, given = "", [], []
        if llm and city:
            candidates = [match(j) for j in dict.fromkeys([*d.evidence, *d.related])][: plan.top_k * 2]
            try:
                check = recheck(judge_with_llm(pipeline, item, candidates), candidates)
                status, dropped = check.status, check.dropped
            except LLMError as exc:
                status = "unreadable" if isinstance(exc, UnreadableJudgement) else "failed"
                log.warning("LLM judgement failed for %s: %s", item.item_id, exc)
            if status == "ok":
                verdict, reason, judged_by = check.verdict, check.reason, "llm"
                evidence = [candidates[k] for k in check.evidence]
                given = [check.quotes.get(k, "") for k in check.evidence]
                nearby = [m for m in candidates if m not in evidence]
                related = nearby[: plan.top_k]
            else:
                failures += 1
                if status == "rejected":
                    reason = "生成AIの根拠の引用が市の記述に見当たらないため、しきい値で判定しました"
        source_quotes, city_quotes, near = _row_quotes(item, concepts, evidence, nearby, plan.top_k, given)
        rows.append(
            AlignmentRow(
                item,
                verdict,
                d.score,
                [*evidence, *related],
                source_quotes,
                city_quotes if verdict != "記載なし" else [],
                reason,
                judged_by,  # type: ignore[arg-type]
                near,
                list(concepts),
                status,
                dropped,
            )
        )
    notice = LLM_ALIGN_NOTICE if failures else ""
    heat = [
        [round(float(s), 3) if ok else 0.0 for s, ok in zip(srow, erow, strict=True)]
        for srow, erow in zip(scores, eligible, strict=True)
    ]
    return AlignmentMatrix(rows, [city_label(c) for c in city], heat, thresholds, notice)
