"""評価 page through AppTest: staff run a suite and see metrics and history; an admin turns a 👎 into a case."""

from __future__ import annotations

from pathlib import Path

import yaml
from streamlit.testing.v1 import AppTest

from assistant.audit import AuditLog
from assistant.config import Settings
from assistant.users import User
from eval.metrics import METRIC_LABELS_JA
from eval.suite import load_suite

TREND_METRICS = [
    "hit@5",
    "mrr@10",
    "containment",
    "token_f1",
    "citation_precision",
    "citation_recall",
    "unsupported_rate",
    "refusal_accuracy",
]  # the tiles the page shows, in order
PAGE = str(Path(__file__).resolve().parents[2] / "ui" / "pages" / "evaluation.py")
TIMEOUT = 180
SMALL = {
    "name": "small",
    "description": "画面テスト用",
    "thresholds": {"hit@5": 0.5},
    "cases": [
        {
            "id": "pdca",
            "question": "計画の進行管理は何に基づいて行いますか",
            "expected": ["PDCAサイクル"],
            "gold": [{"doc_id": "atsugi-dx-policy", "section": "8 進行管理"}],
        },
        {"id": "weather", "question": "明日の厚木市の天気は晴れますか", "kind": "unanswerable"},
    ],
}


def page_text(at: AppTest) -> str:
    """Every text the page shows: messages, captions, tables and choices."""
    parts = [e.value for kind in ("success", "warning", "info", "caption", "markdown", "text") for e in at.get(kind)]
    parts += [str(d.value.to_dict()) for d in at.dataframe]
    parts += [str(o) for s in at.selectbox for o in s.options]
    return "\n".join(map(str, parts))


def page_as(role: str) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=TIMEOUT)
    at.session_state["user"] = User(f"{role}1", role)
    return at.run()


def test_staff_runs_a_suite_and_sees_the_history(ui_home: Path) -> None:
    suites = ui_home / "eval" / "suites"
    suites.mkdir(parents=True)
    (suites / "small.yaml").write_text(yaml.safe_dump(SMALL, allow_unicode=True), encoding="utf-8")
    at = page_as("staff")
    assert not at.error
    at.selectbox(key="eval_suite").select("small（保存済み）").run()
    at.button(key="eval_run").click().run()
    assert not at.exception and not at.error
    assert [s.value for s in at.success if "すべての閾値" in s.value]
    # metrics under Japanese names, each with a one-line explanation that ends in its English key
    labels = [m.label for m in at.metric]
    assert labels == [METRIC_LABELS_JA[k][0] for k in TREND_METRICS]
    assert {"上位5件の的中率", "期待語句の含有率", "回答可否の正しさ"} <= set(labels)
    assert all(m.help == METRIC_LABELS_JA[k][1] for m, k in zip(at.metric, TREND_METRICS, strict=True))
    captions = [c.value for c in at.caption]
    assert all(any(c == f"{METRIC_LABELS_JA[k][1]}（{k}）" for c in captions) for k in TREND_METRICS)
    history = list((ui_home / "eval").glob("*-small/result.json"))
    assert len(history) == 1
    [run] = AuditLog(ui_home / "audit.sqlite").events(kinds=["eval_run"])
    assert run.user == "staff1" and run.detail.startswith("small: 合格")
    # the report and result.json come as downloads; no server path is shown
    downloads = {b.label: b for b in at.get("download_button")}
    assert set(downloads) == {"HTMLレポートを保存", "結果（JSON）を保存"}
    assert all(b.proto.url for b in downloads.values())
    assert str(ui_home) not in page_text(at)
    at = page_as("staff")  # the history tab now has a run to chart, and its files to download
    assert at.selectbox(key="eval_hist_suite").value == "small"
    assert at.get("arrow_vega_lite_chart") or at.get("vega_lite_chart") or at.get("line_chart")
    assert {b.label for b in at.get("download_button")} == {"HTMLレポートを保存", "結果（JSON）を保存"}
    assert str(ui_home) not in page_text(at)
    assert "上位5件の的中率" in at.multiselect(key="eval_hist_metrics").options  # shown by Japanese name
    assert "👎" in at.tabs[2].label
    assert [i.value for i in at.info if "管理者だけ" in i.value]  # staff cannot save cases


def test_admin_turns_a_thumbs_down_into_a_case(ui_home: Path) -> None:
    from assistant.pipeline import Pipeline

    settings = Settings()
    answer = Pipeline(settings).ask("意見交換会の会場はどこですか")
    audit = AuditLog.from_settings(settings)
    run_id = audit.record("staff1", answer)
    audit.add_feedback(run_id, "staff1", "down", "会場は資料にないので答えるべきでない")
    at = page_as("admin")
    assert not at.exception
    assert at.selectbox(key="fb_pick").value.startswith("意見交換会の会場")
    form_kind = [s for s in at.selectbox if s.label == "種類"][0]
    form_kind.select("unanswerable")
    submit = [b for b in at.button if "保存" in str(b.label)][0]
    submit.click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    saved = ui_home / "eval" / "suites" / "feedback.yaml"
    suite = load_suite(saved)
    [case] = suite.cases
    assert case.id == f"fb-{run_id}" and case.kind == "unanswerable" and case.question.startswith("意見交換会")
    [added] = audit.events(kinds=["eval_case_add"])
    assert (added.user, added.detail) == ("admin1", f"fb-{run_id} → feedback.yaml")


def test_every_metric_has_a_japanese_name_and_explanation() -> None:
    from eval.metrics import METRICS

    assert set(METRIC_LABELS_JA) == set(METRICS)
    names = [name for name, _ in METRIC_LABELS_JA.values()]
    assert len(set(names)) == len(names) and all(explanation for _, explanation in METRIC_LABELS_JA.values())
