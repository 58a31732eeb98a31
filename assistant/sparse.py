"""Japanese sparse retrieval: tokenisers (Sudachi words, character bigrams), a BM25 index, rank fusion.

Settings chosen by measurement on JSQuAD (eval/bench_retrieval_jsquad.py); see DEFAULT_* below.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Any, Literal, Protocol, runtime_checkable

import numpy as np
import scipy.sparse as sp

from assistant.era import expand_years

# Chosen on JSQuAD's tune half (eval/bench_retrieval_jsquad.py --explore): mode A beats B/C, k1=0.6 beats
# 0.9-2.0 for both tokenisers (passages are short, so term-frequency saturation matters little), b barely matters.
DEFAULT_K1 = 0.6
DEFAULT_B = 0.75
DEFAULT_SUDACHI_MODE: Literal["A", "B", "C"] = "A"
DEFAULT_BIGRAM_UNIGRAMS: Literal["isolated", "all", "none"] = "all"
DEFAULT_DROP_POS: tuple[str, ...] = ("補助記号", "空白", "助詞", "助動詞")

# Question words carry no evidence about which passage answers; they only add noise to BM25.
QUESTION_WORDS: frozenset[str] = frozenset(
    {
        "何",
        "なに",
        "なん",
        "どこ",
        "誰",
        "だれ",
        "いつ",
        "どれ",
        "どの",
        "どう",
        "どんな",
        "いくつ",
        "いくら",
        "何故",
        "なぜ",
    }
)


@runtime_checkable
class Tokenizer(Protocol):
    """Turns text into index terms. `name` identifies the settings (it keys persisted indexes)."""

    name: str

    def tokenize(self, text: str) -> list[str]: ...


def _is_word_char(ch: str) -> bool:
    cat = unicodedata.category(ch)
    return cat[0] in "LN" or ch in "ー々〆ヶ"


class BigramTokenizer:
    """Character bigrams over NFKC-normalised, lower-cased text; punctuation and spaces break runs.

    unigrams='all' adds every character too (+0.006 R@1 on JSQuAD: one-kanji words such as 川 or 党 count);
    'isolated' adds only runs of one character.
    """

    def __init__(
        self, *, unigrams: Literal["isolated", "all", "none"] = DEFAULT_BIGRAM_UNIGRAMS, era: bool = True
    ) -> None:
        self.unigrams = unigrams
        self.era = era
        self.name = f"bigram-u{unigrams}{'-era' if era else ''}"

    def runs(self, text: str) -> list[str]:
        if self.era:
            text = expand_years(text)
        text = unicodedata.normalize("NFKC", text).lower()
        out: list[str] = []
        cur: list[str] = []
        for ch in text:
            if _is_word_char(ch):
                cur.append(ch)
            elif cur:
                out.append("".join(cur))
                cur = []
        if cur:
            out.append("".join(cur))
        return out

    def tokenize(self, text: str) -> list[str]:
        tokens: list[str] = []
        for run in self.runs(text):
            if len(run) == 1:
                if self.unigrams != "none":
                    tokens.append(run)
                continue
            tokens.extend(run[i : i + 2] for i in range(len(run) - 1))
            if self.unigrams == "all":
                tokens.extend(run)
        return tokens


# Sudachi refuses inputs above ~49 KB; split long texts at line or sentence ends well below that.
_MAX_SUDACHI_CHARS = 4000
_SPLIT_RE = re.compile(r"(?<=[\n。．！？!?])")


def _pieces(text: str) -> Iterable[str]:
    if len(text) <= _MAX_SUDACHI_CHARS:
        yield text
        return
    buf = ""
    for part in _SPLIT_RE.split(text):
        while len(part) > _MAX_SUDACHI_CHARS:  # a single sentence longer than the limit
            if buf:
                yield buf
                buf = ""
            yield part[:_MAX_SUDACHI_CHARS]
            part = part[_MAX_SUDACHI_CHARS:]
        if len(buf) + len(part) > _MAX_SUDACHI_CHARS:
            yield buf
            buf = ""
        buf += part
    if buf:
        yield buf


class SudachiTokenizer:
    """Sudachi (sudachidict-core) words in normalised form, without punctuation and (by default) particles.

    One Sudachi tokenizer per thread: a Sudachi tokenizer must not be used concurrently.
    """

    _dict_lock = threading.Lock()
    _dictionary = None  # shared across instances: loading the dictionary takes ~0.3 s

    def __init__(
        self,
        *,
        mode: Literal["A", "B", "C"] = DEFAULT_SUDACHI_MODE,
        form: Literal["normalized", "dictionary", "surface"] = "normalized",
        drop_pos: Sequence[str] = DEFAULT_DROP_POS,
        drop_words: Iterable[str] = (),
        era: bool = True,
    ) -> None:
        self.mode = mode
        self.form = form
        self.drop_pos = tuple(drop_pos)
        self.drop_words = frozenset(drop_words)
        self.era = era
        pos = "+".join(self.drop_pos) or "none"
        stop = f"-stop{len(self.drop_words)}" if self.drop_words else ""
        self.name = f"sudachi-{mode}-{form}-drop[{pos}]{stop}{'-era' if era else ''}"
        dictionary = self._get_dictionary()
        # POS ids are small ints; a set lookup per morpheme is much cheaper than comparing POS tuples.
        self._drop_ids: frozenset[int] = frozenset(
            i for i, pos in enumerate(self._all_pos(dictionary)) if pos and pos[0] in self.drop_pos
        )

    @classmethod
    def _get_dictionary(cls) -> Any:
        with cls._dict_lock:
            if cls._dictionary is None:
                from sudachipy import Dictionary

                cls._dictionary = Dictionary(dict="core")
            return cls._dictionary

    @staticmethod
    def _all_pos(dictionary) -> list[tuple[str, ...]]:  # type: ignore[no-untyped-def]
        out = []
        i = 0
        while (pos := dictionary.pos_of(i)) is not None:
            out.append(tuple(pos))
            i += 1
        return out

    def _tokenizer(self) -> Any:
        return sudachi_tokenizer(self.mode)

    def tokenize(self, text: str) -> list[str]:
        if self.era:
            text = expand_years(text)
        tok = self._tokenizer()
        drop_ids, drop_words, form = self._drop_ids, self.drop_words, self.form
        out: list[str] = []
        for piece in _pieces(text):
            for m in tok.tokenize(piece):
                if m.part_of_speech_id() in drop_ids:
                    continue
                if form == "normalized":
                    w = m.normalized_form()
                elif form == "dictionary":
                    w = m.dictionary_form()
                else:
                    w = m.surface()
                w = w.strip().lower()
                if w and w not in drop_words:
                    out.append(w)
        return out


_thread_local = threading.local()


def sudachi_tokenizer(mode: str):  # type: ignore[no-untyped-def]
    """The calling thread's raw Sudachi tokenizer for split mode A, B or C (one must not be shared by threads)."""
    by_mode = getattr(_thread_local, "sudachi", None)
    if by_mode is None:
        by_mode = _thread_local.sudachi = {}
    tok = by_mode.get(mode)
    if tok is None:
        tok = by_mode[mode] = SudachiTokenizer._get_dictionary().tokenizer(mode=mode)
    return tok


