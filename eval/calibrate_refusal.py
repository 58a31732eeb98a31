"""Calibrate the extractive answerer's refusal on questions with and without answers.

Indexes the bundled corpus into a store (default: a temporary one) and, for every calibration
question, computes its support score and whether the passages mention what it asks about (its focus).
Prints accuracy for a sweep of refusal thresholds, then for a sweep of the support a question needs
when its focus is missing, and finally the configured rule's accuracy on held-out questions that ask
for details (eval/calibration/refusal_detail.jsonl, written before the focus rule was tried). Run:
    python -m eval.calibrate_refusal [--store DIR] [--questions FILE] [--held-out FILE]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from dataclasses import dataclass
from pathlib import Path

from assistant.answer.extractive import refuses
from assistant.config import REPO_ROOT, Settings
from assistant.pipeline import Pipeline
from ingest.indexer import ingest_corpus

CALIBRATION = REPO_ROOT / "eval" / "calibration"
DEFAULT_QUESTIONS = CALIBRATION / "refusal.jsonl"
DEFAULT_HELD_OUT = CALIBRATION / "refusal_detail.jsonl"


@dataclass(frozen=True)
class Scored:
    question: str
    answerable: bool
    support: float
    missing_focus: str | None


def score(pipeline: Pipeline, path: Path) -> list[Scored]:
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        q = json.loads(line)
        hits = pipeline.search(q["question"]).hits
        ex = pipeline.extractive
        out.append(
            Scored(
                q["question"],
                bool(q["answerable"]),
                ex.support_score(q["question"], hits),
                ex.missing_focus(q["question"], hits),
            )
        )
    return out


def tally(scored: list[Scored], threshold: float, focus_support: float) -> tuple[float, int, int]:
    """(accuracy, false refusals, false answers) of the rule at these settings."""
    false_refusals = false_answers = 0
    for s in scored:
        refused = refuses(s.support, s.missing_focus, threshold, focus_support)
        false_refusals += s.answerable and refused
        false_answers += (not s.answerable) and not refused
    return 1 - (false_refusals + false_answers) / len(scored), false_refusals, false_answers


def cuts(values: list[float]) -> list[float]:
    v = sorted({round(x, 3) for x in values})
    return [0.0] + [(a + b) / 2 for a, b in zip(v, v[1:], strict=False)] + [1.01]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--store", help="index directory (default: a temporary one)")
    parser.add_argument("--questions", default=str(DEFAULT_QUESTIONS))
    parser.add_argument("--held-out", default=str(DEFAULT_HELD_OUT))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings() if args.store else Settings(home=Path(tmp))
        settings = settings.with_store(args.store)
        pipeline = Pipeline(settings)
        ingest_corpus(pipeline.index, settings)
        scored = score(pipeline, Path(args.questions))
        held = score(pipeline, Path(args.held_out)) if Path(args.held_out).exists() else []
    for s in sorted(scored, key=lambda s: s.support):
        focus = f"  [focus 「{s.missing_focus}」 not in the passages]" if s.missing_focus else ""
        print(f"{s.support:.3f}  {'answerable  ' if s.answerable else 'unanswerable'}  {s.question}{focus}")

    rows = [(t, *tally(scored, t, 0.0)) for t in cuts([s.support for s in scored])]
    best = max(rows, key=lambda r: (r[1], -abs(r[0] - 0.5)))
    print("\nsupport threshold (focus ignored)  accuracy  false_refusals  false_answers")
    for t, acc, fr, fa in rows:
        mark = "  <= best" if (t, acc, fr, fa) == best else ""
        print(f"{t:9.3f}  {acc:8.3f}  {fr:14d}  {fa:13d}{mark}")
    threshold = best[0]
    print(f"\nbest threshold {threshold:.3f}: accuracy {best[1]:.3f} on {len(scored)} questions")

    grid = [round(threshold + 0.05 * i, 2) for i in range(int((1.0 - threshold) / 0.05) + 2)]
    focus_rows = [(f, *tally(scored, threshold, f)) for f in grid]
    best_f = max(focus_rows, key=lambda r: (r[1], -r[0]))  # the lowest bar among the most accurate
    print(
        f"\nsupport needed when the focus is missing (threshold {threshold:.3f})  accuracy  false_refusals  false_answers"
    )
    for f, acc, fr, fa in focus_rows:
        mark = "  <= best" if (f, acc, fr, fa) == best_f else ""
        print(f"{f:9.3f}  {acc:8.3f}  {fr:14d}  {fa:13d}{mark}")

    a = pipeline.settings.answer
    print(f"\nconfigured: refusal_threshold {a.refusal_threshold}, focus_support {a.focus_support}")
    for name, qs in (("calibration", scored), ("held-out detail questions", held)):
        if not qs:
            continue
        acc0, fr0, fa0 = tally(qs, a.refusal_threshold, 0.0)
        acc1, fr1, fa1 = tally(qs, a.refusal_threshold, a.focus_support)
        print(
            f"  {name} ({len(qs)}): support only {acc0:.3f} ({fr0} false refusals, {fa0} false answers); "
            f"with the focus rule {acc1:.3f} ({fr1} false refusals, {fa1} false answers)"
        )


if __name__ == "__main__":
    main()
