"""Events in the audit log: logins, user administration and admin actions, with their Japanese labels.

`EventLog` is the part of `assistant.audit.AuditLog` that writes and reads the `events` table; every
row it appends is hash-chained like the rest of the log (assistant.audit_chain).
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from assistant import audit_chain
from assistant.audit_export import csv_text, to_jst
from assistant.errors import DXAError

# Events: kind -> Japanese label. Account events, then admin actions, then the log's own.
EVENT_LABELS_JA: dict[str, str] = {
    "login": "ログイン",
    "login_failed": "ログイン失敗",
    "login_locked": "ロック中のログイン試行",
    "logout": "ログアウト",
    "user_add": "ユーザー追加",
    "user_remove": "ユーザー削除",
    "user_passwd": "パスワード変更",
    "user_role": "役割変更",
    "user_unlock": "ロック解除",
    "doc_upload": "資料の登録",
    "doc_reindex": "資料の再索引",
    "doc_remove": "資料の削除",
    "export": "書き出し",
    "draft": "起草",
    "eval_run": "評価の実行",
    "eval_case_add": "評価設問の追加",
    "audit_chained": "改ざん検知の開始",
    "audit_repair": "監査ログの修復（改ざんの疑い）",
}
EVENT_CSV_COLUMNS = ("id", "ts", "user", "kind", "label", "detail")


@dataclass(frozen=True)
class EventRecord:
    id: int
    ts: str
    user: str  # who: the name typed at a failed login; "cli:<OS user>" for the command line; "system"
    kind: str
    detail: str


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


class EventLog:
    """The events half of the audit log; `path` is the SQLite file (set up by AuditLog)."""

    path: Path

    @contextlib.contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        try:
            db = sqlite3.connect(self.path, timeout=30)
        except sqlite3.Error as exc:
            raise DXAError(
                f"audit log {self.path} cannot be opened: {exc}",
                message_ja=f"監査ログ（{self.path}）を開けません: {exc}",
            ) from exc
        try:
            with db:
                yield db
        finally:
            db.close()

    def record_event(self, user: str, kind: str, detail: str = "") -> int:
        """Append an event (a kind of EVENT_LABELS_JA): who did what, e.g. ("cli:tanaka", "doc_remove", "plan-1")."""
        if kind not in EVENT_LABELS_JA:
            raise ValueError(f"unknown event kind: {kind!r}")
        with self._db() as db:
            return self._append_event(db, user, kind, detail)

    def _append_event(self, db: sqlite3.Connection, user: str, kind: str, detail: str) -> int:
        return self._append(db, "events", {"ts": "", "user": user[:200], "kind": kind, "detail": detail})

    def _append(self, db: sqlite3.Connection, table: str, row: dict[str, Any]) -> int:
        """Append and chain one row in a write transaction; its time is taken once the lock is held,
        so the chain's order is the order of the times. A table dropped behind the app's back is
        recreated (and the repair recorded) rather than failing every later login or answer."""
        if not db.in_transaction:
            db.execute("BEGIN IMMEDIATE")
        try:
            return audit_chain.append(db, table, {**row, "ts": now_iso()})
        except sqlite3.OperationalError as exc:
            if "no such table" not in str(exc):
                raise
            db.rollback()
            self._open(db)
            return audit_chain.append(db, table, {**row, "ts": now_iso()})

    def _open(self, db: sqlite3.Connection) -> None:
        """Create the schema and repair what is missing (AuditLog)."""
        raise NotImplementedError

    def events(
        self,
        *,
        since: str | None = None,
        until: str | None = None,
        kinds: Sequence[str] = (),
        user: str | None = None,
        limit: int = 5000,
    ) -> list[EventRecord]:
        """Events in the ISO time range [since, until), of the given kinds and user, newest first."""
        clauses, args = time_range("ts", since, until)
        if kinds:
            clauses.append(f"kind IN ({','.join('?' * len(kinds))})")
            args += list(kinds)
        if user:
            clauses.append("user = ?")
            args.append(user)
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        with self._db() as db:
            rows = db.execute(
                f"SELECT id, ts, user, kind, detail FROM events{where} ORDER BY id DESC LIMIT {int(limit)}", args
            ).fetchall()
        return [EventRecord(*r) for r in rows]

    def event_users(self) -> list[str]:
        with self._db() as db:
            return [r[0] for r in db.execute("SELECT DISTINCT user FROM events ORDER BY user")]

    @staticmethod
    def events_csv(events: Sequence[EventRecord]) -> str:
        """Events as CSV, in the same form as `to_csv`."""
        return csv_text(
            EVENT_CSV_COLUMNS,
            ({**asdict(e), "ts": to_jst(e.ts), "label": EVENT_LABELS_JA.get(e.kind, e.kind)} for e in events),
        )


def time_range(column: str, since: str | None, until: str | None) -> tuple[list[str], list[Any]]:
    """SQL clauses and arguments for `column` in the ISO time range [since, until)."""
    clauses: list[str] = []
    args: list[Any] = []
    if since:
        clauses.append(f"{column} >= ?")
        args.append(since)
    if until:
        clauses.append(f"{column} < ?")
        args.append(until)
    return clauses, args
