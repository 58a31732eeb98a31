"""Login sessions that survive a reload: signed, expiring tokens the server can revoke.

A session is a row in `<home>/users.sqlite` (table `sessions`, next to the users). The browser holds
`<token>.<expires>.<signature>` in an HttpOnly cookie; the row keeps only the token's sha256, and the
signature is an HMAC with a per-install key (`<home>/session.key`, mode 0600), so neither a copy of
the database nor a forged cookie opens a session.

Flow: after a password check the app calls `start(name)`, which gives the session id and a one-time
code (valid `CODE_TTL_S` seconds); the page has the browser fetch the cookie route with that code, whose
handler calls `redeem(code)` and sets the cookie; a reload sends the cookie and `resume(cookie)` gives
the session back. Logout calls `revoke(session_id)`; removing a user revokes their sessions (a trigger
on `users`), whichever way the user is removed.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import secrets
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from assistant.config import Settings
from assistant.private import sqlite_transaction
from assistant.users import SCHEMA as USERS_SCHEMA
from assistant.users import normalize_name

COOKIE_NAME = "dxa_session"
CODE_TTL_S = 120.0  # the one-time code only has to live from one script run to the browser's fetch
KEY_FILE = "session.key"

SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    id TEXT PRIMARY KEY,
    user TEXT NOT NULL,
    token_sha256 TEXT UNIQUE,
    code_sha256 TEXT UNIQUE,
    code_expires REAL NOT NULL DEFAULT 0,
    created REAL NOT NULL,
    expires REAL NOT NULL,
    revoked INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS sessions_user ON sessions (user);
CREATE TRIGGER IF NOT EXISTS sessions_end_with_user AFTER DELETE ON users
BEGIN
    UPDATE sessions SET revoked = 1 WHERE user = OLD.name;
END;
CREATE TRIGGER IF NOT EXISTS sessions_end_with_password AFTER UPDATE OF password_hash ON users
WHEN NEW.password_hash <> OLD.password_hash
BEGIN
    UPDATE sessions SET revoked = 1 WHERE user = NEW.name;
END;
"""


@dataclass(frozen=True)
class Session:
    id: str
    user: str
    expires: float


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def load_or_create_key(path: Path) -> bytes:
    """The per-install HMAC key: 32 random bytes, mode 0600, created whole (written aside, then linked)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(secrets.token_bytes(32))
        try:
            os.link(tmp, path)  # atomic: a second process starting at once keeps the first key
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    key = path.read_bytes()
    if len(key) < 32:  # damaged by hand or a full disk: replace it (its sessions end)
        path.unlink(missing_ok=True)
        return load_or_create_key(path)
    return key


class SessionStore:
    """Start, redeem, resume and revoke login sessions. Every call opens its own connection."""

    def __init__(self, path: Path, key: bytes, *, hours: float = 8.0, clock: Callable[[], float] = time.time) -> None:
        self.path = path
        self.key = key
        self.ttl_s = hours * 3600
        self.clock = clock
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._db() as db:
            db.executescript(USERS_SCHEMA + SCHEMA)

    @classmethod
    def from_settings(cls, settings: Settings) -> SessionStore:
        key = load_or_create_key(settings.home / KEY_FILE)
        return cls(settings.home / "users.sqlite", key, hours=settings.ui.session_hours)

    def _db(self) -> contextlib.AbstractContextManager[sqlite3.Connection]:
        return sqlite_transaction(self.path)

    def _sign(self, token: str, expires: int) -> str:
        return hmac.new(self.key, f"{token}.{expires}".encode(), hashlib.sha256).hexdigest()

    def start(self, name: str) -> tuple[str, str]:
        """A new session for `name`: (session id, one-time code that `redeem` turns into the cookie)."""
        now = self.clock()
        sid, code = secrets.token_hex(8), secrets.token_urlsafe(32)
        with self._db() as db:
            db.execute("DELETE FROM sessions WHERE expires < ?", (now - 86400,))  # old rows go after a day
            db.execute(
                "INSERT INTO sessions (id, user, code_sha256, code_expires, created, expires) VALUES (?, ?, ?, ?, ?, ?)",
                (sid, normalize_name(name), _sha256(code), now + CODE_TTL_S, now, now + self.ttl_s),
            )
        return sid, code

    def redeem(self, code: str) -> tuple[str, int] | None:
        """The cookie value and its lifetime in seconds for a fresh one-time code; None when it is not."""
        if not code:
            return None
        now = self.clock()
        token = secrets.token_urlsafe(32)
        with self._db() as db:
            row = db.execute(
                "SELECT id, expires FROM sessions WHERE code_sha256 = ? AND code_expires > ? AND revoked = 0 "
                "AND expires > ?",
                (_sha256(code), now, now),
            ).fetchone()
            if row is None:
                return None
            # The code is spent at once: a second fetch of the same URL gets nothing.
            db.execute(
                "UPDATE sessions SET token_sha256 = ?, code_sha256 = NULL, code_expires = 0 WHERE id = ?",
                (_sha256(token), row[0]),
            )
        expires = int(row[1])
        return f"{token}.{expires}.{self._sign(token, expires)}", max(0, expires - int(now))

    def code_pending(self, sid: str) -> bool:
        """Whether the session's one-time code is still waiting for the browser."""
        with self._db() as db:
            row = db.execute(
                "SELECT 1 FROM sessions WHERE id = ? AND code_sha256 IS NOT NULL AND code_expires > ?",
                (sid, self.clock()),
            ).fetchone()
        return row is not None

    def resume(self, cookie: str | None) -> Session | None:
        """The live session a cookie belongs to, or None (bad signature, expired, revoked, unknown)."""
        if not cookie:
            return None
        try:
            token, expires_text, signature = cookie.split(".")
            expires = int(expires_text)
        except ValueError:
            return None
        if not hmac.compare_digest(self._sign(token, expires), signature) or expires <= self.clock():
            return None
        with self._db() as db:
            row = db.execute(
                "SELECT id, user, expires FROM sessions WHERE token_sha256 = ? AND revoked = 0 AND expires > ?",
                (_sha256(token), self.clock()),
            ).fetchone()
        return Session(row[0], row[1], row[2]) if row else None

    def is_active(self, sid: str) -> bool:
        """Neither revoked nor expired: checked on every script run, so a revocation ends open tabs too."""
        with self._db() as db:
            row = db.execute(
                "SELECT 1 FROM sessions WHERE id = ? AND revoked = 0 AND expires > ?", (sid, self.clock())
            ).fetchone()
        return row is not None

    def revoke(self, sid: str) -> None:
        with self._db() as db:
            db.execute("UPDATE sessions SET revoked = 1 WHERE id = ?", (sid,))

    def revoke_user(self, name: str) -> int:
        """End every session of a user; returns how many were live."""
        with self._db() as db:
            return db.execute(
                "UPDATE sessions SET revoked = 1 WHERE user = ? AND revoked = 0", (normalize_name(name),)
            ).rowcount
