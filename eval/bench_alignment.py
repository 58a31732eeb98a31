"""Row verdicts and evidence of the alignment matrix (整合表) on the labelled rows, leave-one-document-out.

eval/alignment/labels.yaml `rows` gives each item's verdict and the city sections that may stand as
its evidence. For each source document in turn, the weights and the two thresholds are fitted on the
rows of the other documents and the held-out document's rows are predicted; the figures are
  * row verdict accuracy (the row's verdict against the label),
  * evidence precision (share of the city passages shown as evidence that the labels mark relevant),
  * title-line / heading / schedule-row quotes shown as evidence (must be 0).
Three rules are compared on the same features: "score only" (the best passage, whatever it says),
"evidence rule" (assistant/align/evidence.py; two score thresholds) and "evidence rule + coverage"
(the score decides 記載なし / 一部対応, and 対応あり needs the shown evidence to name the share
plan.full_coverage of the item's key concepts; the share is fitted too). `--old-module FILE` also
scores the matrix of another align module (e.g. the one before issue 13,
`git show 33f0f40:assistant/align.py > /tmp/align_old.py`). `--llm` (eval/bench_alignment_llm.py)
runs the same labelled rows through the LLM path instead (whatever DXA_LLM__* configures: the same
prompt builder, JSON parsing and evidence / quote re-check as `dxa align` with an LLM), printing the
same figures plus the replies that could not be read and the picks the re-check dropped, then drafts
the four 体系 sections with the LLM and runs `dxa draft check` on each. `--indexed-only` keeps the
labelled rows of the documents the store holds (e.g. a bundled-corpus store).
Run (the store should hold the bundled corpus and the 重点計画 2023 PDF):
    python -m eval.bench_alignment --store DIR [--labels eval/alignment/labels.yaml] [--old-module FILE] [--llm] [--indexed-only]
"""

from __future__ import annotations

import argparse
import importlib.util
import itertools
import re
import sys
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from assistant.align import (
    AlignItem,
    PairFeatures,
    city_chunks,
    content_sentences,
    decide_row,
    evidence_mask,
    find_items,
    is_content,
    key_concepts,
    load_synonyms,
    pair_features,
)
from assistant.align.evidence import nfkc
from assistant.config import REPO_ROOT, PlanSettings, Settings
from assistant.pipeline import Pipeline
from assistant.types import Chunk
from eval.bench_alignment_llm import describe, llm_drafts, llm_rows

DEFAULT_LABELS = REPO_ROOT / "eval" / "alignment" / "labels.yaml"
FEATURES = ("dense", "heading", "sentence", "reverse")
GRID = (0.0, 0.5, 1.0, 2.0)


def norm(text: str) -> str:
    s = re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))
    return s.removesuffix("新規")


@dataclass
class LabelledRow:
    index: int  # into the item list
    verdict: str
    relevant: list[str]  # normalised section names

    def is_relevant(self, chunk: Chunk) -> bool:
        last = norm(chunk.section.split(" > ")[-1]) if chunk.section else ""
        return bool(last) and any(last.startswith(r) or r.startswith(last) for r in self.relevant)


def labelled_rows(items: list[AlignItem], labels: dict[str, Any], docs: set[str] | None = None) -> list[LabelledRow]:
    """The labelled rows as item indexes; `docs` keeps only the rows of these documents."""
    out = []
    for row in labels["rows"]:
        it = row["item"]
        if docs is not None and it["doc_id"] not in docs:
            continue
        found = [
            i
            for i, x in enumerate(items)
            if x.doc_id == it["doc_id"]
            and norm(x.heading) == norm(it["heading"])
            and norm(it.get("under", "")) in norm(x.section)
        ]
        if len(found) != 1:
            raise SystemExit(f"labels: {it} matches {len(found)} items (must be exactly one)")
        out.append(LabelledRow(found[0], row["verdict"], [norm(r) for r in row.get("relevant") or []]))
    return out


@dataclass
class Outcome:
    verdicts: list[str]
    shown: list[list[Chunk]]  # evidence passages per row


