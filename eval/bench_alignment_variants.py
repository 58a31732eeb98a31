"""Variants of the 整合表's key-concept rule, measured as `eval.bench_alignment` measures the shipped one.

Each variant changes how an item's key concepts are read (assistant/align/evidence.py) and is
scored on the labelled rows with the same features, fit and leave-one-document-out loop as the
"evidence rule, 対応あり by coverage alone" line of bench_alignment, plus the shipped settings and a
fit with a minimum coverage for 一部対応. None of them is the product's rule: they are experiments,
recorded in the README with their figures (issue 13). Flags (combine with commas):
  no_sub_inherit  a term no longer takes the equivalents of a longer table term that contains it
                  (連携 is not データの活用 because データ連携 is; 地方 is not eLTAX because of 地方税ポータル);
                  a compound that contains a table term still takes that term's group;
  substitute      instead, a compound containing a table term takes the compound with the term
                  replaced by each equivalent (データ連携基盤 -> データの活用基盤 …), not the bare group;
  prefix          a prefix (接頭辞) joins the noun run (多文化共生 stays one word; Sudachi splits 多);
  strip_head      generic words at the end of a compound are dropped (セキュリティ対策 -> セキュリティ);
  strip_lead      … and at its start (自治体窓口 -> 窓口);
  runs_ev         a part of a compound alone does not make a passage evidence (データ of データ駆動型);
  title_terms     table terms found literally in the heading are key concepts (言葉の壁);
  body            the item's body adds up to three evidence terms: nouns (whole runs with runs_ev) it
                  uses at least twice, in at most 5% of the items and 10% of its own document's items;
  rowz            every feature standardised per item over the city passages.
Run (store: bundled corpus + the 重点計画 2023 PDF):
    python -m eval.bench_alignment_variants --store DIR [--variant FLAGS ...]
"""

from __future__ import annotations

import argparse
import itertools
from collections import Counter
from collections.abc import Callable, Sequence
from unittest import mock

import numpy as np

from assistant.align import AlignItem, PairFeatures, load_synonyms, pair_features
from assistant.align import evidence as ev
from assistant.align.evidence import Synonyms, concept_sentences, nfkc
from assistant.pipeline import Pipeline
from assistant.types import Chunk
from eval import bench_alignment as bench

FLAGS = (
    "no_sub_inherit",
    "substitute",
    "prefix",
    "strip_head",
    "strip_lead",
    "runs_ev",
    "title_terms",
    "body",
    "rowz",
)
DEFAULT_VARIANTS = (
    "",
    "no_sub_inherit",
    "substitute",
    "prefix",
    "no_sub_inherit,prefix",
    "strip_head",
    "strip_head,strip_lead",
    "runs_ev",
    "no_sub_inherit,title_terms",
    "no_sub_inherit,prefix,runs_ev",
    "body",
    "no_sub_inherit,prefix,body",
    "no_sub_inherit,prefix,runs_ev,body",
    "rowz",
)
MIN_COVERAGE_GRID = (0.0, 0.2, 0.25, 0.34, 0.5)

Concepts = Callable[[str, Synonyms], dict[str, set[str]]]


def equivalents(syn: Synonyms, term: str, flags: set[str]) -> set[str]:
    """Synonyms.equivalents, or its variant under `no_sub_inherit` / `substitute`."""
    if not {"no_sub_inherit", "substitute"} & flags:
        return syn.equivalents(term)
    out = {term}
    for g in syn.groups:
        if term in g:
            out |= g
            continue
        inside = [t for t in g if len(t) >= 2 and t in term]
        if inside and "substitute" in flags:
            out |= {term.replace(t, u) for t in inside for u in g}
        elif inside:
            out |= g
    return out


def _generic(word: str, syn: Synonyms) -> bool:
    return bool({word, ev._DERIVED.sub("", word) or word} & syn.generic)


def noun_runs(text: str, flags: set[str]) -> list[list[str]]:
    """The noun runs of evidence._nouns (Sudachi mode C), each as its list of morphemes."""
    runs: list[list[str]] = []
    run: list[str] = []
    for m in ev.morphemes(nfkc(text), "C"):
        pos = m.pos
        noun = pos[0] == "名詞" and pos[1] != "数詞"
        if noun or (pos[0] == "接尾辞" and pos[1] == "名詞的" and run) or ("prefix" in flags and pos[0] == "接頭辞"):
            run.append(m.surface)
        else:
            if run:
                runs.append(run)
            run = []
    if run:
        runs.append(run)
    return runs


