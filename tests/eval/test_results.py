"""Eval results as dataclasses: an old result.json reads back unchanged and `dxa eval compare` still takes
it; the metric registry is what suite validation, the report and the Japanese labels read."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from eval import runner
from eval.metrics import LOWER_IS_BETTER, METRIC_LABELS_JA, METRICS, REGISTRY
from eval.report import render_html
from eval.results import SuiteResult
from eval.suite import parse_suite
from ui.cli import main

# A result.json as the runner wrote it before results were dataclasses (keys and order as then).
OLD_RESULT = {
    "suite": "plan",
    "description": "厚木市DX推進計画の評価セット",
    "suite_path": "/srv/dxa/eval/suites/plan.yaml",
    "started_at": "2026-11-30T09:00:00+00:00",
    "settings_fingerprint": "0123abcd",
    "mode": "extractive",
    "n_cases": 2,
    "aggregate": {
        "hit@5": 1.0,
        "recall@5": 1.0,
        "mrr@10": 0.75,
        "ndcg@10": 0.8155,
        "containment": 0.5,
        "token_f1": None,
        "citation_precision": 1.0,
        "citation_recall": 1.0,
        "citation_gold_precision": 0.5,
        "unsupported_rate": 0.0,
        "refusal_accuracy": 1.0,
        "refusal_recall": 1.0,
        "false_refusal_rate": 0.0,
        "pass_rate": 0.5,
        "latency_p50_ms": 120.0,
        "latency_p95_ms": 180.0,
    },
    "thresholds": [{"metric": "hit@5", "want": ">= 0.5", "value": 1.0, "passed": True}],
    "passed": True,
    "cases": [
        {
            "id": "period",
            "kind": "fact",
            "tags": ["期間"],
            "question": "アクションプランは何年ずつの計画ですか",
            "expected": ["前期3年", "後期3年"],
            "reference": "",
            "gold": ["atsugi-dx-policy:4 計画の期間"],
            "answer": "アクションプランは前期3年とします。 [1]",
            "mode": "extractive",
            "refused": False,
            "support": 0.8123,
            "notice": "",
            "citations": [
                {
                    "n": 1,
                    "doc_id": "atsugi-dx-policy",
                    "level": "city",
                    "section": "4 計画の期間",
                    "page": None,
                    "chunk_id": "atsugi-dx-policy:0123456789abcdef",
                    "quote": "アクションプランは前期3年とします。",
                }
            ],
            "retrieved": [
                {
                    "rank": 1,
                    "doc_id": "atsugi-dx-policy",
                    "section": "4 計画の期間",
                    "chunk_id": "atsugi-dx-policy:0123456789abcdef",
                    "gold": "gold0",
                }
            ],
            "metrics": {"hit@5": 1.0, "containment": 0.5, "citation_precision": 1.0, "refusal_correct": 1.0},
            "unsupported": [0, 1],
            "latency_ms": 120.0,
            "passed": False,
            "failures": ["回答に含まれない: 後期3年"],
        },
        {
            "id": "weather",
            "kind": "unanswerable",
            "tags": [],
            "question": "明日の厚木市の天気は晴れますか",
            "expected": [],
            "reference": "",
            "gold": [],
            "answer": "資料に該当する記述が見当たりません。",
            "mode": "extractive",
            "refused": True,
            "support": 0.1,
            "notice": "",
            "citations": [],
            "retrieved": [],
            "metrics": {"refusal_correct": 1.0},
            "unsupported": [0, 0],
            "latency_ms": 180.0,
            "passed": True,
            "failures": [],
        },
    ],
}


def test_an_old_result_json_reads_back_unchanged() -> None:
    result = SuiteResult.from_dict(copy.deepcopy(OLD_RESULT))
    assert result.n_cases == 2 and result.passed and [c.id for c in result.failed_cases] == ["period"]
    assert result.cases[0].unsupported == (0, 1) and result.thresholds[0].want == ">= 0.5"
    again = result.to_dict()
    assert again == OLD_RESULT
    assert json.dumps(again, ensure_ascii=False) == json.dumps(OLD_RESULT, ensure_ascii=False)  # key order too


def test_compare_takes_an_old_result_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    new = copy.deepcopy(OLD_RESULT)
    new["aggregate"]["hit@5"], new["aggregate"]["latency_p95_ms"] = 0.5, 150.0
    new["cases"][0]["passed"], new["cases"][0]["failures"] = True, []
    (tmp_path / "old.json").write_text(json.dumps(OLD_RESULT, ensure_ascii=False), encoding="utf-8")
    (tmp_path / "new").mkdir()
    (tmp_path / "new" / "result.json").write_text(json.dumps(new, ensure_ascii=False), encoding="utf-8")
    capsys.readouterr()
    assert main(["eval", "compare", str(tmp_path / "old.json"), str(tmp_path / "new"), "--json"]) == 0
    diff = json.loads(capsys.readouterr().out)
    assert {x["metric"]: x["change"] for x in diff["metrics"]} == {
        "hit@5": "regression",
        "latency_p95_ms": "improvement",  # lower is better, from the registry
    }
    assert [(c["id"], c["change"]) for c in diff["cases"]] == [("period", "improvement")]
    assert diff["regressions"] == 1 and diff["improvements"] == 2


def test_the_registry_drives_labels_validation_and_the_report() -> None:
    assert list(METRICS) == [m.name for m in REGISTRY] and len(set(METRICS)) == len(REGISTRY)
    assert METRIC_LABELS_JA["hit@5"] == (METRICS["hit@5"].label_ja, METRICS["hit@5"].help_ja)
    assert LOWER_IS_BETTER == {"unsupported_rate", "false_refusal_rate", "latency_p50_ms", "latency_p95_ms"}
    assert {m.name for m in REGISTRY if m.kind == "case"} == {
        "hit@5",
        "recall@5",
        "mrr@10",
        "ndcg@10",
        "containment",
        "token_f1",
        "citation_precision",
        "citation_recall",
        "citation_gold_precision",
    }
    # a bare number is a bound on the worse side: max for a lower-is-better metric, min otherwise
    thresholds = {"pass_rate": 0.5, "latency_p95_ms": 900}
    raw = {"cases": [{"id": "a", "question": "q", "expected": ["x"]}], "thresholds": thresholds}
    suite = parse_suite(raw, Path("s.yaml"))
    bounds = {t.metric: (t.min, t.max) for t in suite.thresholds}
    assert bounds == {"pass_rate": (0.5, None), "latency_p95_ms": (None, 900.0)}
    html = render_html(SuiteResult.from_dict(copy.deepcopy(OLD_RESULT)))
    assert "上位5件の的中率（hit@5）" in html and "根拠のない文の割合（unsupported_rate）" in html
    assert 'fill="#c0504d"' in html  # unsupported_rate is drawn as a lower-is-better bar


def test_aggregate_over_case_results() -> None:
    """Each case metric is the mean over the cases it applies to; unsupported_rate is micro-averaged."""
    from eval.metrics import aggregate_scores

    cases = SuiteResult.from_dict(copy.deepcopy(OLD_RESULT)).cases
    agg = aggregate_scores(cases)
    assert agg["hit@5"] == 1.0 and agg["token_f1"] is None and agg["containment"] == 0.5
    assert agg["refusal_recall"] == 1.0 and agg["false_refusal_rate"] == 0.0 and agg["pass_rate"] == 0.5
    assert agg["unsupported_rate"] == 0.0 and agg["latency_p50_ms"] == 150.0
    assert "llm_judge_faithfulness" not in agg
    cases[0].metrics["llm_judge_faithfulness"] = 0.8
    assert aggregate_scores(cases)["llm_judge_faithfulness"] == 0.8
    assert runner.AGGREGATE_KEYS == tuple(k for k in agg)


def test_an_old_history_line_reads_back_unchanged() -> None:
    from eval.results import HistoryEntry

    line = {k: OLD_RESULT[k] for k in ("suite", "passed", "n_cases", "mode", "settings_fingerprint", "aggregate")}
    line = {"ts": OLD_RESULT["started_at"], "dir": "/srv/dxa/eval/20261130-090000-plan", **line}
    line = {
        k: line[k] for k in ("ts", "suite", "dir", "passed", "n_cases", "mode", "settings_fingerprint", "aggregate")
    }
    entry = HistoryEntry.from_dict(json.loads(json.dumps(line)))
    assert entry.to_dict() == line and list(entry.to_dict()) == list(line)
    assert SuiteResult.from_dict(copy.deepcopy(OLD_RESULT)).history_entry(line["dir"]) == entry
