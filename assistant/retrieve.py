"""Hybrid retrieval: runs the configured signals (assistant/signals.py) and fuses their rankings.

Dense (Chroma) and Japanese sparse (Sudachi BM25, character-bigram BM25) by default, plus any signal given
a weight. Filters by level, document and edition; optional balancing across levels so an alignment question
sees the city, prefecture and national texts side by side; near-duplicate chunks are dropped.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np

from assistant.config import RetrieveSettings
from assistant.question import is_alignment_question, without_naming
from assistant.signals import AnySignal, Filters, PoolSignal, build_signals
from assistant.store import Index
from assistant.types import Chunk, Hit, summed_timings

__all__ = ["Filters", "Retriever", "SearchResult", "interleave", "near_duplicate", "rrf_fuse", "score_fuse"]

log = logging.getLogger(__name__)

BALANCED_LEVELS = ("city", "prefecture", "national")


@dataclass
class SearchResult:
    query: str
    hits: list[Hit]
    timings_ms: dict[str, float] = field(default_factory=dict)


def _bigrams(text: str) -> set[str]:
    t = re.sub(r"\s+", "", text)
    return {t[i : i + 2] for i in range(len(t) - 1)}


def near_duplicate(a: Chunk, b: Chunk, threshold: float = 0.8) -> bool:
    """Overlapping chunks (one inside the other, or mostly the same bigrams) of one document."""
    if a.doc_id != b.doc_id:
        return False
    if a.text in b.text or b.text in a.text:
        return True
    ba, bb = _bigrams(a.text), _bigrams(b.text)
    if not ba or not bb:
        return False
    return len(ba & bb) / min(len(ba), len(bb)) >= threshold


def rrf_fuse(
    rankings: Mapping[str, Sequence[str]], k: int = 60, weights: Mapping[str, float] | None = None
) -> list[tuple[str, float]]:
    """Weighted reciprocal-rank fusion: score(d) = Σ w_r / (k + rank_r(d)), rank from 1. Best first."""
    scores: dict[str, float] = {}
    for name, ranking in rankings.items():
        w = 1.0 if weights is None else weights.get(name, 0.0)
        if w == 0.0:
            continue
        for rank, doc_id in enumerate(ranking, start=1):
            scores[doc_id] = scores.get(doc_id, 0.0) + w / (k + rank)
    return sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))


def score_fuse(
    results: Mapping[str, Sequence[tuple[str, float]]],
    weights: Mapping[str, float] | None = None,
    norm: Literal["minmax", "max", "zscore"] = "minmax",
) -> list[tuple[str, float]]:
    """Weighted sum of per-retriever scores normalised over each candidate list; missing = that list's floor."""
    fused: dict[str, float] = {}
    for name, hits in results.items():
        w = 1.0 if weights is None else weights.get(name, 0.0)
        if w == 0.0 or not hits:
            continue
        vals = np.array([s for _, s in hits], dtype=np.float64)
        if norm == "minmax":
            lo, span = float(vals.min()), float(vals.max() - vals.min())
            normed = (vals - lo) / span if span > 0 else np.ones_like(vals)
        elif norm == "max":
            top = float(np.abs(vals).max())
            normed = vals / top if top > 0 else np.ones_like(vals)
        else:
            sd = float(vals.std())
            normed = (vals - vals.mean()) / sd if sd > 0 else np.zeros_like(vals)
            normed = normed - normed.min()  # missing docs (floor 0) rank below every listed one
        for (doc_id, _), v in zip(hits, normed, strict=True):
            fused[doc_id] = fused.get(doc_id, 0.0) + w * float(v)
    return sorted(fused.items(), key=lambda kv: (-kv[1], kv[0]))


