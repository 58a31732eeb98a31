"""`python -m eval.bench_alignment_variants`: the key-concept variants measured in the README (issue 13).

The empty variant must be the shipped rule (same evidence mask and LODO verdicts as bench_alignment),
and each flag must do what its description says on the reviewed table itself.
"""

from __future__ import annotations

import numpy as np
import yaml

from assistant.align import city_chunks, evidence_mask, find_items, key_concepts, load_synonyms, pair_features
from assistant.config import PlanSettings
from eval import bench_alignment as bench
from eval import bench_alignment_variants as variants

SYN = load_synonyms(PlanSettings().synonyms_path)


def test_flags_change_the_concepts_as_described() -> None:
    shipped = key_concepts("マイナンバーの利用及び情報連携の推進", SYN)
    assert "データの活用" in shipped["連携"]  # the shipped rule: 連携 takes データ連携's group
    strict = variants.concepts_fn({"no_sub_inherit"})("マイナンバーの利用及び情報連携の推進", SYN)
    assert strict["連携"] == {"連携"} and "マイナンバーカード" not in strict["マイナンバー"]
    compound = variants.concepts_fn({"no_sub_inherit"})("データ連携基盤の整備", SYN)
    assert "データの活用" in compound["データ連携基盤"]  # a compound holding a table term keeps its group
    sub = variants.concepts_fn({"substitute"})("データ連携基盤の整備", SYN)
    assert "データの活用基盤" in sub["データ連携基盤"] and "データの活用" not in sub["データ連携基盤"]
    assert "多文化共生" in variants.concepts_fn({"prefix"})("「言葉の壁」の克服、多文化共生の推進", SYN)
    assert "多文化共生" not in variants.concepts_fn(set())("「言葉の壁」の克服、多文化共生の推進", SYN)
    assert "セキュリティ対策" not in variants.concepts_fn({"strip_head"})("セキュリティ対策の徹底", SYN)
    runs = variants.concepts_fn(set(), parts=False)("データ駆動型の教育の推進", SYN)
    assert "データ" not in runs and "データ駆動型" in runs
    assert "言葉の壁" in variants.concepts_fn({"title_terms"})("「言葉の壁」の克服、多文化共生の推進", SYN)


def test_the_empty_variant_is_the_shipped_rule(corpus_pipeline) -> None:  # type: ignore[no-untyped-def]
    plan = corpus_pipeline.settings.plan
    items, city = find_items(corpus_pipeline, plan), city_chunks(corpus_pipeline, plan)
    assert np.array_equal(variants.evidence_mask(items, city, SYN, set()), evidence_mask(items, city, plan))
    changed = variants.evidence_mask(items, city, SYN, {"no_sub_inherit", "runs_ev"})
    assert changed.sum() < evidence_mask(items, city, plan).sum()  # fewer passages count as evidence
    labels = yaml.safe_load(bench.DEFAULT_LABELS.read_text(encoding="utf-8"))
    labels["rows"] = [r for r in labels["rows"] if r["item"]["doc_id"] != "juten-keikaku-2023"]  # PDF not bundled
    feats = pair_features(corpus_pipeline, items, city, plan)
    lines = variants.run_variant(corpus_pipeline, labels, "", feats)
    rows = bench.labelled_rows(items, labels)
    rule = evidence_mask(items, city, plan)
    out, _ = bench.lodo_coverage(feats, rule, rows, bench.named_concepts(items, city, plan), False)
    assert bench.report("LODO, 対応あり by coverage alone", rows, out) in lines[2]
