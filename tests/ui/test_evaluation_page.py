"""評価 page through AppTest: staff run a suite and see metrics and history; an admin turns a 👎 into a case."""

from __future__ import annotations

from pathlib import Path

import yaml
from streamlit.testing.v1 import AppTest

from assistant.audit import AuditLog
from assistant.config import Settings
from assistant.users import User
from eval.suite import load_suite

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
    assert {m.label for m in at.metric} >= {"hit@5", "containment", "refusal_accuracy"}
    history = list((ui_home / "eval").glob("*-small/result.json"))
    assert len(history) == 1
    [run] = AuditLog(ui_home / "audit.sqlite").events(kinds=["eval_run"])
    assert run.user == "staff1" and run.detail.startswith("small: 合格")
    at = page_as("staff")  # the history tab now has a run to chart
    assert at.selectbox(key="eval_hist_suite").value == "small"
    assert at.get("arrow_vega_lite_chart") or at.get("vega_lite_chart") or at.get("line_chart")
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
