"""Pair features of the alignment matrix: every item against every city passage.

  * dense: cosine between the item (mean of its chunks' stored vectors, so nothing is re-embedded)
    and each city passage's stored vector, double-centred over the matrix so that generic items and
    generic passages do not look similar to everything;
  * lexical cover (IDF-weighted character bigrams): the item heading in the passage, the best item
    sentence in the passage, and the passage's own content in the item text.
Bigram sets and weights are computed once per text, which keeps a 260-row matrix to seconds.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from assistant.align.items import _SOURCE_NOTE, AlignItem, city_label
from assistant.answer.citations import bigrams, split_sentences
from assistant.config import PlanSettings
from assistant.store import embedding_text
from assistant.types import Chunk

if TYPE_CHECKING:
    from assistant.pipeline import Pipeline

MAX_ITEM_SENTENCES = 400  # a very long item (one numbered section over 30 pages) is read up to here


class BigramIdf:
    """IDF of character bigrams over every chunk in the index, so that デジタル or 推進 weigh little."""

    def __init__(self, texts: Sequence[str]) -> None:
        df: dict[str, int] = {}
        for t in texts:
            for b in bigrams(t):
                df[b] = df.get(b, 0) + 1
        self.n = len(texts)
        self.df = df
        self._w: dict[str, float] = {}

    def weight(self, b: str) -> float:
        w = self._w.get(b)
        if w is None:
            w = self._w[b] = math.log((self.n + 1) / (self.df.get(b, 0) + 0.5))
        return w

    def weighted(self, text: str) -> tuple[dict[str, float], float]:
        own = {b: self.weight(b) for b in bigrams(text)}
        return own, sum(own.values())

    def cover(self, text: str, target: set[str]) -> float:
        """IDF-weighted share of `text`'s bigrams found in `target`."""
        own, total = self.weighted(text)
        return _cover(own, total, target)


def _cover(own: dict[str, float], total: float, target: set[str]) -> float:
    if total <= 0:
        return 0.0
    return sum(w for b, w in own.items() if b in target) / total


@dataclass
class PairFeatures:
    """Feature matrices items x city chunks (the calibration scripts reuse them)."""

    items: list[AlignItem]
    city: list[Chunk]
    features: dict[str, np.ndarray]  # dense (double-centred, scaled), heading, sentence, reverse

    def scores(self, weights: dict[str, float]) -> np.ndarray:
        total = np.zeros((len(self.items), len(self.city)))
        for name, w in weights.items():
            total += w * self.features[name]
        return total


def _vectors(pipeline: Pipeline, chunks: Sequence[Chunk]) -> dict[str, np.ndarray]:
    """Stored vectors; a chunk Chroma lacks (an index mid-repair) is embedded now."""
    found = pipeline.index.chunk_vectors([c.chunk_id for c in chunks])
    missing = [c for c in chunks if c.chunk_id not in found]
    if missing:
        vecs = pipeline.embedder.embed_passages([embedding_text(c) for c in missing])
        found.update({c.chunk_id: v for c, v in zip(missing, vecs, strict=True)})
    return found


def _unit(v: np.ndarray) -> np.ndarray:
    n = float(np.linalg.norm(v))
    return v / n if n > 0 else v


def pair_features(
    pipeline: Pipeline, items: Sequence[AlignItem], city: Sequence[Chunk], plan: PlanSettings
) -> PairFeatures:
    index = pipeline.index
    idf = BigramIdf([c.text for d in index.documents() for c in index.document_chunks(d.doc_id)])
    n, m = len(items), len(city)
    dense = np.zeros((n, m))
    heading, sentence, reverse = np.zeros((n, m)), np.zeros((n, m)), np.zeros((n, m))
    if n and m:
        vecs = _vectors(pipeline, [*city, *(c for it in items for c in it.chunks)])
        city_m = np.stack([_unit(vecs[c.chunk_id]) for c in city])
        if plan.item_vectors == "query":  # the item read as a query (e5 "query:"), its text cut to keep it fast
            queries = [f"{it.title}\n{it.text[: plan.item_query_chars]}" for it in items]
            item_m = np.stack([_unit(v) for v in pipeline.embedder.embed_queries(queries)])
        else:
            item_m = np.stack([_unit(np.mean([vecs[c.chunk_id] for c in it.chunks], axis=0)) for it in items])
        dense = item_m @ city_m.T
        dense = dense - dense.mean(1, keepdims=True) - dense.mean(0, keepdims=True) + dense.mean()
    city_bigrams = [bigrams(f"{city_label(c)}\n{c.text}") for c in city]
    city_body = [idf.weighted(_SOURCE_NOTE.sub("", c.text)) for c in city]
    for i, item in enumerate(items):
        title = idf.weighted(item.title)
        sentences = [idf.weighted(s) for s in split_sentences(item.text) if len(s) >= 8][:MAX_ITEM_SENTENCES]
        item_bigrams = bigrams(f"{item.title}\n{item.text}")
        for j in range(m):
            heading[i, j] = _cover(*title, city_bigrams[j])
            sentence[i, j] = max((_cover(own, tot, city_bigrams[j]) for own, tot in sentences), default=0.0)
            reverse[i, j] = _cover(*city_body[j], item_bigrams)
    return PairFeatures(
        list(items),
        list(city),
        {"dense": dense / plan.dense_scale, "heading": heading, "sentence": sentence, "reverse": reverse},
    )
