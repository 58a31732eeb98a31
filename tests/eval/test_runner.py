"""The runner end to end over the bundled corpus: per-case records, aggregate keys, report, history,
threshold failure → non-zero exit, compare lists regressions, and the full plan suite (slow)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from eval import runner
from eval.metrics import REGISTRY
from eval.results import SuiteResult
from eval.suite import load_suite
from ui.cli import main

SMALL = """
name: small
description: 小さな評価セット
thresholds:
  hit@5: {min: 0.5}
  refusal_accuracy: 0.5
cases:
  - id: period
    question: 厚木市DX推進計画のアクションプランは何年ずつの計画ですか
    expected: [前期3年, 後期3年]
    reference: アクションプランは前期3年、後期3年の計画とします。
    gold: [{doc_id: atsugi-dx-policy, section: "4 計画の期間"}]
  - id: pdca
    question: 計画の進行管理は何に基づいて行いますか
    expected: [PDCAサイクル]
    gold: [{doc_id: atsugi-dx-policy, section: "8 進行管理"}]
  - id: weather
    question: 明日の厚木市の天気は晴れますか
    kind: unanswerable
"""


@pytest.fixture
def small_suite(tmp_path: Path) -> Path:
    path = tmp_path / "small.yaml"
    path.write_text(SMALL, encoding="utf-8")
    return path


@pytest.fixture
def cli_env(corpus_pipeline, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:  # type: ignore[no-untyped-def]
    """DXA_HOME for the CLI; returns the corpus store to pass as --store."""
    monkeypatch.setenv("DXA_HOME", str(tmp_path / "cli-home"))
    return corpus_pipeline.settings.index_dir


RESULT_KEYS = [
    "suite",
    "description",
    "suite_path",
    "started_at",
    "settings_fingerprint",
    "mode",
    "n_cases",
    "aggregate",
    "thresholds",
    "passed",
    "cases",
]
CASE_KEYS = [
    "id",
    "kind",
    "tags",
    "question",
    "expected",
    "reference",
    "gold",
    "answer",
    "mode",
    "refused",
    "support",
    "notice",
    "citations",
    "retrieved",
    "metrics",
    "unsupported",
    "latency_ms",
    "passed",
    "failures",
    "run_id",  # added when the answer was logged (every run_suite answer is; older files lack it)
]


def test_run_suite_end_to_end(corpus_pipeline, small_suite: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    result = runner.run_suite(corpus_pipeline, load_suite(small_suite))
    agg = result.aggregate
    for key in (
        "hit@5",
        "mrr@10",
        "containment",
        "token_f1",
        "citation_precision",
        "citation_recall",
        "unsupported_rate",
        "refusal_accuracy",
        "latency_p95_ms",
    ):
        assert key in agg and agg[key] is not None, key
    assert list(agg) == [m.name for m in REGISTRY if not m.name.startswith("llm_judge_")]  # registry order
    cases = {c.id: c for c in result.cases}
    assert cases["period"].passed and not cases["period"].refused and cases["period"].citations
    assert cases["weather"].refused and cases["weather"].passed
    assert agg["refusal_accuracy"] == 1.0 and agg["hit@5"] == 1.0 and agg["containment"] == 1.0
    assert result.passed

    out = runner.write_result(result, corpus_pipeline.settings, tmp_path / "out")
    saved = json.loads((out / "result.json").read_text(encoding="utf-8"))
    assert saved["aggregate"] == agg
    # result.json keeps the format it always had (tests/eval/test_results.py reads an old file back)
    assert list(saved) == RESULT_KEYS and all(list(c) == CASE_KEYS for c in saved["cases"])
    cited = saved["cases"][0]["citations"]
    assert cited and all(list(x) == ["n", "doc_id", "level", "section", "page", "chunk_id", "quote"] for x in cited)
    assert list(saved["cases"][0]["retrieved"][0]) == ["rank", "doc_id", "section", "chunk_id", "gold"]
    assert SuiteResult.from_dict(saved).to_dict() == saved
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "<svg" in html and "アクションプランは何年ずつ" in html
    history = runner.read_history(corpus_pipeline.settings, "small")
    assert history and history[-1].dir == str(out.resolve())
    assert history[-1].aggregate == agg and history[-1].passed and history[-1].n_cases == 3


def test_run_suite_writes_run_records(corpus_pipeline, small_suite: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from assistant.pipeline import Pipeline
    from assistant.runlog import RunLog

    pipeline = Pipeline(corpus_pipeline.settings, run_log=RunLog(tmp_path / "audit.sqlite"))
    pipeline.__dict__["index"] = corpus_pipeline.index  # the same index object
    result = runner.run_suite(pipeline, load_suite(small_suite))
    runs = pipeline.run_log.query(newest_first=False)
    assert [r.id for r in runs] == [c.run_id for c in result.cases]
    assert [r.question for r in runs] == [c.question for c in result.cases]
    assert {(r.user, r.session) for r in runs} == {(runner.EVAL_USER, "eval:small")}
    assert [r.answer for r in runs] == [c.answer for c in result.cases]


def test_report_escapes_text() -> None:
    from eval.report import render_html

    case = {
        "id": "<x>",
        "kind": "fact",
        "question": "<script>alert(1)</script>",
        "answer": "a & b",
        "citations": [{"n": 1, "doc_id": "d", "section": "<s>", "quote": '"q"<b>'}],
        "passed": False,
        "failures": ["<f>"],
        "metrics": {"hit@5": 1.0},
        "latency_ms": 3.0,
    }
    html = render_html(
        SuiteResult.from_dict(
            {
                "suite": "<s>",
                "description": "<d>",
                "started_at": "t",
                "n_cases": 1,
                "mode": "extractive",
                "settings_fingerprint": "f",
                "aggregate": {"hit@5": 1.0},
                "thresholds": [],
                "passed": False,
                "cases": [case],
            }
        )
    )
    assert "<script>" not in html and "&lt;script&gt;" in html and "<b>" not in html and "a &amp; b" in html


def test_threshold_failure_exits_non_zero(
    cli_env: Path, small_suite: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "ok"
    assert main(["eval", "run", str(small_suite), "--store", str(cli_env), "--out", str(out)]) == 0
    assert "hit@5" in capsys.readouterr().out
    strict = small_suite.read_text(encoding="utf-8").replace("hit@5: {min: 0.5}", "latency_p95_ms: {max: 0.001}")
    strict_path = tmp_path / "strict.yaml"
    strict_path.write_text(strict, encoding="utf-8")
    assert (
        main(["eval", "run", str(strict_path), "--store", str(cli_env), "--json", "--out", str(tmp_path / "ng")]) == 1
    )
    printed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert printed["passed"] is False
    assert [t for t in printed["thresholds"] if not t["passed"]][0]["metric"] == "latency_p95_ms"
    assert main(["eval", "history", "--store", str(cli_env), "--json"]) == 0
    runs = json.loads(capsys.readouterr().out)["runs"]
    assert [r["passed"] for r in runs[-2:]] == [True, False]


def test_compare_lists_regressions(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    def result(containment: float, latency: float, passed: bool) -> dict:
        return {
            "aggregate": {"containment": containment, "latency_p95_ms": latency, "hit@5": 1.0},
            "cases": [{"id": "c1", "question": "質問", "passed": passed, "failures": [] if passed else ["x"]}],
        }

    old, new = result(0.9, 200.0, True), result(0.7, 100.0, False)
    diff = runner.compare(SuiteResult.from_dict(old), SuiteResult.from_dict(new))
    changes = {x["metric"]: x["change"] for x in diff["metrics"]}
    assert changes == {"containment": "regression", "latency_p95_ms": "improvement"}  # lower latency is better
    assert diff["cases"][0]["id"] == "c1" and diff["cases"][0]["change"] == "regression"
    assert diff["regressions"] == 2 and diff["improvements"] == 1
    (tmp_path / "old.json").write_text(json.dumps(old), encoding="utf-8")
    (tmp_path / "new.json").write_text(json.dumps(new), encoding="utf-8")
    assert main(["eval", "compare", str(tmp_path / "old.json"), str(tmp_path / "new.json")]) == 0
    out = capsys.readouterr().out
    assert "悪化  containment" in out and "設問 c1" in out
    assert (
        main(["eval", "compare", str(tmp_path / "old.json"), str(tmp_path / "new.json"), "--fail-on-regression"]) == 1
    )


@pytest.mark.slow
def test_plan_suite_meets_its_thresholds(corpus_pipeline) -> None:  # type: ignore[no-untyped-def]
    """The bundled plan suite through the default (extractive) answerer passes its own thresholds (CI)."""
    suite = load_suite("plan")
    result = runner.run_suite(corpus_pipeline, suite)
    failed = [t for t in result.thresholds if not t.passed]
    assert not failed, (failed, result.aggregate)


def test_llm_judge_uses_the_pipeline_model(corpus_pipeline, small_suite: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from assistant.config import LLMSettings
    from assistant.pipeline import Pipeline
    from assistant.runlog import RunLog
    from tests.fake_openai import FakeOpenAI

    def reply(messages: list[dict]) -> str:
        if "評価者" in messages[0]["content"]:
            return "faithfulness: 5\nrelevance: 3"
        return "アクションプランは前期3年、後期3年の計画とします[1]。"

    with FakeOpenAI(reply) as fake:
        llm = LLMSettings(model="test", base_url=fake.url, api_key="x", timeout_s=5)
        pipeline = Pipeline(corpus_pipeline.settings.model_copy(update={"llm": llm}), run_log=RunLog(tmp_path / "a.db"))
        pipeline.__dict__["index"] = corpus_pipeline.index
        suite = load_suite(small_suite)
        result = runner.run_suite(pipeline, replace(suite, cases=suite.cases[:1]), judge=True)
    [case] = result.cases
    assert case.mode == "llm"
    assert case.metrics["llm_judge_faithfulness"] == 1.0 and case.metrics["llm_judge_relevance"] == 0.5
    assert sum("評価者" in r["messages"][0]["content"] for r in fake.requests) == 1
