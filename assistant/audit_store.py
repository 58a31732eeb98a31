"""The audit log's one SQLite file (`<home>/audit.sqlite`): schema, connections, chained appends.

The run log (assistant.runlog) and the event log (assistant.events) are two views of this file;
both append through `AuditStore._append`, so one hash chain (assistant.audit_chain) covers every
row, and SQLite triggers refuse UPDATE and DELETE on every table.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Self

from assistant import audit_chain
from assistant.audit_chain import ChainReport
from assistant.config import Settings
from assistant.errors import DXAError
from assistant.private import private_sqlite

_TABLES = """
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ts TEXT NOT NULL,
    user TEXT NOT NULL,
    session TEXT NOT NULL DEFAULT '',
    question TEXT NOT NULL,
    answer TEXT NOT NULL,
    mode TEXT NOT NULL,
    refused INTEGER NOT NULL,
    notice TEXT NOT NULL DEFAULT '',
    unsupported TEXT NOT NULL DEFAULT '[]',
    citations TEXT NOT NULL DEFAULT '[]',
    retrieved TEXT NOT NULL DEFAULT '[]',
    filters TEXT NOT NULL DEFAULT '{}',
    settings_fingerprint TEXT NOT NULL DEFAULT '',
    timings TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS runs_user_ts ON runs (user, ts);
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id INTEGER NOT NULL REFERENCES runs (id),
    ts TEXT NOT NULL,
    user TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('up', 'down')),
    comment TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS feedback_run ON feedback (run_id);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ts TEXT NOT NULL,
    user TEXT NOT NULL,
    kind TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS events_ts ON events (ts);
"""
SCHEMA = _TABLES + audit_chain.CHAIN_SCHEMA + audit_chain.triggers_sql()


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


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


class AuditStore:
    """The shared file. Every call opens its own connection, so Streamlit threads can share one object."""

    def __init__(self, path: Path) -> None:
        self.path = path
        private_sqlite(path)
        with self._db() as db:
            db.execute("PRAGMA journal_mode=WAL")
            self._open(db)

    @classmethod
    def from_settings(cls, settings: Settings) -> Self:
        return cls(settings.home / "audit.sqlite")

    def verify(self) -> ChainReport:
        """Check the hash chain, tables and triggers (see assistant.audit_chain)."""
        return audit_chain.verify(self.path)

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

    def _open(self, db: sqlite3.Connection) -> None:
        """Create the schema; chain the rows of a log from before the chain (once); and recreate tables
        or triggers that a chained log lost, recording each repair as an event that `verify` reports."""
        db.execute("BEGIN IMMEDIATE")
        chained = db.execute("PRAGMA user_version").fetchone()[0] >= audit_chain.CHAIN_VERSION
        lost = audit_chain.missing_objects(db) if chained else []
        db.commit()
        db.executescript(SCHEMA)
        db.execute("BEGIN IMMEDIATE")
        # Read again under the write lock: another process may have chained the log meanwhile.
        if db.execute("PRAGMA user_version").fetchone()[0] < audit_chain.CHAIN_VERSION:
            n = audit_chain.chain_unchained(db)
            db.execute(f"PRAGMA user_version = {audit_chain.CHAIN_VERSION}")
            if n:  # a log from before the chain: say when its rows were chained
                self._append_event(db, "system", "audit_chained", f"既存の {n} 件を連結しました")
        if lost:
            self._append_event(db, "system", "audit_repair", f"{'、'.join(lost)} が失われていたため作り直しました")

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
