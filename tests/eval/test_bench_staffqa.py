"""The staffqa benchmark's scoring (the CLI run itself needs ../shared and is a benchmark, not a test)."""

from __future__ import annotations

import json
from pathlib import Path

from eval.bench_staffqa import Case, fold_of, found_share, load_cases, score, summary, variants


def test_normalised_containment_any_and_all() -> None:
    text = "計画期間は　令和９年度から\n令和14年度までの６年間です。"
    assert found_share(["6年間"], text, "any") == 1.0  # NFKC and whitespace removed on both sides
    assert found_share(["6年間", "5年間"], text, "any") == 1.0
    assert found_share(["6年間", "5年間"], text, "all") == 0.5
    assert found_share([], text, "any") == 0.0


def test_lenient_accepts_either_side_of_a_combined_date_only() -> None:
    assert variants("2025年度(令和7年度)") == ["2025年度(令和7年度)", "2025年度", "令和7年度"]
    assert found_share(["2025年度（令和7年度）"], "2025年度に実施", "any") == 0.0
    assert found_share(["2025年度（令和7年度）"], "2025年度に実施", "any", lenient=True) == 1.0
    # parentheses that are not two dates stay one string
    assert variants("GIF(政府相互運用性フレームワーク)") == ["GIF(政府相互運用性フレームワーク)"]


def test_score_uses_answer_text_not_quotes_and_counts_refusals() -> None:
    case = Case(
        "q1",
        "期間は？",
        ["6年間"],
        "any",
        "fact",
        "short",
        "juten2023",
        gold_pages=[7],
        gold_sections=["４ 計画の期間"],
    )
    hits = [{"doc_id": "pdf", "page": 7, "section": "第1 > ４ 計画の期間", "text": "6年間とする"}]
    answered = score(case, hits, {"answer": "期間は6年間です。[1]", "refused": False}, {"juten2023": "pdf"})
    assert (answered.hit5, answered.page_hit5, answered.section_hit5, answered.strict) == (1.0, 1.0, 1.0, 1.0)
    refused = score(
        case, hits, {"answer": "資料に該当する記述が見当たりません。", "refused": True}, {"juten2023": "pdf"}
    )
    assert refused.strict == 0.0 and refused.refused
    wrong_page = score(case, [dict(hits[0], page=8)], {"answer": "", "refused": False}, {"juten2023": "pdf"})
    assert wrong_page.page_hit5 == 0.0
    unanswerable = Case("u1", "会場は？", [], "any", "unanswerable", "plain", "city")
    s = summary([answered, refused, score(unanswerable, hits, {"answer": "…", "refused": True}, {})])
    assert s["refusal_recall"] == 1.0 and s["false_refusals"] == 0.5 and s["containment"] == 0.5
    assert s["markup"] == 0.0  # over answers given: the one answered is clean


def test_markup_in_an_answer_is_counted() -> None:
    case = Case("q2", "図は？", ["減衰"], "any", "fact", "plain", "gif466")
    hits = [{"doc_id": "g", "page": None, "section": "評価", "text": "経験点の減衰"}]
    for dirty in ('<img src="a.png" />経験点の減衰 [1]', "|経験|減衰| [1]", "**減衰** [1]", "減衰〔出典2〕 [1]"):
        assert score(case, hits, {"answer": dirty, "refused": False}, {}).markup, dirty
    clean = score(case, hits, {"answer": "〔データ人材管理実践ガイドブック〕\n経験点の減衰 [1]", "refused": False}, {})
    assert not clean.markup and summary([clean])["markup"] == 0.0


def test_dialogues_become_turns_with_history_and_folds_are_stable(tmp_path: Path) -> None:
    dialogue = {
        "id": "dlg-x",
        "turns": [
            {"question": "国の計画は？", "answers": ["A"], "doc": "city", "gold_section": "６"},
            {"question": "じゃあ県は？", "answers": ["B"], "doc": "city", "gold_section": "６"},
        ],
    }
    path = tmp_path / "d.jsonl"
    path.write_text(json.dumps(dialogue, ensure_ascii=False) + "\n", encoding="utf-8")
    first, second = load_cases([path])
    assert (first.id, second.id) == ("dlg-x#t1", "dlg-x#t2")
    assert first.history == [] and second.history == [{"question": "国の計画は？", "answer": ""}]
    assert second.kind == "dialogue_turn2"
    assert fold_of("fact-01", 5) == fold_of("fact-01", 5)
    assert {fold_of(f"q{i}", 3) for i in range(30)} == {0, 1, 2}