def concepts_fn(flags: set[str], parts: bool = True) -> Concepts:
    """key_concepts under the flags; `parts=False`: whole runs only (what may make a passage evidence)."""

    def key_concepts(title: str, syn: Synonyms) -> dict[str, set[str]]:
        out: dict[str, set[str]] = {}

        def add(noun: str) -> None:
            if noun not in out and not _generic(noun, syn) and (len(noun) >= 2 or noun.isascii()):
                out[noun] = equivalents(syn, noun, flags)

        for run in noun_runs(title, flags):
            if "strip_head" in flags:
                while run and _generic(run[-1], syn):
                    run = run[:-1]
                while "strip_lead" in flags and run and _generic(run[0], syn):
                    run = run[1:]
            if not run:
                continue
            add("".join(run))
            if parts and len(run) > 1:
                for p in run:
                    add(p)
        if "title_terms" in flags:
            t = nfkc(title)
            for g in syn.groups:
                for term in g:
                    if len(term) >= 2 and term in t and not any(term in k for k in out):
                        out[term] = equivalents(syn, term, flags)
        return out

    return key_concepts


def body_terms(items: Sequence[AlignItem], syn: Synonyms, flags: set[str]) -> list[list[str]]:
    """Per item: up to three nouns its body uses twice or more that few other items use."""
    runs = "runs_ev" in flags
    counts = []
    for it in items:
        text = it.text[:3000]
        nouns = ["".join(r) for r in noun_runs(text, flags)] if runs else ev._nouns(text)
        counts.append(Counter(n for n in nouns if len(n) >= 2 and not _generic(n, syn)))
    df = Counter(n for c in counts for n in c)
    out = []
    for i, c in enumerate(counts):
        siblings = [k for k, it in enumerate(items) if it.doc_id == items[i].doc_id and k != i]

        shared = Counter(n for k in siblings for n in counts[k])  # how many sibling items use each noun
        ranked = [
            n
            for n, k in c.most_common()
            if k >= 2 and df[n] <= 0.05 * len(items) and shared[n] <= 0.1 * max(len(siblings), 1)
        ]
        out.append(ranked[:3])
    return out


def evidence_mask(items: Sequence[AlignItem], city: Sequence[Chunk], syn: Synonyms, flags: set[str]) -> np.ndarray:
    """As assistant.align.evidence_mask, with the variant's concepts (and body terms)."""
    concepts = concepts_fn(flags, parts="runs_ev" not in flags)
    body = body_terms(items, syn, flags) if "body" in flags else [[] for _ in items]
    out = np.zeros((len(items), len(city)), dtype=bool)
    for i, item in enumerate(items):
        con = concepts(item.title, syn)
        extra = {t: equivalents(syn, t, flags) for t in body[i]}
        for j, c in enumerate(city):
            out[i, j] = bool(concept_sentences(c, con)) or bool(extra and concept_sentences(c, extra))
    return out


def fit_min_coverage(
    feats: PairFeatures, eligible: np.ndarray, rows: list[bench.LabelledRow], named: bench.Named
) -> tuple[dict[str, float], float, float, float]:
    """bench.fit_coverage (coverage alone) with one more cut: 一部対応 also needs the shown evidence to
    name at least that share of the key concepts (else 記載なし)."""
    code = {"記載なし": 0, "一部対応": 1, "対応あり": 2}
    y = np.array([code[r.verdict] for r in rows])
    best: tuple[float, float] = (-1.0, -1.0)
    choice: tuple[dict[str, float], float, float, float] = ({}, 0.0, 1.0, 0.0)
    for rest in itertools.product(bench.GRID, repeat=len(bench.FEATURES) - 1):
        w = dict(zip(bench.FEATURES, (1.0, *rest), strict=True))
        top3, rel3, picks = bench._top_evidence(feats, feats.scores(w), eligible, rows)
        cov = np.ones((len(rows), 4))
        for k, (r, js) in enumerate(zip(rows, picks, strict=True)):
            cov[k, 1:] = [named.coverage(r.index, js[:n]) for n in (1, 2, 3)]
        pairs = bench._threshold_pairs(top3)
        if pairs is None:
            continue
        lo = np.unique(pairs[0])
        shown = top3[None] >= lo[:, None, None]
        n = shown.sum(2)
        row_cov = np.take_along_axis(np.broadcast_to(cov, (len(lo), *cov.shape)), n[:, :, None], 2)[:, :, 0]
        for kappa in bench.COVERAGE_GRID:
            for floor in MIN_COVERAGE_GRID:
                ok = (n > 0) & (row_cov >= floor) & ((row_cov > 0) if floor > 0 else True)
                pred = np.where(ok, np.where(row_cov >= kappa, 2, 1), 0)
                sh = shown & ok[:, :, None]
                n_shown = sh.sum((1, 2))
                prec = np.where(n_shown > 0, (sh & rel3[None]).sum((1, 2)) / np.maximum(n_shown, 1), 1.0)
                acc = (pred == y[None]).mean(1)
                k = int(np.lexsort((prec, acc))[-1])
                if (float(acc[k]), float(prec[k])) > best:
                    best, choice = (float(acc[k]), float(prec[k])), (w, float(lo[k]), kappa, floor)
    return choice


