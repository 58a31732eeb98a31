"""Calibrate the extractive answerer's refusal threshold on questions with and without answers.

Indexes the bundled corpus into a store (default: a temporary one), computes each question's
support score, and prints accuracy for a sweep of thresholds plus the best one. Run:
    python -m eval.calibrate_refusal [--store DIR] [--questions eval/calibration/refusal.jsonl]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from assistant.config import REPO_ROOT, Settings
from assistant.pipeline import Pipeline
from ingest.indexer import ingest_corpus

DEFAULT_QUESTIONS = REPO_ROOT / "eval" / "calibration" / "refusal.jsonl"


def support_scores(pipeline: Pipeline, questions: list[dict]) -> list[tuple[float, bool, str]]:
    out = []
    for q in questions:
        hits = pipeline.search(q["question"]).hits
        out.append((pipeline.extractive.support_score(q["question"], hits), bool(q["answerable"]), q["question"]))
    return out


def sweep(scores: list[tuple[float, bool, str]]) -> list[tuple[float, float, int, int]]:
    """(threshold, accuracy, false refusals, false answers) for thresholds between observed scores."""
    values = sorted({round(s, 3) for s, _, _ in scores})
    cuts = [0.0] + [(a + b) / 2 for a, b in zip(values, values[1:], strict=False)] + [1.01]
    rows = []
    for t in cuts:
        false_refusals = sum(1 for s, a, _ in scores if a and s < t)
        false_answers = sum(1 for s, a, _ in scores if not a and s >= t)
        rows.append((t, 1 - (false_refusals + false_answers) / len(scores), false_refusals, false_answers))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--store", help="index directory (default: a temporary one)")
    parser.add_argument("--questions", default=str(DEFAULT_QUESTIONS))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings() if args.store else Settings(home=Path(tmp))
        settings = settings.with_store(args.store)
        pipeline = Pipeline(settings)
        ingest_corpus(pipeline.index, settings)
        questions = [json.loads(line) for line in Path(args.questions).read_text(encoding="utf-8").splitlines() if line]
        scores = support_scores(pipeline, questions)
    for s, a, q in sorted(scores):
        print(f"{s:.3f}  {'answerable  ' if a else 'unanswerable'}  {q}")
    rows = sweep(scores)
    best = max(rows, key=lambda r: (r[1], -abs(r[0] - 0.5)))
    print("\nthreshold  accuracy  false_refusals  false_answers")
    for t, acc, fr, fa in rows:
        mark = "  <= best" if (t, acc, fr, fa) == best else ""
        print(f"{t:9.3f}  {acc:8.3f}  {fr:14d}  {fa:13d}{mark}")
    print(f"\nbest threshold {best[0]:.3f}: accuracy {best[1]:.3f} on {len(scores)} questions")


if __name__ == "__main__":
    main()
