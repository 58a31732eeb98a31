"""Retrieval signals: each ranks chunks for a question in its own way; the retriever fuses their rankings.

A signal is one class plus one entry in `RetrieveSettings.weights` under its name (weight 0 or absent = not
built). `SIGNALS` maps a name to a factory; `register_signal` adds one (a reranker, a sentence index).
Searching signals (`Signal`) find candidates themselves; pool signals (`PoolSignal`, e.g. the title prior)
score the candidates the searching signals found.
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from assistant.answer.citations import split_sentences
from assistant.config import RetrieveSettings
from assistant.era import expand_years
from assistant.sparse import query_tokens
from assistant.store import Index
from assistant.types import Chunk

log = logging.getLogger(__name__)

SECTION_SEP = " > "  # between the headings of a chunk's section path (ingest/headings.py)


@dataclass(frozen=True)
class Filters:
    """Restricts a search to some levels, documents and editions (empty = everything)."""

    levels: tuple[str, ...] = ()
    doc_ids: tuple[str, ...] = ()
    editions: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return not (self.levels or self.doc_ids or self.editions)


@runtime_checkable
class Signal(Protocol):
    """Finds the best `n` chunks for a query within the filters: (chunk id, score), best first."""

    name: str

    def search(self, query: str, n: int, filters: Filters) -> list[tuple[str, float]]: ...


@runtime_checkable
class PoolSignal(Protocol):
    """Scores the candidate chunks the searching signals found (it cannot find candidates of its own)."""

    name: str

    def score(self, query: str, ids: Sequence[str]) -> list[tuple[str, float]]: ...


class DenseSignal:
    """Cosine similarity of the query's embedding (era years expanded) to the stored chunk vectors."""

    name = "dense"

    def __init__(self, index: Index) -> None:
        self.index = index

    def search(self, query: str, n: int, filters: Filters) -> list[tuple[str, float]]:
        vector = self.index.embedder.embed_query(expand_years(query))
        return self.index.dense_search(
            vector, n, filters.levels or None, filters.doc_ids or None, filters.editions or None
        )


def sentence_texts(chunk: Chunk) -> list[str]:
    """What the sentence signal embeds for a chunk: each sentence alone (with its leaf heading in front, hit@5
    on staffqa dev was 0.899–0.917 against 0.912–0.934 without)."""
    return split_sentences(chunk.text)


class SentenceSignal:
    """The best cosine between the query and one sentence of a candidate.

    A passage that defines a term in one sentence among many unrelated ones has a chunk vector far from a
    question that paraphrases that sentence; each sentence's own vector is not diluted. Scores the pool the
    searching signals found; a sentence is embedded the first time it is scored and kept in the embedding
    cache (nothing is embedded at ingest for it)."""

    name = "sentence"

    def __init__(self, index: Index) -> None:
        self.index = index

    def score(self, query: str, ids: Sequence[str]) -> list[tuple[str, float]]:
        if not ids:
            return []
        qv = self.index.embedder.embed_query(expand_years(query))
        chunks = self.index.get_chunks(list(ids))
        texts: list[str] = []
        owner: list[int] = []
        for i, chunk in enumerate(chunks):
            for sent in sentence_texts(chunk):
                texts.append(sent)
                owner.append(i)
        if not texts:
            return []
        vecs = self.index.embedder.embed_passages(texts)
        sims = vecs @ qv
        best: dict[int, float] = {}
        for i, sim in zip(owner, sims.tolist(), strict=True):
            best[i] = max(best.get(i, -1.0), sim)
        return sorted(((chunks[i].chunk_id, s) for i, s in best.items()), key=lambda kv: -kv[1])


class TitleWords:
    """Each document's title words under one of the index's tokenisers, recomputed when the index changed."""

    def __init__(self, index: Index, tokenizer: str) -> None:
        self.index = index
        self.tokenizer = tokenizer
        self._cache: tuple[int, dict[str, frozenset[str]]] = (-1, {})

    def get(self) -> dict[str, frozenset[str]]:
        generation = self.index.generation()
        if self._cache[0] != generation:
            tok = self.index.tokenizers[self.tokenizer]
            self._cache = (generation, {d.doc_id: frozenset(tok.tokenize(d.title)) for d in self.index.documents()})
        return self._cache[1]


class BM25Signal:
    """BM25 over one of the index's sparse tokenisers (named after it); question words are dropped.

    With `title_mask`, a word of a document's own title does not count as evidence for its passages."""

    def __init__(self, index: Index, tokenizer: str, *, title_mask: bool = False) -> None:
        self.name = tokenizer
        self.index = index
        self.titles = TitleWords(index, tokenizer) if title_mask else None

    def search(self, query: str, n: int, filters: Filters) -> list[tuple[str, float]]:
        bm25 = self.index.sparse_indexes()[self.name]
        tokens = query_tokens(self.index.tokenizers[self.name], query)
        allowed = None if filters.empty else self.index.allowed_ids(filters.levels, filters.doc_ids, filters.editions)
        masked = None
        if self.titles is not None:
            titles = self.titles.get()
            masked = {t: [d for d, words in titles.items() if t in words] for t in set(tokens)}
        return bm25.search(tokens, n, allowed, masked)


