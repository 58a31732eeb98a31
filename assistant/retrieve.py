"""Hybrid retrieval: dense (Chroma) + Japanese sparse (Sudachi BM25, character-bigram BM25), fused.

Filters by level, document and edition; optional balancing across levels so an alignment question
sees the city, prefecture and national texts side by side; near-duplicate chunks are dropped.
"""

from __future__ import annotations

import logging
import math
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from assistant.config import RetrieveSettings
from assistant.era import expand_years
from assistant.sparse import query_tokens, rrf_fuse, score_fuse
from assistant.store import Index
from assistant.types import Chunk, Hit

log = logging.getLogger(__name__)

BALANCED_LEVELS = ("city", "prefecture", "national")
_ALIGN_HINTS = re.compile(r"整合|比較|違い|対応|記載がない|一致|国と|県と|市と|国・県|国及び県|国や県|三者|それぞれ")


@dataclass(frozen=True)
class Filters:
    levels: tuple[str, ...] = ()
    doc_ids: tuple[str, ...] = ()
    editions: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return not (self.levels or self.doc_ids or self.editions)


@dataclass
class SearchResult:
    query: str
    hits: list[Hit]
    timings_ms: dict[str, float] = field(default_factory=dict)


def is_alignment_question(query: str) -> bool:
    """Questions that compare the plans want every level's text side by side."""
    return bool(_ALIGN_HINTS.search(query))


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


class Retriever:
    """Runs every retriever over one index and fuses their rankings."""

    def __init__(self, index: Index, settings: RetrieveSettings) -> None:
        self.index = index
        self.settings = settings
        self._titles: tuple[int, dict[str, dict[str, frozenset[str]]]] = (-1, {})

    def title_tokens(self) -> dict[str, dict[str, frozenset[str]]]:
        """Per sparse tokenizer: each document's title words (recomputed when the index changed)."""
        generation = self.index.generation()
        if self._titles[0] != generation:
            docs = self.index.documents()
            self._titles = (
                generation,
                {
                    name: {d.doc_id: frozenset(tok.tokenize(d.title)) for d in docs}
                    for name, tok in self.index.tokenizers.items()
                },
            )
        return self._titles[1]

    def _title_prior(self, query: str, ids: Sequence[str]) -> list[tuple[str, float]]:
        """The IDF-weighted share of the question's words that are in each candidate's document title."""
        tokens = set(query_tokens(self.index.tokenizers["sudachi"], query))
        titles = self.title_tokens()["sudachi"]
        bm25 = self.index.sparse_indexes()["sudachi"]
        n = max(len(bm25), 1)
        idf = {t: math.log(1 + n / (1 + bm25.df(t))) for t in tokens}
        total = sum(idf.values()) or 1.0
        share: dict[str, float] = {}
        out = []
        for cid in ids:
            doc = cid.rsplit(":", 1)[0]
            if doc not in share:
                share[doc] = sum(w for t, w in idf.items() if t in titles.get(doc, ())) / total
            out.append((cid, share[doc]))
        return out

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
        timings: dict[str, float] = {}
        n_cand = max(self.settings.candidates, k * 3)
        expanded = expand_years(query)

        t0 = time.perf_counter()
        use_dense = self.settings.weights.get("dense", 0) > 0
        vector = self.index.embedder.embed_query(expanded) if use_dense else None
        t1 = time.perf_counter()
        timings["embed_ms"] = (t1 - t0) * 1000
        results: dict[str, list[tuple[str, float]]] = {}
        if vector is not None:
            results["dense"] = self.index.dense_search(
                vector, n_cand, filters.levels or None, filters.doc_ids or None, filters.editions or None
            )
        t2 = time.perf_counter()
        timings["dense_ms"] = (t2 - t1) * 1000
        allowed = None if filters.empty else self.index.allowed_ids(filters.levels, filters.doc_ids, filters.editions)
        titles = self.title_tokens() if self.settings.title_mask else {}
        for name, bm25 in self.index.sparse_indexes().items():
            if self.settings.weights.get(name, 0) > 0:
                tokens = query_tokens(self.index.tokenizers[name], query)
                masked = None
                if name in titles:
                    masked = {t: [d for d, words in titles[name].items() if t in words] for t in set(tokens)}
                results[name] = bm25.search(tokens, n_cand, allowed, masked)
        if self.settings.weights.get("title", 0) > 0:
            pool_ids = list(dict.fromkeys(cid for r in results.values() for cid, _ in r))
            results["title"] = self._title_prior(query, pool_ids)
        t3 = time.perf_counter()
        timings["sparse_ms"] = (t3 - t2) * 1000

        if self.settings.fusion == "rrf":
            fused = rrf_fuse(
                {n: [cid for cid, _ in r] for n, r in results.items()}, self.settings.rrf_k, self.settings.weights
            )
        else:
            fused = score_fuse(results, self.settings.weights)
        per_retriever = {n: dict(r) for n, r in results.items()}
        pool = fused[: max(n_cand, k * 4)]
        chunks = {c.chunk_id: c for c in self.index.get_chunks([cid for cid, _ in pool])}
        hits: list[Hit] = []
        for cid, score in pool:
            chunk = chunks.get(cid)
            if chunk is None or any(near_duplicate(chunk, h.chunk) for h in hits):
                continue
            scores = {n: s[cid] for n, s in per_retriever.items() if cid in s}
            hits.append(Hit(chunk=chunk, score=score, scores=scores))
        hits = self._balance(hits, k) if balance else hits[:k]
        hits = [Hit(chunk=h.chunk, score=h.score, rank=i + 1, scores=h.scores) for i, h in enumerate(hits)]
        timings["fuse_ms"] = (time.perf_counter() - t3) * 1000
        timings["total_ms"] = (time.perf_counter() - t0) * 1000
        return SearchResult(query=query, hits=hits, timings_ms=timings)

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
