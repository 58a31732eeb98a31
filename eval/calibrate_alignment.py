"""Calibrate the alignment matrix (整合表) on eval/alignment/labels.yaml and report honest accuracy.

Computes the pair features of assistant/align.py for every labelled item–passage pair, then picks
the feature weights (a small grid) and the two verdict thresholds (一部対応 / 対応あり) that maximise
accuracy. The figure to quote is the leave-one-out accuracy: each pair is predicted by weights and
thresholds fitted on the other pairs only. Also prints the confusion matrix and the row-level
(item) accuracy of the full fit. Run:
    python -m eval.calibrate_alignment [--store DIR] [--labels eval/alignment/labels.yaml]
"""

from __future__ import annotations

import argparse
import itertools
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from assistant.align import VERDICTS, PairFeatures, city_chunks, find_items, pair_features
from assistant.config import REPO_ROOT, Settings
from assistant.pipeline import Pipeline

DEFAULT_LABELS = REPO_ROOT / "eval" / "alignment" / "labels.yaml"
CLASS = {"記載なし": 0, "一部対応": 1, "対応あり": 2}
NAMES = ("記載なし", "一部対応", "対応あり")
GRID_VALUES = (0.0, 0.25, 0.5, 1.0, 2.0)
FEATURES = ("dense", "heading", "sentence", "reverse")


@dataclass
class Fit:
    accuracy: float
    weights: dict[str, float]
    partial: float
    full: float


def load_labels(path: Path) -> dict[str, Any]:
    return dict(yaml.safe_load(path.read_text(encoding="utf-8")))


def _unique(matches: list[int], what: str) -> int:
    if len(matches) != 1:
        raise SystemExit(f"labels: {what} matches {len(matches)} entries (must be exactly one)")
    return matches[0]