def strip_question_words(query: str) -> str:
    """The query with its question words (何, どこ, 誰 …) replaced by a separator, longest first."""
    for w in sorted(QUESTION_WORDS, key=len, reverse=True):
        query = query.replace(w, "、")
    return query


def query_tokens(tokenizer: Tokenizer, query: str, *, drop_question_words: bool = True) -> list[str]:
    """Tokenise a question; question words (何, どこ, 誰 …) are dropped as they never occur in the answer."""
    tokens = tokenizer.tokenize(query)
    if not drop_question_words:
        return tokens
    if isinstance(tokenizer, BigramTokenizer):
        return tokenizer.tokenize(strip_question_words(query)) or tokens
    kept = [t for t in tokens if t not in QUESTION_WORDS]
    return kept or tokens


class BM25Index:
    """Okapi BM25 over a sparse term matrix; add/remove are cheap and arrays are rebuilt lazily on search.

    idf = ln(1 + (N - df + 0.5) / (df + 0.5)), always positive. Query terms count once each.
    """

    def __init__(
        self,
        ids: Sequence[str] = (),
        token_lists: Sequence[Sequence[str]] = (),
        *,
        k1: float = DEFAULT_K1,
        b: float = DEFAULT_B,
    ) -> None:
        self.k1 = k1
        self.b = b
        self._vocab: dict[str, int] = {}
        self._docs: dict[str, tuple[np.ndarray, np.ndarray, int]] = {}  # id -> (term ids, tfs, length)
        self._dirty = True
        self._ids: list[str] = []
        self._row: dict[str, int] = {}
        self._w: sp.csc_matrix | None = None
        self._df: np.ndarray = np.zeros(0, dtype=np.float32)
        self._owner_index: dict[str, int] = {}
        self._row_owner: np.ndarray = np.zeros(0, dtype=np.int32)
        self.add(ids, token_lists)

    def __len__(self) -> int:
        return len(self._docs)

    def __contains__(self, doc_id: object) -> bool:
        return doc_id in self._docs

    @property
    def ids(self) -> list[str]:
        return list(self._docs)

    def add(self, ids: Sequence[str], token_lists: Sequence[Sequence[str]]) -> None:
        """Add (or replace) documents."""
        if len(ids) != len(token_lists):
            raise ValueError(f"{len(ids)} ids but {len(token_lists)} token lists")
        vocab = self._vocab
        for doc_id, tokens in zip(ids, token_lists, strict=True):
            counts = Counter(tokens)
            terms = np.fromiter((vocab.setdefault(t, len(vocab)) for t in counts), dtype=np.int32, count=len(counts))
            tfs = np.fromiter(counts.values(), dtype=np.float32, count=len(counts))
            self._docs[doc_id] = (terms, tfs, len(tokens))
        if ids:
            self._dirty = True

    def remove(self, ids: Iterable[str]) -> None:
        """Remove documents; unknown ids are ignored."""
        for doc_id in ids:
            if self._docs.pop(doc_id, None) is not None:
                self._dirty = True

    def _build(self) -> None:
        self._ids = list(self._docs)
        self._row = {d: i for i, d in enumerate(self._ids)}
        # the document each row belongs to (chunk ids are "<doc_id>:<digest>"), for per-document masks
        owners = [cid.rsplit(":", 1)[0] for cid in self._ids]
        self._owner_index = {o: i for i, o in enumerate(dict.fromkeys(owners))}
        self._row_owner = np.fromiter((self._owner_index[o] for o in owners), dtype=np.int32, count=len(owners))
        n, v = len(self._ids), max(len(self._vocab), 1)
        if n == 0:
            self._w = sp.csc_matrix((0, v), dtype=np.float32)
            self._dirty = False
            return
        docs = [self._docs[d] for d in self._ids]
        lengths = np.array([dl for _, _, dl in docs], dtype=np.float32)
        rows = np.repeat(np.arange(n, dtype=np.int32), [len(t) for t, _, _ in docs])
        cols = np.concatenate([t for t, _, _ in docs])
        tf = np.concatenate([f for _, f, _ in docs])
        df = np.bincount(cols, minlength=v).astype(np.float32)
        self._df = df
        idf = np.log1p((n - df + 0.5) / (df + 0.5)).astype(np.float32)
        avgdl = float(lengths.mean()) or 1.0
        norm = self.k1 * (1.0 - self.b + self.b * lengths[rows] / avgdl)
        w = idf[cols] * tf * (self.k1 + 1.0) / (tf + norm)
        self._w = sp.csc_matrix((w, (rows, cols)), shape=(n, v), dtype=np.float32)
        self._dirty = False

    def df(self, token: str) -> int:
        """How many indexed chunks contain `token` (0 for a word the index has never seen)."""
        if self._dirty:
            self._build()
        i = self._vocab.get(token)
        return int(self._df[i]) if i is not None and i < len(self._df) else 0

    def search(
        self,
        query_tokens: Sequence[str],
        k: int = 10,
        allowed: set[str] | None = None,
        masked: Mapping[str, Collection[str]] | None = None,
    ) -> list[tuple[str, float]]:
        """Top-k (id, score) with score > 0, best first; `allowed` restricts results to those ids.

        `masked` maps a query term to the documents (chunk-id prefixes) in whose chunks it does not count:
        a word of a document's own title says nothing about which of its passages answers."""
        if self._dirty:
            self._build()
        assert self._w is not None
        terms = sorted({t for t in query_tokens if t in self._vocab}, key=self._vocab.__getitem__)
        if not terms or k <= 0 or not self._ids:
            return []
        term_ids = [self._vocab[t] for t in terms]
        if masked and any(masked.get(t) for t in terms):
            weights = self._w[:, term_ids].toarray()
            for j, t in enumerate(terms):
                owners = [self._owner_index[o] for o in masked.get(t, ()) if o in self._owner_index]
                if owners:
                    weights[np.isin(self._row_owner, owners), j] = 0.0
            scores = weights.sum(axis=1)
        else:
            scores = np.asarray(self._w[:, term_ids].sum(axis=1)).ravel()
        if allowed is not None:
            mask = np.zeros(len(scores), dtype=bool)
            mask[[self._row[d] for d in allowed if d in self._row]] = True
            scores = np.where(mask, scores, 0.0)
        cand = np.flatnonzero(scores > 0)
        if len(cand) > k:
            cand = cand[np.argpartition(-scores[cand], k - 1)[:k]]
        cand = cand[np.lexsort((cand, -scores[cand]))]  # score desc, then insertion order: deterministic
        return [(self._ids[i], float(scores[i])) for i in cand]


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
