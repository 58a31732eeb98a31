"""`python -m eval.bench_alignment_errors`: the leave-one-document-out errors of the 整合表 and their causes.

The verdicts must be those of bench_alignment's coverage-alone rule (the figure in the README), and
each wrong row's cause must hold for the row's own scores, evidence mask and labels.
"""

from __future__ import annotations

import numpy as np
import yaml

from assistant.align import city_chunks, evidence_mask, find_items, pair_features
from eval import bench_alignment as bench
from eval.bench_alignment_errors import CAUSES, cause_of, explain


def row(verdict: str) -> bench.LabelledRow:
    return bench.LabelledRow(0, verdict, [])


def test_causes_follow_the_definitions() -> None:
    scores = np.array([0.9, 0.2, 0.1])
    eligible = np.array([True, True, False])
    relevant = np.array([False, True, True])
    # the relevant passage names a key concept but scores under the threshold
    assert cause_of(row("一部対応"), "記載なし", scores, eligible, relevant, 0.5) == "below threshold"
    # no relevant passage names a key concept
    assert cause_of(row("一部対応"), "記載なし", scores, eligible, np.array([False, False, True]), 0.5) == "paraphrase"
    # over the threshold, yet 記載なし: not a threshold problem
    assert cause_of(row("一部対応"), "記載なし", scores, eligible, relevant, 0.1) == "other"
    assert cause_of(row("記載なし"), "一部対応", scores, eligible, relevant, 0.5) == "spurious concept"
    assert cause_of(row("一部対応"), "対応あり", scores, eligible, relevant, 0.5) == "coverage full"
    assert cause_of(row("対応あり"), "一部対応", scores, eligible, relevant, 0.5) == "coverage short"
    assert cause_of(row("対応あり"), "記載なし", scores, eligible, np.zeros(3, dtype=bool), 0.5) == "paraphrase"


def test_errors_are_the_lodo_errors_with_a_cause_that_holds(corpus_pipeline) -> None:  # type: ignore[no-untyped-def]
    plan = corpus_pipeline.settings.plan
    labels = yaml.safe_load(bench.DEFAULT_LABELS.read_text(encoding="utf-8"))
    items, city = find_items(corpus_pipeline, plan), city_chunks(corpus_pipeline, plan)
    rows = bench.labelled_rows(items, labels, {it.doc_id for it in items})  # the PDF is not bundled
    assert len(rows) == 15
    feats = pair_features(corpus_pipeline, items, city, plan)
    rule = evidence_mask(items, city, plan)
    named = bench.named_concepts(items, city, plan)
    verdicts, errors = explain(feats, rule, rows, named, plan)
    lodo, _ = bench.lodo_coverage(feats, rule, rows, named, False)
    assert verdicts == lodo.verdicts  # the same fit and rule as the README figure
    wrong = [r for r, v in zip(rows, verdicts, strict=True) if v != r.verdict]
    assert [e.row for e in errors] == wrong and errors  # the bundled digests alone are not all right
    for e in errors:
        assert e.cause in CAUSES and e.predicted != e.row.verdict
        relevant = np.array([e.row.is_relevant(c) for c in city])
        eligible = rule[e.row.index]
        if e.cause == "paraphrase":
            assert not (eligible & relevant).any()
        if e.cause == "spurious concept":
            assert e.row.verdict == "記載なし" and e.row.relevant == []
        if e.cause in ("coverage full", "coverage short"):
            assert "記載なし" not in (e.row.verdict, e.predicted)
