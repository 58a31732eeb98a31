"""Local user store: names, roles (staff | admin) and salted slow password hashes in SQLite.

Lives in `<home>/users.sqlite`. Passwords are hashed with PBKDF2-HMAC-SHA256 (a random salt per
user, 310 000 iterations by default) and compared in constant time. After `max_failures` wrong
passwords in a row a name is locked for `lockout_minutes` (unknown names too, so a lock-out says
nothing about who exists); a successful login, a new password or `unlock` clears the count. Each
attempt is counted before its password is checked, in one transaction, so parallel guesses cannot
get past the limit. For production single sign-on
the UI can use OIDC instead (see the README); this store is for a closed network without an IdP.
"""

from __future__ import annotations

import builtins
import contextlib
import hashlib
import hmac
import secrets
import sqlite3
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from assistant.config import Settings
from assistant.errors import AuthError, NotFoundError
from assistant.private import private_sqlite, sqlite_transaction

Role = Literal["staff", "admin"]
ROLES: tuple[Role, ...] = ("staff", "admin")
ROLE_LABELS_JA: dict[str, str] = {"staff": "職員", "admin": "管理者"}
MIN_PASSWORD_CHARS = 8
DEFAULT_ITERATIONS = 310_000  # OWASP's figure for PBKDF2-HMAC-SHA256
_ALGO = "pbkdf2_sha256"

SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    name TEXT PRIMARY KEY,
    role TEXT NOT NULL CHECK (role IN ('staff', 'admin')),
    password_hash TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS login_failures (
    name TEXT PRIMARY KEY,
    failures INTEGER NOT NULL,
    locked_until REAL NOT NULL DEFAULT 0
);
"""
DEFAULT_MAX_FAILURES = 5
DEFAULT_LOCKOUT_MINUTES = 15.0


@dataclass(frozen=True)
class User:
    name: str
    role: str
    created_at: str = ""

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


def hash_password(password: str, *, iterations: int = DEFAULT_ITERATIONS, salt: bytes | None = None) -> str:
    """`pbkdf2_sha256$<iterations>$<salt hex>$<hash hex>`: the format stores everything verify needs."""
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, iterations)
    return f"{_ALGO}${iterations}${salt.hex()}${digest.hex()}"


def check_password(password: str, stored: str) -> bool:
    """Constant-time comparison against a stored hash; malformed hashes never match."""
    try:
        algo, iterations, salt_hex, digest_hex = stored.split("$")
        if algo != _ALGO:
            return False
        digest = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), bytes.fromhex(salt_hex), int(iterations))
    except ValueError:
        return False
    return hmac.compare_digest(digest.hex(), digest_hex)


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise AuthError(
            f"unknown role: {role}",
            message_ja=f"役割「{role}」はありません",
            hint="use staff or admin",
            hint_ja="staff か admin を指定してください",
        )


def _check_password_length(password: str) -> None:
    if len(password) < MIN_PASSWORD_CHARS:
        raise AuthError(
            "password too short",
            message_ja="パスワードが短すぎます",
            hint=f"use at least {MIN_PASSWORD_CHARS} characters",
            hint_ja=f"{MIN_PASSWORD_CHARS}文字以上にしてください",
        )


def normalize_name(name: str) -> str:
    """User names compare after NFKC and case folding, so "Tanaka" and "ｔａｎａｋａ" are one user."""
    return unicodedata.normalize("NFKC", name).strip().casefold()


class UserStore:
    """Add, remove, list and verify users. Every call opens its own connection: safe across threads."""

    def __init__(
        self,
        path: Path,
        *,
        iterations: int = DEFAULT_ITERATIONS,
        max_failures: int = DEFAULT_MAX_FAILURES,
        lockout_minutes: float = DEFAULT_LOCKOUT_MINUTES,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.path = path
        self.iterations = iterations
        self.max_failures = max_failures
        self.lockout_s = lockout_minutes * 60
        self.clock = clock
        private_sqlite(path)  # 0600: it holds the password hashes
        with self._db() as db:
            db.executescript(SCHEMA)
        # Unknown names are checked against this, so a failed login takes as long either way.
        self._dummy_hash = hash_password(secrets.token_hex(8), iterations=iterations)

    @classmethod
    def from_settings(cls, settings: Settings) -> UserStore:
        ui = settings.ui
        return cls(
            settings.home / "users.sqlite", max_failures=ui.login_max_failures, lockout_minutes=ui.login_lockout_minutes
        )

    def _db(self) -> contextlib.AbstractContextManager[sqlite3.Connection]:
        return sqlite_transaction(self.path)

    def add(self, name: str, password: str, role: str = "staff") -> User:
        key = normalize_name(name)
        if not key or len(key) > 64 or any(c.isspace() or not c.isprintable() for c in key):
            raise AuthError(
                f"invalid user name: {name!r}",
                message_ja=f"ユーザー名「{name}」は使えません",
                hint="use 1-64 printable characters without spaces",
                hint_ja="空白を含まない1〜64文字にしてください",
            )
        _check_role(role)
        _check_password_length(password)
        user = User(key, role, datetime.now(UTC).isoformat(timespec="seconds"))
        try:
            with self._db() as db:
                db.execute(
                    "INSERT INTO users (name, role, password_hash, created_at) VALUES (?, ?, ?, ?)",
                    (key, role, hash_password(password, iterations=self.iterations), user.created_at),
                )
        except sqlite3.IntegrityError as exc:
            raise AuthError(
                f"user already exists: {key}",
                message_ja=f"ユーザー「{key}」は既に登録されています",
                hint="remove the user first or choose another name",
                hint_ja="先に削除するか、別の名前にしてください",
            ) from exc
        return user

    def remove(self, name: str) -> None:
        key = normalize_name(name)
        user = self.get(key)
        if user is None:
            raise NotFoundError(f"no such user: {name}", message_ja=f"ユーザー「{name}」は登録されていません")
        with self._db() as db:
            admins = db.execute("SELECT COUNT(*) FROM users WHERE role = 'admin'").fetchone()[0]
            if user.is_admin and admins <= 1:
                raise AuthError(
                    "cannot remove the last admin",
                    message_ja="最後の管理者は削除できません",
                    hint="add another admin first",
                    hint_ja="先に別の管理者を登録してください",
                )
            db.execute("DELETE FROM users WHERE name = ?", (key,))

    def set_password(self, name: str, password: str) -> None:
        user = self.get(name)
        if user is None:
            raise NotFoundError(f"no such user: {name}", message_ja=f"ユーザー「{name}」は登録されていません")
        _check_password_length(password)
        with self._db() as db:
            db.execute(
                "UPDATE users SET password_hash = ? WHERE name = ?",
                (hash_password(password, iterations=self.iterations), user.name),
            )
            db.execute("DELETE FROM login_failures WHERE name = ?", (user.name,))

    def unlock(self, name: str) -> bool:
        """Clear a name's failed-login count and lock; True when there was one."""
        with self._db() as db:
            return db.execute("DELETE FROM login_failures WHERE name = ?", (normalize_name(name),)).rowcount > 0

    def locked_until(self, name: str) -> float | None:
        """When a locked name opens again (epoch seconds), or None when it is not locked."""
        with self._db() as db:
            row = db.execute(
                "SELECT locked_until FROM login_failures WHERE name = ?", (normalize_name(name),)
            ).fetchone()
        return row[0] if row and row[0] > self.clock() else None

    def get(self, name: str) -> User | None:
        with self._db() as db:
            row = db.execute(
                "SELECT name, role, created_at FROM users WHERE name = ?", (normalize_name(name),)
            ).fetchone()
        return User(*row) if row else None

    def list(self) -> builtins.list[User]:
        with self._db() as db:
            rows = db.execute("SELECT name, role, created_at FROM users ORDER BY name").fetchall()
        return [User(*r) for r in rows]

    def count(self) -> int:
        with self._db() as db:
            return int(db.execute("SELECT COUNT(*) FROM users").fetchone()[0])

    def set_role(self, name: str, role: str) -> User:
        """Change a user's role; the last admin cannot be made staff (someone must be able to administer)."""
        _check_role(role)
        key = normalize_name(name)
        with self._db() as db:
            db.execute("BEGIN IMMEDIATE")  # the admin count and the change in one transaction
            row = db.execute("SELECT name, role, created_at FROM users WHERE name = ?", (key,)).fetchone()
            if row is None:
                raise NotFoundError(f"no such user: {name}", message_ja=f"ユーザー「{name}」は登録されていません")
            admins = db.execute("SELECT COUNT(*) FROM users WHERE role = 'admin'").fetchone()[0]
            if row[1] == "admin" and role != "admin" and admins <= 1:
                raise AuthError(
                    "cannot demote the last admin",
                    message_ja="最後の管理者の役割は変更できません",
                    hint="make another user admin first",
                    hint_ja="先に別のユーザーを管理者にしてください",
                )
            db.execute("UPDATE users SET role = ? WHERE name = ?", (role, key))
        return User(row[0], role, row[2])

    def verify(self, name: str, password: str) -> User:
        """The user when the password matches; one AuthError for unknown names and wrong passwords alike.

        Each attempt is first reserved, i.e. counted as a failure inside one write transaction, and only
        then is the password checked; so parallel guesses cannot exceed `max_failures` before the lock,
        and a locked name is refused before its password is checked. A success clears the count.
        """
        key = normalize_name(name)
        lock_at = self._reserve_attempt(key)
        with self._db() as db:
            row = db.execute(
                "SELECT name, role, created_at, password_hash FROM users WHERE name = ?", (key,)
            ).fetchone()
        ok = check_password(password, row[3] if row else self._dummy_hash)
        if row is None or not ok:
            if lock_at is not None:  # this attempt was the last one allowed
                raise self._locked_error(lock_at)
            raise AuthError(
                "wrong user name or password",
                message_ja="ユーザー名またはパスワードが正しくありません",
                hint="check both, or ask an administrator",
                hint_ja="入力を確認するか、管理者に問い合わせてください",
            )
        self.unlock(key)
        return User(row[0], row[1], row[2])

    def _reserve_attempt(self, key: str) -> float | None:
        """Count this attempt as a failure before its password is checked (read, increment, decide in one
        BEGIN IMMEDIATE transaction). Raises the lock-out error when the name is locked; returns the lock's
        end when this attempt is the last one allowed (a wrong password then locks the name)."""
        if self.max_failures <= 0:
            return None
        with self._db() as db:
            db.execute("BEGIN IMMEDIATE")
            row = db.execute("SELECT failures, locked_until FROM login_failures WHERE name = ?", (key,)).fetchone()
            now = self.clock()
            lock_at = 0.0
            if row is not None and row[1] > now:
                until = float(row[1])
            else:
                until = None
                failures = 1 if row is None or row[1] else row[0] + 1  # a lock that has run out starts a new count
                lock_at = now + self.lockout_s if failures >= self.max_failures else 0.0
                db.execute(
                    "INSERT OR REPLACE INTO login_failures (name, failures, locked_until) VALUES (?, ?, ?)",
                    (key, failures, lock_at),
                )
        if until is not None:
            raise self._locked_error(until)
        return lock_at or None

    @staticmethod
    def _locked_error(until: float) -> AuthError:
        at = datetime.fromtimestamp(until).strftime("%H:%M")
        return AuthError(
            f"too many failed logins: this user name is locked until {at}",
            message_ja=f"ログインの失敗が続いたため、このユーザー名は {at} までロックされています",
            hint="wait, or ask an administrator to unlock it on the user administration page",
            hint_ja="時間をおいてから再度お試しいただくか、管理者にユーザー管理画面でのロック解除を依頼してください",
        )
