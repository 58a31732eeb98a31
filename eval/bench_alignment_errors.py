"""The leave-one-document-out errors of the alignment matrix (整合表), row by row and grouped by cause.

The same rule and fit as `eval.bench_alignment` ("evidence rule, 対応あり by coverage alone"): for
each source document, weights, the 一部対応 threshold and the coverage cut are fitted on the other
documents' labelled rows; for each held-out row that comes out wrong this prints the item, its label
and verdict, its key concepts, the fold's parameters, the best evidence passages (score, features,
the concepts each names, whether the labels mark it relevant) and the relevant passages that are
not evidence, then a count per cause. The causes are read off the row, not written per item:
  * paraphrase        — labelled 一部対応 / 対応あり, but no relevant passage names a key concept;
  * below threshold   — a relevant passage names a key concept but scores under the 一部対応 threshold;
  * spurious concept  — labelled 記載なし, but a passage naming a key concept (or a part of one)
                        scores over the threshold;
  * coverage full     — labelled 一部対応, but the shown evidence names every key concept (the label
                        turns on something the heading's nouns do not say: scope, purpose);
  * coverage short    — labelled 対応あり, but the shown evidence misses a key concept.
Run (store: bundled corpus + the 重点計画 2023 PDF):
    python -m eval.bench_alignment_errors --store DIR
"""

from __future__ import annotations

import argparse
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from assistant.align import (
    PairFeatures,
    evidence_mask,
    key_concepts,
    load_synonyms,
    pair_features,
)
from assistant.config import PlanSettings
from eval.bench_alignment import (
    DEFAULT_LABELS,
    LabelledRow,
    Named,
    fit_coverage,
    labelled_rows,
    load_bench,
    named_concepts,
    predict,
)

CAUSES = ("paraphrase", "below threshold", "spurious concept", "coverage full", "coverage short", "other")


@dataclass
class RowError:
    """One wrong held-out row and what the matrix saw for it."""

    row: LabelledRow
    predicted: str
    cause: str
    concepts: list[str]
    fold: str  # the fitted parameters of the row's fold
    lines: list[str] = field(default_factory=list)  # best passages, for reading


def cause_of(
    row: LabelledRow, predicted: str, scores: np.ndarray, eligible: np.ndarray, relevant: np.ndarray, threshold: float
) -> str:
    """The cause of one wrong row, from its scores (city passages), evidence mask and relevance mask."""
    if row.verdict == "記載なし":
        return "spurious concept"
    if predicted == "記載なし":
        if not (eligible & relevant).any():
            return "paraphrase"
        if float(scores[eligible & relevant].max()) < threshold:
            return "below threshold"
        return "other"
    if row.verdict == "一部対応" and predicted == "対応あり":
        return "coverage full"
    if row.verdict == "対応あり" and predicted == "一部対応":
        return "coverage short"
    return "other"


def _label(section: str) -> str:
    return section.split(" > ")[-1][:24] if section else "(表題)"


def explain(
    feats: PairFeatures, eligible: np.ndarray, rows: list[LabelledRow], named: Named, plan: PlanSettings
) -> tuple[list[str], list[RowError]]:
    """Leave-one-document-out verdicts (as bench_alignment's coverage-alone rule) and the wrong rows."""
    synonyms = load_synonyms(plan.synonyms_path)
    verdicts = [""] * len(rows)
    errors: list[RowError] = []
    for doc in dict.fromkeys(feats.items[r.index].doc_id for r in rows):
        test = [k for k, r in enumerate(rows) if feats.items[r.index].doc_id == doc]
        train = [r for k, r in enumerate(rows) if k not in test]
        w, th, kappa = fit_coverage(feats, eligible, train, named, False)
        fold = f"{doc}: weights {w} 一部対応 >= {th[0]:.3f}, coverage >= {kappa}"
        out = predict(feats, eligible, [rows[k] for k in test], w, th, named, kappa)
        scores = feats.scores(w)
        for k, v in zip(test, out.verdicts, strict=True):
            verdicts[k] = v
            r = rows[k]
            if v == r.verdict:
                continue
            item = feats.items[r.index]
            concepts = list(key_concepts(item.title, synonyms))
            relevant = np.array([r.is_relevant(c) for c in feats.city])
            err = RowError(r, v, cause_of(r, v, scores[r.index], eligible[r.index], relevant, th[0]), concepts, fold)
            for j in [int(j) for j in np.argsort(-scores[r.index], kind="stable") if eligible[r.index, j]][:3]:
                mask = int(named.masks[r.index, j])
                names = [c for b, c in enumerate(concepts) if mask >> b & 1]
                f = ", ".join(f"{n} {float(m[r.index, j]):+.2f}" for n, m in feats.features.items())
                rel = "relevant" if relevant[j] else "NOT relevant"
                err.lines.append(
                    f"evidence {scores[r.index, j]:+.2f} {_label(feats.city[j].section)} ({rel}; names {names}; {f})"
                )
            missing = [
                f"{_label(feats.city[j].section)} ({scores[r.index, j]:+.2f})"
                for j in range(len(feats.city))
                if relevant[j] and not eligible[r.index, j]
            ]
            if missing:
                err.lines.append("relevant, names no key concept: " + "; ".join(missing))
            errors.append(err)
    return verdicts, errors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--store", required=True, help="index directory with the bundled corpus and the 重点計画 PDF")
    parser.add_argument("--labels", default=str(DEFAULT_LABELS))
    args = parser.parse_args()
    b = load_bench(args.store, args.labels)
    pipeline, plan, items, city = b.pipeline, b.plan, b.items, b.city
    rows = labelled_rows(items, b.labels)
    feats = pair_features(pipeline, items, city, plan)
    rule = evidence_mask(items, city, plan)
    named = named_concepts(items, city, plan)
    verdicts, errors = explain(feats, rule, rows, named, plan)
    right = sum(v == r.verdict for v, r in zip(verdicts, rows, strict=True))
    print(f"labelled rows {len(rows)}, right {right}, wrong {len(errors)} (leave-one-document-out, coverage alone)")
    for cause in CAUSES:
        group = [e for e in errors if e.cause == cause]
        if not group:
            continue
        print(f"\n== {cause}: {len(group)}")
        for e in group:
            item = feats.items[e.row.index]
            print(
                f"- {item.doc_id} {item.heading}: label {e.row.verdict}, predicted {e.predicted}; concepts {e.concepts}"
            )
            print(f"    fold {e.fold}")
            for line in e.lines:
                print(f"    {line}")
    counts = Counter(e.cause for e in errors)
    print("\nby cause: " + ", ".join(f"{c} {counts[c]}" for c in CAUSES if counts[c]))


if __name__ == "__main__":
    main()