def interleave(query: str, results: Sequence[SearchResult], k: int) -> SearchResult:
    """Several searches as one (the questions of one message): hits taken from each in turn (first of each,
    then second …), without repeats, k in all, re-ranked from 1."""
    hits: list[Hit] = []
    seen: set[str] = set()
    for rank in range(max((len(r.hits) for r in results), default=0)):
        for r in results:
            if rank < len(r.hits) and r.hits[rank].chunk.chunk_id not in seen and len(hits) < k:
                seen.add(r.hits[rank].chunk.chunk_id)
                hits.append(replace(r.hits[rank], rank=len(hits) + 1))
    return SearchResult(query=query, hits=hits, timings_ms=summed_timings(r.timings_ms for r in results))


class Retriever:
    """Runs every configured signal over one index and fuses their rankings."""

    def __init__(self, index: Index, settings: RetrieveSettings, signals: Sequence[AnySignal] | None = None) -> None:
        self.index = index
        self.settings = settings
        self.signals = list(build_signals(settings, index) if signals is None else signals)

    def search(
        self,
        query: str,
        k: int | None = None,
        filters: Filters | None = None,
        balance: bool | None = None,
    ) -> SearchResult:
        k = k or self.settings.k
        filters = filters or Filters()
        balance = is_alignment_question(query) if balance is None else balance
        asked, query = query, without_naming(query)
        timings: dict[str, float] = {}
        n_cand = max(self.settings.candidates, k * 3)

        t0 = time.perf_counter()
        results: dict[str, list[tuple[str, float]]] = {}
        for signal in self.signals:
            if not isinstance(signal, PoolSignal):
                t = time.perf_counter()
                results[signal.name] = signal.search(query, n_cand, filters)
                timings[f"{signal.name}_ms"] = (time.perf_counter() - t) * 1000
        pool_ids = list(dict.fromkeys(cid for r in results.values() for cid, _ in r))
        for signal in self.signals:
            if isinstance(signal, PoolSignal):
                t = time.perf_counter()
                results[signal.name] = signal.score(query, pool_ids)
                timings[f"{signal.name}_ms"] = (time.perf_counter() - t) * 1000
        t_fuse = time.perf_counter()

        if self.settings.fusion == "rrf":
            fused = rrf_fuse(
                {n: [cid for cid, _ in r] for n, r in results.items()}, self.settings.rrf_k, self.settings.weights
            )
        else:
            fused = score_fuse(results, self.settings.weights)
        per_retriever = {n: dict(r) for n, r in results.items()}
        pool = fused[: max(n_cand, k * 4)]
        threshold = self.settings.near_duplicate_threshold
        chunks = {c.chunk_id: c for c in self.index.get_chunks([cid for cid, _ in pool])}
        hits: list[Hit] = []
        for cid, score in pool:
            if not balance and len(hits) == k:
                break  # only the first k distinct hits are kept; balancing needs the whole pool
            chunk = chunks.get(cid)
            if chunk is None or any(near_duplicate(chunk, h.chunk, threshold) for h in hits):
                continue
            scores = {n: s[cid] for n, s in per_retriever.items() if cid in s}
            hits.append(Hit(chunk=chunk, score=score, scores=scores))
        hits = self._balance(hits, k) if balance else hits[:k]
        hits = [Hit(chunk=h.chunk, score=h.score, rank=i + 1, scores=h.scores) for i, h in enumerate(hits)]
        timings["fuse_ms"] = (time.perf_counter() - t_fuse) * 1000
        timings["total_ms"] = (time.perf_counter() - t0) * 1000
        return SearchResult(query=asked, hits=hits, timings_ms=timings)

    @staticmethod
    def _balance(hits: Sequence[Hit], k: int) -> list[Hit]:
        """Round-robin over levels (city, prefecture, national first) keeping each level's order."""
        by_level: dict[str, list[Hit]] = {}
        for h in hits:
            by_level.setdefault(h.chunk.level, []).append(h)
        order = [lv for lv in BALANCED_LEVELS if lv in by_level] + [lv for lv in by_level if lv not in BALANCED_LEVELS]
        picked: list[Hit] = []
        while len(picked) < k and any(by_level[lv] for lv in order):
            for lv in order:
                if by_level[lv] and len(picked) < k:
                    picked.append(by_level[lv].pop(0))
        return sorted(picked, key=lambda h: -h.score)
