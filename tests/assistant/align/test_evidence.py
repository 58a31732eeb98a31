"""The evidence rule of the 整合表: a city passage is evidence only when it names the item's subject.

Title lines, headings without content and schedule rows never count; near passages that do not name
the subject are shown as 関連の可能性. Checked on hostile generated text and on the bundled corpus.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from assistant.align import build_matrix, content_sentences, decide_row, is_content, key_concepts, load_synonyms
from assistant.align.evidence import concept_coverage, concept_sentences
from assistant.config import PlanSettings
from assistant.types import Chunk, SourceInfo
from tests.conftest import make_settings

SYN = load_synonyms(PlanSettings().synonyms_path)


def chunk(text: str, title: str = "本市マイナンバーカード推進計画") -> Chunk:
    return Chunk("city:0000000000000000", "city", title, "city", "", None, "sec", text, text, 0)


def test_synonym_table_is_shipped_small_and_generic() -> None:
    raw = PlanSettings().synonyms_path.read_text(encoding="utf-8")
    assert "Reviewed" in raw and "generic" in raw
    assert 5 <= len(SYN.groups) <= 40  # small: a reviewed table, not a thesaurus
    assert {"マイナカード", "マイナンバーカード"} <= next(g for g in SYN.groups if "マイナカード" in g)


def test_key_concepts_drop_generic_words_and_bring_equivalents() -> None:
    card = key_concepts("マイナンバーカードの普及促進・利用の推進", SYN)
    assert "マイナンバーカード" in card and "マイナカード" in card["マイナンバーカード"]
    assert "推進" not in card and "利用" not in card
    assert "リモートワーク" in key_concepts("テレワークの推進", SYN)["テレワーク"]
    assert "地方税共通納税" in key_concepts("公金収納におけるeLTAXの活用", SYN)["eLTAX"]
    assert key_concepts("計画的な取組", SYN) == {}  # nothing but generic words: the score alone decides


@pytest.mark.parametrize(
    "line",
    [
        "本市マイナンバーカード推進計画（2027～2032）の策定方針（案）について",  # the title line
        "(1) マイナンバーカードの普及",  # a heading without content
        "令和7年12月 マイナンバーカード交付窓口の開設",  # a schedule row
        "| マイナンバーカード | 交付率 |",  # a table row
        "## マイナンバーカード",
    ],
)
def test_title_heading_and_schedule_lines_are_never_content(line: str) -> None:
    assert not is_content(line, "本市マイナンバーカード推進計画")
    concepts = key_concepts("マイナンバーカードの普及促進・利用の推進", SYN)
    assert concept_sentences(chunk(line), concepts) == []


def test_a_content_sentence_with_an_equivalent_is_evidence() -> None:
    text = "(2) 窓口の改善\n令和8年4月 受付開始\nマイナカードを使った申請を広げます。\n職員研修の内容を順次充実します。"
    c = chunk(text)
    assert content_sentences(c) == ["マイナカードを使った申請を広げます。", "職員研修の内容を順次充実します。"]
    concepts = key_concepts("マイナンバーカードの普及促進・利用の推進", SYN)
    assert concept_sentences(c, concepts) == ["マイナカードを使った申請を広げます。"]


@pytest.fixture(scope="module")
def matrix(corpus_pipeline):  # type: ignore[no-untyped-def]
    return build_matrix(corpus_pipeline, use_llm=False)


def test_bundled_corpus_has_no_title_heading_or_schedule_evidence(matrix) -> None:  # type: ignore[no-untyped-def]
    quotes = [c for r in matrix.rows for c in r.city_quotes]
    assert quotes
    for c in quotes:
        assert is_content(c.quote, c.chunk.title), c.quote
        assert "令和7年12月" not in c.quote and "策定方針（案）について" not in c.quote


def test_issue_examples_are_gaps_with_related_passages(matrix) -> None:  # type: ignore[no-untyped-def]
    rows = {r.item.heading: r for r in matrix.rows}
    for heading in (
        "(3) 公金収納におけるeLTAXの活用",
        "(4) マイナンバーカードの普及促進・利用の推進",
        "(4) 全庁的な機運づくり",
    ):
        row = rows[heading]
        assert row.verdict == "記載なし" and row.city_quotes == [], heading
        assert row.related and all(c.quote in c.chunk.text for c in row.related)
        assert all("6年間" not in c.quote and "計画骨子策定" not in c.quote for c in row.city_quotes)
    telework = rows["(7) テレワークの推進"]
    assert all("PDCA" not in c.quote for c in telework.city_quotes)
    assert all("働き方" in c.quote for c in telework.city_quotes)


def test_hostile_city_text_never_stands_as_evidence(tmp_path: Path, embed_cache: Path) -> None:
    """A city file whose title, bare headings and schedule rows name every item: all rows stay 記載なし."""
    from assistant.pipeline import Pipeline
    from ingest.indexer import ingest_paths

    settings = make_settings(tmp_path / "home", embed_cache)
    pipeline = Pipeline(settings)
    digest = settings.corpus_dir / "national" / "jichitai-dx-digest.md"
    assert all(r.ok for r in ingest_paths(pipeline.index, settings, [digest]))
    city = tmp_path / "city.txt"
    city.write_text(
        "eLTAX・マイナンバーカード・テレワーク推進計画について\n\n"
        "１ マイナンバーカードの普及\n\n"
        "(1) テレワークの推進\n\n"
        "(2) 公金収納におけるeLTAXの活用\n\n"
        "２ スケジュール\n\n"
        "令和7年12月 マイナンバーカード 出張申請受付\n\n"
        "令和8年4月 eLTAX 公金収納開始\n\n"
        "３ その他\n\n"
        "市民の皆様の意見を取り入れながら計画を策定します。\n",
        encoding="utf-8",
    )
    src = SourceInfo("hostile-city", "eLTAX・マイナンバーカード・テレワーク推進計画", "city")
    assert all(r.ok for r in ingest_paths(pipeline.index, settings, [city], source=src))
    m = build_matrix(pipeline, use_llm=False)
    rows = {r.item.heading: r for r in m.rows}
    for heading in (
        "(3) 公金収納におけるeLTAXの活用",
        "(4) マイナンバーカードの普及促進・利用の推進",
        "(7) テレワークの推進",
    ):
        assert rows[heading].verdict == "記載なし" and not rows[heading].city_quotes, heading


def test_matrix_is_cached_until_the_index_changes(corpus_pipeline, tmp_path: Path, embed_cache: Path) -> None:  # type: ignore[no-untyped-def]
    from assistant.pipeline import Pipeline
    from ingest.indexer import ingest_corpus, ingest_paths

    settings = make_settings(tmp_path / "home", embed_cache)
    pipeline = Pipeline(settings)
    ingest_corpus(pipeline.index, settings)
    first = build_matrix(pipeline, use_llm=False)
    assert build_matrix(pipeline, use_llm=False) is first  # same index generation: from memory
    cached = list((settings.cache_dir / "align").glob("matrix-*.pickle"))
    assert len(cached) == 1
    extra = tmp_path / "extra.txt"
    extra.write_text("(1) 新しい取組\n\nテレワークを全庁で進めます。\n", encoding="utf-8")
    ingest_paths(pipeline.index, settings, [extra], source=SourceInfo("extra-city", "追加資料", "city"))
    second = build_matrix(pipeline, use_llm=False)
    assert second is not first and len(second.city_sections) == len(first.city_sections) + len(
        pipeline.index.document_chunks("extra-city")
    )
    rows = {r.item.heading: r for r in second.rows}
    assert any("テレワーク" in c.quote for c in rows["(7) テレワークの推進"].city_quotes)


def test_labelled_digest_rows_resolve_and_the_rule_raises_evidence_precision(corpus_pipeline) -> None:  # type: ignore[no-untyped-def]
    import numpy as np
    import yaml

    from assistant.align import city_chunks, evidence_mask, find_items, pair_features
    from eval.bench_alignment import DEFAULT_LABELS, figures, labelled_rows, predict

    labels = yaml.safe_load(DEFAULT_LABELS.read_text(encoding="utf-8"))
    assert len(labels["rows"]) >= 40
    labels["rows"] = [r for r in labels["rows"] if r["item"]["doc_id"] != "juten-keikaku-2023"]  # PDF not bundled
    plan = corpus_pipeline.settings.plan
    items, city = find_items(corpus_pipeline, plan), city_chunks(corpus_pipeline, plan)
    rows = labelled_rows(items, labels)  # each label names exactly one item
    assert len(rows) == 15
    feats = pair_features(corpus_pipeline, items, city, plan)
    rule = evidence_mask(items, city, plan)
    th = (plan.partial_threshold, plan.full_threshold)
    _, with_rule, _, _ = figures(rows, predict(feats, rule, rows, plan.weights, th))
    _, score_only, _, _ = figures(rows, predict(feats, np.ones_like(rule), rows, plan.weights, th))
    assert with_rule > score_only


def test_coverage_counts_the_concepts_named_in_content_sentences() -> None:
    concepts = key_concepts("自治体のAI・RPAの利用推進", SYN)
    assert {"AI", "RPA"} <= set(concepts)
    ai_only = chunk("生成AIを活用して文書作成の時間を減らします。\n(3) RPAの導入")  # RPA only in a heading
    both = chunk("定型的な入力作業は業務の自動化を進めます。")
    assert 0 < concept_coverage([ai_only], concepts) < 1
    assert concept_coverage([ai_only, both], concepts) > concept_coverage([ai_only], concepts)
    assert concept_coverage([chunk("職員研修の内容を順次充実します。")], concepts) == 0.0
    assert concept_coverage([ai_only], {}) == 1.0  # an item without key concepts: nothing left to cover


def test_full_coverage_turns_a_partial_match_into_ichibu() -> None:
    scores, eligible = np.array([2.0, 1.0, 0.1]), np.array([True, True, False])
    cover = {(0,): 0.5, (0, 1): 1.0}
    assert decide_row(scores, eligible, (0.5, 1.5), 3).verdict == "対応あり"  # by the score alone
    d = decide_row(scores, eligible, (0.5, 1.5), 3, lambda js: cover[tuple(js)], 1.0)
    assert d.verdict == "対応あり" and d.evidence == [0, 1]  # both shown passages together name everything
    d = decide_row(scores, eligible, (0.5, 1.5), 1, lambda js: cover[tuple(js)], 1.0)
    assert d.verdict == "一部対応" and d.evidence == [0]  # the one shown passage names half
    low = decide_row(np.array([1.0, 0.9, 0.1]), eligible, (0.5, 1.5), 3, lambda js: 1.0, 1.0)
    assert low.verdict == "一部対応"  # coverage never raises a row the score keeps below 対応あり
