"""The チャット page passes its conversation, so a follow-up is answered and its reading shown."""

from __future__ import annotations

from pathlib import Path

from assistant.audit import AuditLog
from tests.ui.test_apptest import all_markdown, ask, login


def test_chat_answers_a_followup_from_the_conversation(ui_home: Path) -> None:
    at = login("staff1")
    ask(at, "アクションプランはどのような計画ですか")
    ask(at, "それは前期と後期で何年ずつですか")
    text = all_markdown(at)
    assert "前の質問を踏まえた解釈: アクションプランは前期と後期で何年ずつですか" in text
    assert "前期３年" in text or "前期3年" in text
    runs = AuditLog(ui_home / "audit.sqlite").query()
    follow = next(r for r in runs if r.question.startswith("それは"))
    assert not follow.refused
    assert follow.filters["resolved_question"].startswith("アクションプラン")
