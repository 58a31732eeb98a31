"""Cross-validated retrieval settings on staffqa dev: hit@5 and section_hit@5 per fold, then choose-on-2-report-on-1.

Searches the answerable single-turn questions in process (no answers, no follow-ups) with each named
retrieval override and scores the top 5 exactly as eval/bench_staffqa.py does. Then, for each of the
folds, the override with the best hit@5 (then section_hit@5; ties go to the configured settings) on
the other folds is reported on the held-out one.

    python -m eval.cv_staffqa '{"heading 0.5": {"weights": {"dense": 1, "sudachi": 1, "bigram": 1, "heading": 0.5}}}'

The store is bench_staffqa's (<DXA_HOME>/bench/staffqa, built by it when missing).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping, Sequence
from typing import Any

from assistant.config import RetrieveSettings, Settings
from assistant.pipeline import Pipeline
from assistant.retrieve import Retriever
from eval.bench_staffqa import BENCH, Cli, build_store, fold_of, load_cases, score

AS_CONFIGURED = "as configured"
Rows = dict[str, tuple[float | None, float | None, int]]  # id -> (hit@5, section_hit@5, fold)


def measure(overrides: Mapping[str, dict[str, Any]], folds: int) -> dict[str, Rows]:
    """Per-question hit@5 / section_hit@5 under each override of the configured retrieval settings."""
    settings = Settings()
    store = settings.home / "bench" / "staffqa"
    doc_ids = build_store(Cli(store))
    pipeline = Pipeline(settings.with_store(store))
    cases = [c for c in load_cases([BENCH / "dev.jsonl"]) if c.answerable]
    base = settings.retrieve.model_dump()
    out: dict[str, Rows] = {}
    for name, over in {AS_CONFIGURED: {}, **overrides}.items():
        retriever = Retriever(pipeline.index, RetrieveSettings(**{**base, **over}))
        rows: Rows = {}
        for c in cases:
            hits = [
                {"text": h.chunk.text, "doc_id": h.chunk.doc_id, "page": h.chunk.page, "section": h.chunk.section}
                for h in retriever.search(c.question, 5).hits
            ]
            s = score(c, hits, {"refused": True}, doc_ids)
            rows[c.id] = (s.hit5, s.section_hit5, fold_of(c.id, folds))
        out[name] = rows
    return out


def mean(rows: Rows, folds: set[int], col: int) -> float:
    vals = [v[col] for v in rows.values() if v[2] in folds and v[col] is not None]
    return sum(v for v in vals if v is not None) / len(vals) if vals else 0.0


def report(results: Mapping[str, Rows], folds: int) -> list[str]:
    """Per-override figures per fold, then the cross-validated choice for each held-out fold."""
    every = set(range(folds))
    lines = [f"{'retrieval':<34} {'hit@5':>6} {'sect@5':>6}   hit@5 per fold   sect@5 per fold"]
    for name, rows in results.items():
        per = " / ".join(f"{mean(rows, {f}, 0):.3f}" for f in every)
        per_s = " / ".join(f"{mean(rows, {f}, 1):.3f}" for f in every)
        lines.append(f"{name:<34} {mean(rows, every, 0):6.3f} {mean(rows, every, 1):6.3f}   {per}   {per_s}")
    held: dict[str, float] = {"hit": 0.0, "sect": 0.0}
    counts = {"hit": 0, "sect": 0}
    for f in every:
        train = every - {f}
        best = max(results, key=lambda n: (mean(results[n], train, 0), mean(results[n], train, 1), n == AS_CONFIGURED))
        rows = results[best]
        for key, col in (("hit", 0), ("sect", 1)):
            k = sum(1 for v in rows.values() if v[2] == f and v[col] is not None)
            held[key] += mean(rows, {f}, col) * k
            counts[key] += k
        lines.append(f"fold {f}: chosen on the others: {best!r} -> {mean(rows, {f}, 0):.3f} / {mean(rows, {f}, 1):.3f}")
    lines.append(
        f"cross-validated (held-out folds pooled): hit@5 {held['hit'] / counts['hit']:.3f}, "
        f"section_hit@5 {held['sect'] / counts['sect']:.3f}"
    )
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("overrides", help='JSON: {"name": {RetrieveSettings field: value, …}, …}')
    parser.add_argument("--folds", type=int, default=3)
    args = parser.parse_args(argv)
    if not (BENCH / "dev.jsonl").exists():
        print(f"staffqa material not found ({BENCH}): nothing to do")
        return 0
    print("\n".join(report(measure(json.loads(args.overrides), args.folds), args.folds)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