class TitlePriorSignal:
    """The IDF-weighted share of the question's words that are in each candidate's document title."""

    name = "title"

    def __init__(self, index: Index, tokenizer: str = "sudachi") -> None:
        self.index = index
        self.tokenizer = tokenizer
        self.titles = TitleWords(index, tokenizer)

    def score(self, query: str, ids: Sequence[str]) -> list[tuple[str, float]]:
        tokens = set(query_tokens(self.index.tokenizers[self.tokenizer], query))
        titles = self.titles.get()
        bm25 = self.index.sparse_indexes()[self.tokenizer]
        n = max(len(bm25), 1)
        idf = {t: math.log(1 + n / (1 + bm25.df(t))) for t in tokens}
        total = math.fsum(idf.values()) or 1.0  # fsum: the same share whatever the set's (hash) order
        share: dict[str, float] = {}
        out = []
        for cid in ids:
            doc = cid.rsplit(":", 1)[0]
            if doc not in share:
                share[doc] = math.fsum(w for t, w in idf.items() if t in titles.get(doc, ())) / total
            out.append((cid, share[doc]))
        return out


class HeadingSignal:
    """The IDF-weighted share of the question's words found in each candidate's own heading (its section's leaf).

    The document's own title words are left out: in 「厚木市DX推進計画の計画期間は何年間ですか」 厚木市 … 計画
    name the document, not the passage, so the evidence is 期間 in 「４ 計画の期間」. A heading that several
    candidates share (a broad chapter of a long PDF) says little about any one of them, so with `spread` its
    share is divided among them. Without sections (JSQuAD) every candidate scores 0 and the ranking stays."""

    name = "heading"

    def __init__(self, index: Index, tokenizer: str = "sudachi", *, leaf: bool = True, spread: bool = True) -> None:
        self.index = index
        self.tokenizer = tokenizer
        self.leaf = leaf
        self.spread = spread
        self.titles = TitleWords(index, tokenizer)
        self._words: dict[str, frozenset[str]] = {}  # section path -> its words (tokenising is deterministic)

    def section_words(self, section: str) -> frozenset[str]:
        """The words of a section path's leaf heading (of the whole path without `leaf`), cached."""
        words = self._words.get(section)
        if words is None:
            heading = section.rsplit(SECTION_SEP, 1)[-1] if self.leaf else section
            words = frozenset(self.index.tokenizers[self.tokenizer].tokenize(heading)) if heading else frozenset()
            if len(self._words) > 50_000:
                self._words.clear()
            self._words[section] = words
        return words

    def score(self, query: str, ids: Sequence[str]) -> list[tuple[str, float]]:
        tokens = set(query_tokens(self.index.tokenizers[self.tokenizer], query))
        titles = self.titles.get()
        bm25 = self.index.sparse_indexes()[self.tokenizer]
        n = max(len(bm25), 1)
        idf = {t: math.log(1 + n / (1 + bm25.df(t))) for t in tokens}
        sections = {c.chunk_id: (c.doc_id, c.section) for c in self.index.get_chunks(list(ids))}
        shared = Counter(sections.get(cid, ("", "")) for cid in ids)
        out = []
        for cid in ids:
            doc, section = sections.get(cid, ("", ""))
            own = titles.get(doc, frozenset())
            wanted = {t: w for t, w in idf.items() if t not in own}
            total = math.fsum(wanted.values())
            heading = self.section_words(section)
            share = math.fsum(w for t, w in wanted.items() if t in heading) / total if total > 0 else 0.0
            if self.spread:
                share /= shared[(doc, section)]
            out.append((cid, share))
        return out


AnySignal = Signal | PoolSignal
SignalFactory = Callable[[Index, RetrieveSettings], AnySignal]

# name -> factory; the name is the key of the signal's weight in RetrieveSettings.weights. Besides these,
# each sparse tokeniser of the index ("sudachi", "bigram") is a BM25Signal under its own name.
SIGNALS: dict[str, SignalFactory] = {
    "dense": lambda index, settings: DenseSignal(index),
    "title": lambda index, settings: TitlePriorSignal(index),
    "heading": lambda index, settings: HeadingSignal(index),
    "sentence": lambda index, settings: SentenceSignal(index),
}


def register_signal(name: str, factory: SignalFactory) -> None:
    """Make `name` a signal: a positive `RetrieveSettings.weights[name]` builds it with `factory(index, settings)`."""
    SIGNALS[name] = factory


def build_signals(settings: RetrieveSettings, index: Index) -> list[AnySignal]:
    """The signals with a positive weight: dense, the index's BM25 tokenisers, then the other registered ones.

    Their order is the order in which their scores are summed in fusion. A weight naming no signal is
    ignored with a warning."""
    weighted = [n for n, w in settings.weights.items() if w > 0]
    order = dict.fromkeys(["dense", *index.tokenizers, *SIGNALS])
    names = [n for n in order if n in weighted and (n in SIGNALS or n in index.tokenizers)]
    unknown = [n for n in weighted if n not in names]
    if unknown:
        known = ", ".join(dict.fromkeys([*SIGNALS, *index.tokenizers]))
        log.warning("no retrieval signal named %s (known: %s); its weight is ignored", ", ".join(unknown), known)
    return [
        SIGNALS[n](index, settings) if n in SIGNALS else BM25Signal(index, n, title_mask=settings.title_mask)
        for n in names
    ]
