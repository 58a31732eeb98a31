"""Login sessions that survive a reload: signed, expiring, one-time codes, revoked by logout and user removal."""

from __future__ import annotations

import sqlite3
import stat
from pathlib import Path

import pytest

from assistant.sessions import KEY_FILE, SessionStore, load_or_create_key
from assistant.users import UserStore
from tests.conftest import make_settings


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def stores(tmp_path: Path) -> tuple[UserStore, SessionStore, Clock]:
    users = UserStore(tmp_path / "users.sqlite", iterations=1000)
    users.add("tanaka", "tanaka-password", "staff")
    users.add("boss", "boss-password-1", "admin")
    clock = Clock()
    return users, SessionStore(tmp_path / "users.sqlite", b"k" * 32, hours=8, clock=clock), clock


def login(sessions: SessionStore, name: str = "tanaka") -> tuple[str, str]:
    sid, code = sessions.start(name)
    redeemed = sessions.redeem(code)
    assert redeemed is not None
    cookie, max_age = redeemed
    assert max_age == 8 * 3600
    return sid, cookie


def test_a_cookie_resumes_its_session_and_the_code_works_once(stores) -> None:  # type: ignore[no-untyped-def]
    _, sessions, _ = stores
    sid, code = sessions.start("Tanaka")
    assert sessions.code_pending(sid)
    cookie, _ = sessions.redeem(code)
    assert not sessions.code_pending(sid)
    assert sessions.redeem(code) is None  # spent
    resumed = sessions.resume(cookie)
    assert resumed is not None and (resumed.id, resumed.user) == (sid, "tanaka")


def test_forged_or_tampered_cookies_open_nothing(stores) -> None:  # type: ignore[no-untyped-def]
    _, sessions, _ = stores
    _, cookie = login(sessions)
    token, expires, signature = cookie.split(".")
    later = int(expires) + 86400
    assert sessions.resume(f"{token}.{later}.{signature}") is None  # a longer life without the key
    assert sessions.resume(f"{token}.{expires}.{'0' * 64}") is None
    other_key = SessionStore(sessions.path, b"x" * 32)
    assert other_key.resume(cookie) is None  # another install's key
    for junk in ("", "abc", "a.b.c", "a.b", cookie + "."):
        assert sessions.resume(junk) is None
    # the database keeps only the token's hash: a copy of it cannot be replayed
    with sqlite3.connect(sessions.path) as db:
        dump = "\n".join(db.iterdump())
    assert token not in dump


def test_sessions_expire(stores) -> None:  # type: ignore[no-untyped-def]
    _, sessions, clock = stores
    sid, cookie = login(sessions)
    clock.now += 8 * 3600 - 1
    assert sessions.resume(cookie) is not None and sessions.is_active(sid)
    clock.now += 2
    assert sessions.resume(cookie) is None and not sessions.is_active(sid)
    sid2, code = sessions.start("tanaka")
    clock.now += 121  # a code the browser never fetched runs out
    assert sessions.redeem(code) is None and not sessions.code_pending(sid2)


def test_logout_and_user_removal_revoke(stores) -> None:  # type: ignore[no-untyped-def]
    users, sessions, _ = stores
    sid, cookie = login(sessions)
    sessions.revoke(sid)
    assert sessions.resume(cookie) is None and not sessions.is_active(sid)
    sid, cookie = login(sessions)
    boss_sid, boss_cookie = login(sessions, "boss")
    users.remove("tanaka")  # however a user is removed (page or CLI), their sessions end
    assert sessions.resume(cookie) is None and not sessions.is_active(sid)
    users.add("tanaka", "tanaka-password", "staff")  # a new user of the same name gets nothing of the old one
    assert sessions.resume(cookie) is None
    assert sessions.resume(boss_cookie) is not None and sessions.is_active(boss_sid)
    assert sessions.revoke_user("boss") == 1 and sessions.resume(boss_cookie) is None


def test_a_new_password_ends_the_users_sessions(stores) -> None:  # type: ignore[no-untyped-def]
    """However the password is changed (ユーザー管理 or `dxa user passwd`), a session opened with the old one ends:
    a stolen cookie does not outlive the reset. Other users' sessions go on."""
    users, sessions, _ = stores
    sid, cookie = login(sessions)
    boss_sid, boss_cookie = login(sessions, "boss")
    users.set_password("tanaka", "a-brand-new-password")
    assert sessions.resume(cookie) is None and not sessions.is_active(sid)
    assert sessions.resume(boss_cookie) is not None and sessions.is_active(boss_sid)
    sid, cookie = login(sessions)  # a login after the change works as before
    assert sessions.resume(cookie) is not None and sessions.is_active(sid)


def test_the_key_is_private_and_stable(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "home")
    first = SessionStore.from_settings(settings)
    key_path = settings.home / KEY_FILE
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    assert SessionStore.from_settings(settings).key == first.key == load_or_create_key(key_path)
    key_path.write_bytes(b"short")  # a key cut short by a crash is replaced
    assert len(load_or_create_key(key_path)) == 32