@dataclass
class Named:
    """items x city bitmasks of the key concepts each passage names, and the concepts per item."""

    masks: np.ndarray
    counts: list[int]

    def coverage(self, i: int, js: list[int]) -> float:
        """As assistant.align.evidence.concept_coverage, from the bitmasks."""
        if not self.counts[i]:
            return 1.0
        union = 0
        for j in js:
            union |= int(self.masks[i, j])
        return bin(union).count("1") / self.counts[i]


def predict(
    feats: PairFeatures,
    eligible: np.ndarray,
    rows: list[LabelledRow],
    w: dict[str, float],
    th: tuple[float, float],
    named: Named | None = None,
    kappa: float | None = None,
) -> Outcome:
    """The product's row rule (decide_row), with the coverage cut `kappa` for 対応あり when given."""
    scores = feats.scores(w)
    verdicts, shown = [], []
    for r in rows:
        cover = (lambda js, i=r.index: named.coverage(i, js)) if named else None
        d = decide_row(scores[r.index], eligible[r.index], th, 3, cover, kappa)
        verdicts.append(d.verdict)
        shown.append([feats.city[j] for j in d.evidence])
    return Outcome(verdicts, shown)


def figures(rows: list[LabelledRow], out: Outcome) -> tuple[float, float, int, int]:
    """(accuracy, evidence precision, relevant shown, shown)."""
    acc = float(np.mean([v == r.verdict for v, r in zip(out.verdicts, rows, strict=True)])) if rows else 0.0
    rel = sum(r.is_relevant(c) for r, cs in zip(rows, out.shown, strict=True) for c in cs)
    n = sum(len(cs) for cs in out.shown)
    return acc, (rel / n if n else 1.0), rel, n


def _top_evidence(
    feats: PairFeatures, scores: np.ndarray, eligible: np.ndarray, rows: list[LabelledRow]
) -> tuple[np.ndarray, np.ndarray, list[list[int]]]:
    """Per row its best three eligible passages: their scores (-inf where fewer), whether the labels mark
    each relevant, and the passages' indexes."""
    top3 = np.full((len(rows), 3), -np.inf)
    rel3 = np.zeros((len(rows), 3), dtype=bool)
    picks = []
    for k, r in enumerate(rows):
        js = [int(j) for j in np.argsort(-scores[r.index], kind="stable") if eligible[r.index, j]][:3]
        top3[k, : len(js)] = scores[r.index, js]
        rel3[k, : len(js)] = [r.is_relevant(feats.city[j]) for j in js]
        picks.append(js)
    return top3, rel3, picks