def labelled_pairs(feats: PairFeatures, labels: dict[str, Any]) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(feature rows, class ids, descriptions) of the labelled pairs."""
    xs, ys, names = [], [], []
    for pair in labels["pairs"]:
        it, ct = pair["item"], pair["city"]
        i = _unique(
            [n for n, x in enumerate(feats.items) if x.doc_id == it["doc_id"] and x.section.endswith(it["section"])],
            f"item {it}",
        )
        j = _unique(
            [
                n
                for n, c in enumerate(feats.city)
                if c.doc_id == ct["doc_id"]
                and (c.section.endswith(ct["section"]) if "section" in ct else ct["quote"] in c.text)
            ],
            f"city {ct}",
        )
        xs.append([feats.features[f][i, j] for f in FEATURES])
        ys.append(CLASS[pair["label"]])
        names.append(f"{feats.items[i].heading[:18]} × {feats.city[j].section.split(' > ')[-1][:18]}")
    return np.array(xs), np.array(ys), names


def best_thresholds(scores: np.ndarray, y: np.ndarray) -> tuple[float, float, float]:
    """(accuracy, partial, full) maximising accuracy; cuts lie midway between observed scores."""
    v = np.unique(scores)
    cuts = np.concatenate([[v[0] - 1], (v[1:] + v[:-1]) / 2, [v[-1] + 1]])
    below = {k: np.array([(scores[y == k] < c).sum() for c in cuts]) for k in (0, 1, 2)}
    n2 = (y == 2).sum()
    # correct(lo=i, hi=j) = class 0 below lo + class 1 in [lo, hi) + class 2 at/above hi, for i <= j
    correct = below[0][:, None] + (below[1][None, :] - below[1][:, None]) + (n2 - below[2][None, :])
    correct = np.where(np.triu(np.ones_like(correct, dtype=bool)), correct, -1)
    i, j = np.unravel_index(np.argmax(correct), correct.shape)
    return float(correct[i, j] / len(y)), float(cuts[i]), float(cuts[j])


def fit(x: np.ndarray, y: np.ndarray) -> Fit:
    best = Fit(-1.0, {}, 0.0, 0.0)
    for rest in itertools.product(GRID_VALUES, repeat=len(FEATURES) - 1):
        w = np.array((1.0, *rest))
        acc, lo, hi = best_thresholds(x @ w, y)
        if acc > best.accuracy:
            best = Fit(acc, dict(zip(FEATURES, w.tolist(), strict=True)), lo, hi)
    return best


def predict(x: np.ndarray, f: Fit) -> np.ndarray:
    s = x @ np.array([f.weights[k] for k in FEATURES])
    return (s >= f.partial).astype(int) + (s >= f.full).astype(int)


def leave_one_out(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    pred = np.zeros_like(y)
    for i in range(len(y)):
        keep = np.arange(len(y)) != i
        pred[i] = predict(x[i : i + 1], fit(x[keep], y[keep]))[0]
    return pred


def confusion(y: np.ndarray, pred: np.ndarray) -> str:
    lines = ["正解＼予測   " + "  ".join(f"{n:>5}" for n in NAMES)]
    for k, name in enumerate(NAMES):
        lines.append(f"{name}      " + "  ".join(f"{int(((y == k) & (pred == p)).sum()):>7}" for p in range(3)))
    return "\n".join(lines)


def item_accuracy(feats: PairFeatures, labels: dict[str, Any], f: Fit) -> tuple[float, list[str]]:
    """Row verdicts (best city passage per item) against the labelled item-level truth."""
    scores = feats.scores(f.weights)
    out, ok = [], 0
    truth = {f"{r['item']['doc_id']}#{r['item']['heading']}": r["verdict"] for r in labels.get("rows") or []}
    for i, item in enumerate(feats.items):
        if item.item_id not in truth:
            continue
        best = float(scores[i].max()) if scores.shape[1] else 0.0
        got = "対応あり" if best >= f.full else "一部対応" if best >= f.partial else "記載なし"
        ok += got == truth[item.item_id]
        out.append(f"{'✓' if got == truth[item.item_id] else '✗'} {item.item_id}: {got} (正解 {truth[item.item_id]})")
    return (ok / len(out) if out else 0.0), out


def evaluate(pipeline: Pipeline, labels_path: Path = DEFAULT_LABELS) -> dict[str, Any]:
    """Everything the report prints, as data (the test suite checks the LOO accuracy)."""
    labels = load_labels(labels_path)
    plan = pipeline.settings.plan
    feats = pair_features(pipeline, find_items(pipeline, plan), city_chunks(pipeline, plan), plan)
    x, y, names = labelled_pairs(feats, labels)
    full = fit(x, y)
    loo = leave_one_out(x, y)
    # the configured weights and thresholds, as the matrix uses them
    current = Fit(0.0, dict(plan.weights), plan.partial_threshold, plan.full_threshold)
    configured = predict(x, current)
    item_acc, item_lines = item_accuracy(feats, labels, current)
    return {
        "n": len(y),
        "fit": full,
        "train_accuracy": full.accuracy,
        "loo_accuracy": float((loo == y).mean()),
        "loo_pred": loo,
        "configured_accuracy": float((configured == y).mean()),
        "configured_pred": configured,
        "y": y,
        "names": names,
        "item_accuracy": item_acc,
        "item_lines": item_lines,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--store", help="index directory (default: a temporary one with the bundled corpus)")
    parser.add_argument("--labels", default=str(DEFAULT_LABELS))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings().with_store(args.store) if args.store else Settings(home=Path(tmp))
        pipeline = Pipeline(settings)
        if not args.store:
            from ingest.indexer import ingest_corpus

            ingest_corpus(pipeline.index, settings)
        r = evaluate(pipeline, Path(args.labels))
    f: Fit = r["fit"]
    print(f"labelled pairs: {r['n']}  (classes: {', '.join(VERDICTS)})")
    for name, yy, p in zip(r["names"], r["y"], r["loo_pred"], strict=True):
        print(f"  {'✓' if yy == p else '✗'} {NAMES[yy]} → {NAMES[p]}  {name}")
    print(f"\nfull fit: weights {f.weights}  一部対応 >= {f.partial:.3f}  対応あり >= {f.full:.3f}")
    print(f"training accuracy (optimistic): {r['train_accuracy']:.3f}")
    print(
        f"leave-one-out accuracy (weights and thresholds refitted without the held-out pair): {r['loo_accuracy']:.3f}"
    )
    print(confusion(r["y"], r["loo_pred"]))
    print(f"\nconfigured settings (plan.weights / thresholds): accuracy {r['configured_accuracy']:.3f}")
    print(confusion(r["y"], r["configured_pred"]))
    print(f"\nrow (item) verdict accuracy with the configured settings: {r['item_accuracy']:.3f}")
    for line in r["item_lines"]:
        print("  " + line)


if __name__ == "__main__":
    main()
