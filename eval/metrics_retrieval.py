"""Retrieval metrics as pure functions over ranked id lists (one gold set per question)."""

from __future__ import annotations

from collections.abc import Collection, Sequence


def recall_at_k(ranked: Sequence[str], gold: Collection[str], k: int) -> float:
    """Fraction of the gold ids found in the top k (1.0 or 0.0 when there is one gold id)."""
    if not gold:
        raise ValueError("recall needs at least one gold id")
    return len(set(ranked[:k]) & set(gold)) / len(set(gold))


def hit_at_k(ranked: Sequence[str], gold: Collection[str], k: int) -> float:
    """1.0 if any gold id is in the top k."""
    return 1.0 if set(ranked[:k]) & set(gold) else 0.0


def mrr_at_k(ranked: Sequence[str], gold: Collection[str], k: int) -> float:
    """Reciprocal rank of the first gold id within the top k, else 0."""
    for rank, doc_id in enumerate(ranked[:k], start=1):
        if doc_id in gold:
            return 1.0 / rank
    return 0.0


def mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def summarize(
    runs: Sequence[tuple[Sequence[str], Collection[str]]], ks: Sequence[int] = (1, 5, 10)
) -> dict[str, float]:
    """Mean R@k for each k and MRR@10 over (ranked ids, gold ids) pairs."""
    out = {f"R@{k}": mean([recall_at_k(r, g, k) for r, g in runs]) for k in ks}
    out["MRR@10"] = mean([mrr_at_k(r, g, 10) for r, g in runs])
    return out