def _threshold_pairs(top3: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """Every (一部対応, 対応あり) threshold pair with lo <= hi that separates the rows' best scores differently."""
    finite = np.unique(top3[:, 0][np.isfinite(top3[:, 0])])
    if not finite.size:
        return None
    cuts = np.concatenate([[finite[0] - 1], (finite[1:] + finite[:-1]) / 2, [finite[-1] + 1]])
    lo, hi = np.meshgrid(cuts, cuts, indexing="ij")
    return lo[lo <= hi], hi[lo <= hi]


def fit(
    feats: PairFeatures, eligible: np.ndarray, rows: list[LabelledRow]
) -> tuple[dict[str, float], tuple[float, float]]:
    """Weights (small grid) and thresholds maximising row accuracy, then evidence precision, on `rows`.

    Vectorised over all threshold pairs: per row only the best three evidence passages matter.
    """
    code = {"記載なし": 0, "一部対応": 1, "対応あり": 2}
    y = np.array([code[r.verdict] for r in rows])
    best: tuple[float, float] = (-1.0, -1.0)
    choice: tuple[dict[str, float], tuple[float, float]] = ({}, (0.0, 0.0))
    for rest in itertools.product(GRID, repeat=len(FEATURES) - 1):
        w = dict(zip(FEATURES, (1.0, *rest), strict=True))
        top3, rel3, _ = _top_evidence(feats, feats.scores(w), eligible, rows)
        pairs = _threshold_pairs(top3)
        if pairs is None:
            continue
        lo, hi = pairs
        t = top3[:, 0][None, :]
        pred = (t >= lo[:, None]).astype(int) + (t >= hi[:, None]).astype(int)  # pairs x rows
        acc = (pred == y[None, :]).mean(1)
        shown = (top3[None, :, :] >= lo[:, None, None]) & (pred > 0)[:, :, None]
        n_shown = shown.sum((1, 2))
        prec = np.where(n_shown > 0, (shown & rel3[None]).sum((1, 2)) / np.maximum(n_shown, 1), 1.0)
        k = int(np.lexsort((prec, acc))[-1])
        if (float(acc[k]), float(prec[k])) > best:
            best, choice = (float(acc[k]), float(prec[k])), (w, (float(lo[k]), float(hi[k])))
    return choice


# -- coverage: 対応あり when the evidence names all of the item's key concepts ----------------------------
COVERAGE_GRID = (0.34, 0.5, 0.67, 0.75, 1.0)


def named_concepts(items: list[AlignItem], city: list[Chunk], plan: PlanSettings) -> Named:
    """Which key concepts of each item each passage's content sentences name (evidence.concept_coverage)."""
    synonyms = load_synonyms(plan.synonyms_path)
    masks = np.zeros((len(items), len(city)), dtype=object)
    counts = []
    sentences = [[nfkc(x) for x in content_sentences(c)] for c in city]
    for i, item in enumerate(items):
        concepts = list(key_concepts(item.title, synonyms).values())
        counts.append(len(concepts))
        for j in range(len(city)):
            masks[i, j] = sum(1 << k for k, ts in enumerate(concepts) if any(t in x for x in sentences[j] for t in ts))
    return Named(masks, counts)


def fit_coverage(
    feats: PairFeatures, eligible: np.ndarray, rows: list[LabelledRow], named: Named, both: bool
) -> tuple[dict[str, float], tuple[float, float], float]:
    """Weights, thresholds and the coverage cut for 対応あり maximising row accuracy, then evidence
    precision, on `rows` (the shown evidence: the top three passages over the 一部対応 threshold).
    `both`: 対応あり needs the score threshold and the coverage; else the coverage alone."""
    code = {"記載なし": 0, "一部対応": 1, "対応あり": 2}
    y = np.array([code[r.verdict] for r in rows])
    best: tuple[float, float] = (-1.0, -1.0)
    choice: tuple[dict[str, float], tuple[float, float], float] = ({}, (0.0, 0.0), 1.0)
    for rest in itertools.product(GRID, repeat=len(FEATURES) - 1):
        w = dict(zip(FEATURES, (1.0, *rest), strict=True))
        top3, rel3, picks = _top_evidence(feats, feats.scores(w), eligible, rows)
        cov = np.ones((len(rows), 4))  # coverage of the first 0..3 passages
        for k, (r, js) in enumerate(zip(rows, picks, strict=True)):
            cov[k, 1:] = [named.coverage(r.index, js[:n]) for n in (1, 2, 3)]
        pairs = _threshold_pairs(top3)
        if pairs is None:
            continue
        lo, hi = pairs
        if not both:
            lo = np.unique(lo)
            hi = lo.copy()  # the coverage alone decides 対応あり
        shown = top3[None, :, :] >= lo[:, None, None]  # pairs x rows x 3
        n = shown.sum(2)
        row_cov = np.take_along_axis(np.broadcast_to(cov, (len(lo), *cov.shape)), n[:, :, None], 2)[:, :, 0]
        n_shown = shown.sum((1, 2))
        prec = np.where(n_shown > 0, (shown & rel3[None]).sum((1, 2)) / np.maximum(n_shown, 1), 1.0)
        full = top3[None, :, 0] >= hi[:, None]
        for kappa in COVERAGE_GRID:
            pred = np.where(n > 0, np.where(full & (row_cov >= kappa), 2, 1), 0)
            acc = (pred == y[None, :]).mean(1)
            k = int(np.lexsort((prec, acc))[-1])
            if (float(acc[k]), float(prec[k])) > best:
                best, choice = (float(acc[k]), float(prec[k])), (w, (float(lo[k]), float(hi[k])), kappa)
    return choice


def _lodo(
    feats: PairFeatures,
    rows: list[LabelledRow],
    fit_predict: Callable[[list[LabelledRow], list[LabelledRow]], tuple[Outcome, str]],
) -> tuple[Outcome, list[str]]:
    """Leave-one-document-out: `fit_predict(train, test)` fits on the other documents' rows and predicts the
    held-out document's, returning its outcome and a note on what was fitted."""
    verdicts: list[str] = [""] * len(rows)
    shown: list[list[Chunk]] = [[] for _ in rows]
    notes = []
    for doc in dict.fromkeys(feats.items[r.index].doc_id for r in rows):
        test = [k for k, r in enumerate(rows) if feats.items[r.index].doc_id == doc]
        train = [rows[k] for k in range(len(rows)) if k not in test]
        out, note = fit_predict(train, [rows[k] for k in test])
        for k, v, s in zip(test, out.verdicts, out.shown, strict=True):
            verdicts[k], shown[k] = v, s
        notes.append(f"  held out {doc} ({len(test)} rows): {note}")
    return Outcome(verdicts, shown), notes


def lodo_coverage(
    feats: PairFeatures, eligible: np.ndarray, rows: list[LabelledRow], named: Named, both: bool
) -> tuple[Outcome, list[str]]:
    """Leave-one-document-out with the coverage rule: weights, threshold and cut fitted on the others."""

    def fit_predict(train: list[LabelledRow], test: list[LabelledRow]) -> tuple[Outcome, str]:
        w, th, kappa = fit_coverage(feats, eligible, train, named, both)
        note = f"weights {w} thresholds ({th[0]:.3f}, {th[1]:.3f}) coverage >= {kappa}"
        return predict(feats, eligible, test, w, th, named, kappa), note

    return _lodo(feats, rows, fit_predict)


def lodo(feats: PairFeatures, eligible: np.ndarray, rows: list[LabelledRow]) -> tuple[Outcome, list[str]]:
    def fit_predict(train: list[LabelledRow], test: list[LabelledRow]) -> tuple[Outcome, str]:
        w, th = fit(feats, eligible, train)
        return predict(feats, eligible, test, w, th), f"weights {w} thresholds ({th[0]:.3f}, {th[1]:.3f})"

    return _lodo(feats, rows, fit_predict)


def old_module_outcome(path: Path, pipeline: Pipeline, rows: list[LabelledRow], items: list[AlignItem]) -> Outcome:
    """The matrix of another align module (its own rule and thresholds), on the same labelled rows."""
    spec = importlib.util.spec_from_file_location("align_other", path)
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    sys.modules["align_other"] = mod  # dataclasses look their module up while the class is made
    spec.loader.exec_module(mod)
    plan = PlanSettings(weights={"dense": 1.0, "heading": 1.0, "sentence": 1.0, "reverse": 2.0})
    plan = plan.model_copy(update={"partial_threshold": 0.61, "full_threshold": 1.2})
    matrix = mod.build_matrix(pipeline, use_llm=False, plan=plan)
    by_id = {(r.item.doc_id, r.item.section): r for r in matrix.rows}
    verdicts, shown = [], []
    for r in rows:
        row = by_id.get((items[r.index].doc_id, items[r.index].section))
        verdicts.append(row.verdict if row else "（行なし）")  # the other module has no such row
        shown.append([c.chunk for c in row.city_quotes] if row else [])
    return Outcome(verdicts, shown)


def report(name: str, rows: list[LabelledRow], out: Outcome) -> str:
    acc, prec, rel, n = figures(rows, out)
    bad = sum(
        not is_content(c.text.split("\n")[-1], c.title)
        and not any(is_content(line, c.title) for line in c.text.split("\n"))
        for cs in out.shown
        for c in cs
    )
    return f"{name:<42} row accuracy {acc:.3f} ({round(acc * len(rows))}/{len(rows)})  evidence precision {prec:.3f} ({rel}/{n})  content-less evidence {bad}"


def llm_main(pipeline: Pipeline, rows: list[LabelledRow], items: list[AlignItem], plan: PlanSettings) -> None:
    """`--llm`: the labelled rows and the four drafts through the configured chat model."""
    if not pipeline.settings.llm.configured:
        raise SystemExit("--llm needs an endpoint: set DXA_LLM__MODEL (and DXA_LLM__BASE_URL, DXA_LLM__API_KEY)")
    print(f"LLM: {pipeline.settings.llm.model} at {pipeline.settings.llm.base_url or '(default endpoint)'}")
    run = llm_rows(pipeline, [r.index for r in rows], items, plan)
    print(report("LLM path (shipped candidates)", rows, Outcome(run.verdicts, run.shown)))
    for line in describe(run, llm_drafts(pipeline)):
        print(line)


@dataclass
class Bench:
    """What every alignment benchmark starts from: the pipeline over the store, its plan settings, the
    labels file, the matrix items and the city passages."""

    pipeline: Pipeline
    plan: PlanSettings
    labels: dict[str, Any]
    items: list[AlignItem]
    city: list[Chunk]


def load_bench(store: str, labels_path: str) -> Bench:
    settings = Settings().with_store(store)
    pipeline = Pipeline(settings)
    plan = settings.plan
    labels = yaml.safe_load(Path(labels_path).read_text(encoding="utf-8"))
    return Bench(pipeline, plan, labels, find_items(pipeline, plan), city_chunks(pipeline, plan))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--store", required=True, help="index directory with the bundled corpus and the 重点計画 PDF")
    parser.add_argument("--labels", default=str(DEFAULT_LABELS))
    parser.add_argument("--old-module", help="another align module to score as 'before'")
    parser.add_argument("--show", action="store_true", help="print every labelled row")
    parser.add_argument("--llm", action="store_true", help="run the rows and drafts through the configured LLM")
    parser.add_argument(
        "--indexed-only", action="store_true", help="keep only the labelled rows of documents the store holds"
    )
    args = parser.parse_args()
    b = load_bench(args.store, args.labels)
    pipeline, plan, labels, items, city = b.pipeline, b.plan, b.labels, b.items, b.city
    rows = labelled_rows(items, labels, {it.doc_id for it in items} if args.indexed_only else None)
    if args.llm:
        return llm_main(pipeline, rows, items, plan)
    feats = pair_features(pipeline, items, city, plan)
    rule = evidence_mask(items, city, plan)
    anything = np.ones_like(rule)
    print(f"labelled rows: {len(rows)}  items in the matrix: {len(items)}  city passages: {len(city)}")
    if args.old_module:
        print(
            report(
                "before (old module, shipped thresholds)",
                rows,
                old_module_outcome(Path(args.old_module), pipeline, rows, items),
            )
        )
    shipped = (plan.partial_threshold, plan.full_threshold)
    named = named_concepts(items, city, plan)
    print(report("evidence rule, score thresholds, shipped", rows, predict(feats, rule, rows, plan.weights, shipped)))
    if plan.full_coverage is not None:
        out = predict(feats, rule, rows, plan.weights, shipped, named, plan.full_coverage)
        print(report("evidence rule + coverage, shipped settings", rows, out))
    for name, mask in (("score only", anything), ("evidence rule", rule)):
        out, notes = lodo(feats, mask, rows)
        print(report(f"{name}, leave-one-document-out", rows, out))
        for line in notes:
            print(line)
        if args.show and mask is rule:
            for r, v, cs in zip(rows, out.verdicts, out.shown, strict=True):
                mark = "✓" if v == r.verdict else "✗"
                ev = "; ".join(("" if r.is_relevant(c) else "✗") + c.section.split(" > ")[-1][:14] for c in cs)
                print(f"  {mark} {items[r.index].heading[:34]:<34} {v} (正解 {r.verdict})  {ev}")
    for name, both in (("coverage alone", False), ("score and coverage", True)):
        out, notes = lodo_coverage(feats, rule, rows, named, both)
        print(report(f"evidence rule, 対応あり by {name}, LODO", rows, out))
        for line in notes:
            print(line)
        if args.show:
            for r, v in zip(rows, out.verdicts, strict=True):
                print(f"  {'✓' if v == r.verdict else '✗'} {items[r.index].heading[:34]:<34} {v} (正解 {r.verdict})")
        w, th, kappa = fit_coverage(feats, rule, rows, named, both)
        print(f"  fit on all rows: weights {w}  thresholds ({th[0]:.3f}, {th[1]:.3f})  coverage >= {kappa}")
    w, th = fit(feats, rule, rows)
    print(f"\nfit on all rows, score thresholds: weights {w}  一部対応 >= {th[0]:.3f}  対応あり >= {th[1]:.3f}")


if __name__ == "__main__":
    main()
