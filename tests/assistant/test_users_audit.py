"""The user store (hashing, roles, errors) and the append-only audit log."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from assistant.audit import AuditLog
from assistant.errors import AuthError, NotFoundError
from assistant.types import Answer
from assistant.users import UserStore, check_password, hash_password


def test_password_hashes_are_salted_slow_and_checked(tmp_path: Path) -> None:
    a, b = hash_password("correct horse"), hash_password("correct horse")
    assert a != b and a.startswith("pbkdf2_sha256$310000$")
    assert check_password("correct horse", a) and not check_password("wrong horse", a)
    assert not check_password("x", "garbage")


def test_users_add_verify_remove(tmp_path: Path) -> None:
    store = UserStore(tmp_path / "users.sqlite", iterations=1000)
    store.add("Tanaka", "pass-word-1", "admin")
    store.add("suzuki", "pass-word-2")
    assert [(u.name, u.role) for u in store.list()] == [("suzuki", "staff"), ("tanaka", "admin")]
    assert store.verify("ＴＡＮＡＫＡ", "pass-word-1").role == "admin"  # NFKC + case folding
    for name, pw in (("tanaka", "nope-nope"), ("nobody", "pass-word-1")):
        with pytest.raises(AuthError, match="wrong user name or password"):
            store.verify(name, pw)
    with pytest.raises(AuthError):
        store.add("suzuki", "pass-word-3")  # exists
    with pytest.raises(AuthError):
        store.add("sato", "short")
    with pytest.raises(AuthError):
        store.add("sato", "pass-word-3", "root")
    with pytest.raises(AuthError):
        store.remove("tanaka")  # the last admin
    store.remove("suzuki")
    with pytest.raises(NotFoundError):
        store.remove("suzuki")
    raw = sqlite3.connect(tmp_path / "users.sqlite").execute("SELECT password_hash FROM users").fetchone()[0]
    assert "pass-word-1" not in raw


def test_audit_log_is_append_only_and_exports(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "audit.sqlite")
    answer = Answer("計画期間は？", "令和9年度から[1]。", "extractive", False, [], timings_ms={"total_ms": 12.3})
    run_id = log.record("tanaka", answer, settings_fingerprint="abc", retrieved=["d:1", "d:2"])
    log.add_feedback(run_id, "tanaka", "up")
    log.add_feedback(run_id, "tanaka", "down", "根拠が違う")
    run = log.get(run_id)
    assert run is not None and run.feedback == "down" and run.retrieved == ["d:1", "d:2"]
    assert [(f.kind, f.comment) for f in log.list_feedback("down")] == [("down", "根拠が違う")]
    with pytest.raises(NotFoundError):
        log.add_feedback(999, "tanaka", "down")
    db = sqlite3.connect(tmp_path / "audit.sqlite")
    for sql in (
        "UPDATE runs SET answer = 'x'",
        "DELETE FROM runs",
        "UPDATE feedback SET kind = 'up'",
        "DELETE FROM feedback",
    ):
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            db.execute(sql)
    assert log.query(text="令和9")[0].id == run_id and log.query(user="other") == []
    csv_text = log.to_csv(log.query())
    assert csv_text.startswith("\ufeffid,ts,user,question") and "根拠が違う" in csv_text


def test_repeated_failures_lock_a_name_for_a_while(tmp_path: Path) -> None:
    now = [1_000_000.0]
    store = UserStore(
        tmp_path / "users.sqlite", iterations=1000, max_failures=3, lockout_minutes=10, clock=lambda: now[0]
    )
    store.add("tanaka", "pass-word-1")
    store.verify("tanaka", "pass-word-1")
    for _ in range(2):
        with pytest.raises(AuthError, match="wrong user name or password"):
            store.verify("tanaka", "guess-guess")
    with pytest.raises(AuthError, match="locked until") as info:
        store.verify("TANAKA", "guess-guess")  # the third in a row locks the name
    assert "ロックされています" in info.value.user_message("ja")
    with pytest.raises(AuthError, match="locked until"):
        store.verify("tanaka", "pass-word-1")  # even the right password, while it lasts
    assert store.locked_until("tanaka") == pytest.approx(now[0] + 600)

    now[0] += 601
    assert store.locked_until("tanaka") is None
    assert store.verify("tanaka", "pass-word-1").name == "tanaka"

    # success clears the count: two more failures do not lock
    for _ in range(2):
        with pytest.raises(AuthError, match="wrong"):
            store.verify("tanaka", "guess-guess")
    store.verify("tanaka", "pass-word-1")
    for _ in range(2):
        with pytest.raises(AuthError, match="wrong"):
            store.verify("tanaka", "guess-guess")
    assert store.locked_until("tanaka") is None


def test_unknown_names_lock_like_real_ones_and_admins_can_unlock(tmp_path: Path) -> None:
    store = UserStore(tmp_path / "users.sqlite", iterations=1000, max_failures=2)
    store.add("suzuki", "pass-word-2")
    for name in ("suzuki", "nobody"):
        with pytest.raises(AuthError, match="wrong"):
            store.verify(name, "x-x-x-x-x")
        with pytest.raises(AuthError, match="locked until"):
            store.verify(name, "x-x-x-x-x")
    assert store.unlock("suzuki") and not store.unlock("sato")
    assert store.verify("suzuki", "pass-word-2").name == "suzuki"
    with pytest.raises(AuthError, match="wrong"):
        store.verify("suzuki", "x-x-x-x-x")
    store.set_password("suzuki", "pass-word-3")  # a new password clears the count too
    with pytest.raises(AuthError, match="wrong"):
        store.verify("suzuki", "x-x-x-x-x")
    assert store.locked_until("suzuki") is None


def test_account_events_are_append_only(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "audit.sqlite")
    log.record_event("tanaka", "login", "session ab12")
    log.record_event("nobody", "login_failed")
    with pytest.raises(ValueError):
        log.record_event("tanaka", "made-up")
    assert [(e.user, e.kind) for e in log.events()] == [("nobody", "login_failed"), ("tanaka", "login")]
    assert log.events(since="2999-01-01") == []
    db = sqlite3.connect(tmp_path / "audit.sqlite")
    for sql in ("UPDATE events SET kind = 'login'", "DELETE FROM events"):
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            db.execute(sql)