def predict_min_coverage(
    feats: PairFeatures,
    eligible: np.ndarray,
    rows: list[bench.LabelledRow],
    named: bench.Named,
    fitted: tuple[dict[str, float], float, float, float],
) -> bench.Outcome:
    w, lo, kappa, floor = fitted
    out = bench.predict(feats, eligible, rows, w, (lo, lo), named, kappa)
    for k, r in enumerate(rows):
        js = [feats.city.index(c) for c in out.shown[k]]
        c = named.coverage(r.index, js) if js else 0.0
        if out.verdicts[k] != "記載なし" and (c < floor or (floor > 0 and c == 0)):
            out.verdicts[k], out.shown[k] = "記載なし", []
    return out


def run_variant(pipeline: Pipeline, labels: dict[str, object], spec: str, feats0: PairFeatures) -> list[str]:
    """The figures of one variant (a comma-separated list of flags; '' is the shipped rule)."""
    flags = {f for f in spec.split(",") if f}
    if unknown := flags - set(FLAGS):
        raise SystemExit(f"unknown flags {sorted(unknown)}; known: {', '.join(FLAGS)}")
    plan = pipeline.settings.plan
    syn = load_synonyms(plan.synonyms_path)
    items, city = feats0.items, feats0.city
    rows = bench.labelled_rows(items, labels)  # type: ignore[arg-type]
    feats = PairFeatures(items, city, dict(feats0.features))
    if "rowz" in flags:
        for k, v in feats.features.items():
            feats.features[k] = (v - v.mean(1, keepdims=True)) / (v.std(1, keepdims=True) + 1e-9)
    with mock.patch.object(bench, "key_concepts", concepts_fn(flags)):
        named = bench.named_concepts(items, city, plan)
    rule = evidence_mask(items, city, syn, flags)
    lines = [f"variant [{spec or 'shipped rule'}]"]
    shipped = (plan.partial_threshold, plan.full_threshold)
    lines.append(
        "  "
        + bench.report(
            "shipped settings", rows, bench.predict(feats, rule, rows, plan.weights, shipped, named, plan.full_coverage)
        )
    )
    out, notes = bench.lodo_coverage(feats, rule, rows, named, False)
    lines.append("  " + bench.report("LODO, 対応あり by coverage alone", rows, out))
    lines += [f"  {n}" for n in notes]

    def fit_predict(train: list[bench.LabelledRow], test: list[bench.LabelledRow]) -> tuple[bench.Outcome, str]:
        fitted = fit_min_coverage(feats, rule, train, named)
        note = f"weights {fitted[0]} 一部対応 >= {fitted[1]:.3f} coverage >= {fitted[2]} min coverage {fitted[3]}"
        return predict_min_coverage(feats, rule, test, named, fitted), note

    out, notes = bench._lodo(feats, rows, fit_predict)
    lines.append("  " + bench.report("LODO, + a minimum coverage for 一部対応", rows, out))
    lines += [f"  {n}" for n in notes]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--store", required=True, help="index directory with the bundled corpus and the 重点計画 PDF")
    parser.add_argument("--labels", default=str(bench.DEFAULT_LABELS))
    parser.add_argument("--variant", action="append", help="comma-separated flags; repeat for several (default: all)")
    args = parser.parse_args()
    b = bench.load_bench(args.store, args.labels)
    feats = pair_features(b.pipeline, b.items, b.city, b.plan)
    for spec in args.variant if args.variant is not None else DEFAULT_VARIANTS:
        print("\n".join(run_variant(b.pipeline, b.labels, spec, feats)))


if __name__ == "__main__":
    main()
