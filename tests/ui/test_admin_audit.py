"""AppTest: admin actions on the audit log (filterable, in JST), the tamper warning on 監査ログ,
and ユーザー管理's password reset, role change, unlock with a lasting confirmation."""

from __future__ import annotations

import os
import re
import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.audit import AuditLog
from assistant.sessions import SessionStore
from assistant.users import UserStore
from tests.ui.test_apptest import login, plain, wait_for_jobs

JST_TIME = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\+09:00$")


@pytest.fixture
def loose_umask() -> Iterator[None]:
    """The umask of a usual login shell; the app must tighten it itself."""
    old = os.umask(0o022)
    yield
    os.umask(old)


def events(home: Path) -> list[tuple[str, str, str]]:
    return [(e.user, e.kind, e.detail) for e in reversed(AuditLog(home / "audit.sqlite").events())]


def test_admin_actions_are_logged_and_filterable_in_jst(ui_home: Path, loose_umask: None) -> None:
    at = login("admin1")
    at.switch_page("ui/pages/documents.py").run()
    memo = "# 推進本部会議メモ\n\n電子申請の拡大を決定した。\n".encode()
    at.file_uploader[0].set_value(("memo.md", memo, "text/markdown"))
    at.selectbox(key="upload_level").set_value("other")
    at.button[0].click().run()
    assert not at.exception and any("索引の登録を受け付けました" in plain(s.value) for s in at.success)
    at = wait_for_jobs(at, ui_home)
    [upload] = list((ui_home / "uploads").glob("*-memo.md"))
    assert stat.S_IMODE(upload.stat().st_mode) == 0o600
    assert stat.S_IMODE((ui_home / "uploads").stat().st_mode) == 0o700
    at.run()
    at.selectbox(key="manage_doc").set_value("memo").run()
    at.checkbox(key="confirm_remove").check().run()
    at.button(key="remove").click().run()
    assert any("削除しました: memo" in plain(s.value) for s in at.success)

    at.switch_page("ui/pages/audit_log.py").run()
    assert not at.exception and not at.error
    at.download_button(key="audit_csv").click().run()  # downloading the CSV is an export
    assert not at.exception
    logged = [(u, k) for u, k, _ in events(ui_home)]
    assert logged == [
        ("admin1", "login"),
        ("admin1", "doc_upload"),
        ("admin1", "doc_remove"),
        ("admin1", "export"),
    ]
    assert events(ui_home)[1][2] == "memo: ジョブ 1（memo.md）"

    table = at.dataframe[1].value
    assert list(table["操作"]) == ["書き出し", "資料の削除", "資料の登録", "ログイン"]
    assert all(JST_TIME.match(t) for t in table["日時"]), list(table["日時"])
    at.multiselect(key="audit_event_kinds").set_value(["doc_upload", "doc_remove"]).run()
    table = at.dataframe[1].value
    assert list(table["操作"]) == ["資料の削除", "資料の登録"]
    assert list(table["内容"]) == ["memo（1 チャンク）", "memo: ジョブ 1（memo.md）"]
    at.multiselect(key="audit_event_kinds").set_value([]).run()
    at.selectbox(key="audit_event_user").set_value("admin1").run()
    assert len(at.dataframe[1].value) == 4
    staff = login("staff1")
    staff.button(key="logout").click().run()
    at.run()
    assert set(at.dataframe[1].value["ユーザー"]) == {"admin1"}
    at.selectbox(key="audit_event_user").set_value("staff1").run()
    assert list(at.dataframe[1].value["操作"]) == ["ログアウト", "ログイン"]


def test_a_tampered_log_is_flagged_on_the_page(ui_home: Path) -> None:
    at = login("admin1")
    at.switch_page("ui/pages/audit_log.py").run()
    assert not at.error and any("ハッシュ連鎖を確認しました" in c.value for c in at.caption)
    db = sqlite3.connect(ui_home / "audit.sqlite", isolation_level=None)
    db.execute("DROP TRIGGER events_no_update")
    db.execute("UPDATE events SET user = 'someone-else' WHERE kind = 'login'")
    at.run()
    assert "改ざんまたは欠損を検出しました" in at.error[0].value
    report = at.code[0].value
    assert "chain #1 (events id 1): 記録の内容が変更されています" in report
    assert "trigger events_no_update: トリガーがありません" in report

    db.execute("DROP TABLE runs")
    at.run()
    assert not at.exception and "table runs: テーブルがありません" in at.code[0].value
    assert not at.dataframe  # nothing shown as if it were the whole log


def test_users_page_resets_passwords_changes_roles_and_unlocks(ui_home: Path) -> None:
    for _ in range(5):
        at = login("staff1", "not-the-password")
    assert "管理者にユーザー管理画面でのロック解除を依頼してください" in at.error[0].value
    assert "dxa user unlock" not in at.error[0].value

    at = login("admin1")
    at.switch_page("ui/pages/users.py").run()
    at.selectbox(key="unlock_name").select("staff1")
    at.button(key="unlock_user").click().run()
    assert not at.exception
    assert [plain(s.value) for s in at.success] == ["ロックを解除しました: staff1"]  # still there after st.rerun()
    at.run()
    assert not at.success  # shown once

    staff_session, _ = SessionStore(ui_home / "users.sqlite", b"k" * 32).start("staff1")  # staff1 logged in elsewhere
    at.selectbox(key="reset_name").select("staff1")
    at.text_input(key="reset_password").input("new-staff-pass-1")
    at.text_input(key="reset_password2").input("new-staff-pass-1")
    next(b for b in at.button if b.label == "再設定").click().run()
    assert not at.exception and any("パスワードを再設定しました: staff1" in plain(s.value) for s in at.success)
    store = UserStore(ui_home / "users.sqlite")
    assert store.verify("staff1", "new-staff-pass-1").name == "staff1"
    assert not SessionStore(ui_home / "users.sqlite", b"k" * 32).is_active(staff_session)  # the reset ended it

    at.selectbox(key="role_name").select("staff1").run()
    at.selectbox(key="role_new").select("admin").run()
    at.button(key="role_change").click().run()
    assert not at.exception
    assert [plain(s.value) for s in at.success] == ["役割を変更しました: staff1: 職員 → 管理者"]
    assert store.get("staff1") is not None and store.get("staff1").role == "admin"  # type: ignore[union-attr]
    assert list(at.dataframe[0].value["役割"]) == ["管理者", "管理者"]

    assert [(u, k) for u, k, _ in events(ui_home) if u == "admin1"] == [
        ("admin1", "login"),
        ("admin1", "user_unlock"),
        ("admin1", "user_passwd"),
        ("admin1", "user_role"),
    ]
    staff = login("staff1", "new-staff-pass-1")
    staff.switch_page("ui/pages/users.py").run()  # an admin now
    assert not staff.exception and staff.title[0].value == "ユーザー管理"
