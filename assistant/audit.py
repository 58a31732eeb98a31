"""Append-only audit log of every answer (`<home>/audit.sqlite`), with 👍/👎 feedback and events.

Each run records who asked what, the answer, its citations, the mode, the settings fingerprint,
the retrieved chunk ids and timings. Events record logins (and failed or locked ones), logouts,
user administration and admin actions (uploads, re-index, removals, exports, drafts, eval runs).
SQLite triggers refuse UPDATE and DELETE on every table, so the log can only grow, and every row
is hash-chained (assistant.audit_chain), so edits made with raw file access show in `verify()`.
👎 entries are where new evaluation cases come from (`list_feedback("down")`).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from assistant import audit_chain
from assistant.audit_chain import ChainReport
from assistant.audit_export import csv_text, to_jst
from assistant.config import Settings
from assistant.errors import NotFoundError
from assistant.events import EVENT_LABELS_JA, EventLog, EventRecord, now_iso, time_range  # noqa: F401 (re-exported)
from assistant.followup import Turn
from assistant.private import private_sqlite
from assistant.types import Answer

if TYPE_CHECKING:
    from collections.abc import Callable

    from assistant.pipeline import Pipeline
    from assistant.retrieve import Filters

FeedbackKind = Literal["up", "down"]

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

CSV_COLUMNS = (
    "id",
    "ts",
    "user",
    "question",
    "answer",
    "mode",
    "refused",
    "notice",
    "unsupported",
    "citations",
    "retrieved",
    "filters",
    "settings_fingerprint",
    "timings",
    "feedback",
    "feedback_comment",
)
_JSON_FIELDS = ("unsupported", "citations", "retrieved", "filters", "timings")


def citation_dicts(answer: Answer) -> list[dict[str, Any]]:
    """Citations as plain data: everything needed to show them again without the index."""
    return [c.to_dict() for c in answer.citations]


@dataclass
class RunRecord:
    """One logged answer. `feedback` is the latest 👍/👎 on it ("" when none)."""

    id: int
    ts: str
    user: str
    session: str
    question: str
    answer: str
    mode: str
    refused: bool
    notice: str = ""
    unsupported: list[str] = field(default_factory=list)
    citations: list[dict[str, Any]] = field(default_factory=list)
    retrieved: list[str] = field(default_factory=list)
    filters: dict[str, Any] = field(default_factory=dict)
    settings_fingerprint: str = ""
    timings: dict[str, float] = field(default_factory=dict)
    feedback: str = ""
    feedback_comment: str = ""


@dataclass(frozen=True)
class FeedbackRecord:
    id: int
    run_id: int
    ts: str
    user: str
    kind: str
    comment: str
    run: RunRecord


class AuditLog(EventLog):
    """Append-only log. Every call opens its own connection, so Streamlit threads can share one object."""

    def __init__(self, path: Path) -> None:
        self.path = path
        private_sqlite(path)
        with self._db() as db:
            db.execute("PRAGMA journal_mode=WAL")
            self._open(db)

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

    @classmethod
    def from_settings(cls, settings: Settings) -> AuditLog:
        return cls(settings.home / "audit.sqlite")

    # -- writing -------------------------------------------------------------------------------
    def record(
        self,
        user: str,
        answer: Answer,
        *,
        settings_fingerprint: str = "",
        retrieved: Sequence[str] = (),
        filters: dict[str, Any] | None = None,
        session: str = "",
    ) -> int:
        """Append one answer; returns the run id that feedback refers to."""
        row = {
            "ts": "",
            "user": user,
            "session": session,
            "question": answer.question,
            "answer": answer.answer,
            "mode": answer.mode,
            "refused": int(answer.refused),
            "notice": answer.notice,
            "unsupported": _dumps(answer.unsupported),
            "citations": _dumps(citation_dicts(answer)),
            "retrieved": _dumps(list(retrieved)),
            "filters": _dumps(filters or {}),
            "settings_fingerprint": settings_fingerprint,
            "timings": _dumps({k: round(v, 1) for k, v in answer.timings_ms.items()}),
        }
        with self._db() as db:
            return self._append(db, "runs", row)

    def add_feedback(self, run_id: int, user: str, kind: str, comment: str = "") -> int:
        """Append 👍 ("up") or 👎 ("down"); a later entry for the same run supersedes an earlier one."""
        if kind not in ("up", "down"):
            raise ValueError(f"feedback kind must be 'up' or 'down', not {kind!r}")
        with self._db() as db:
            if db.execute("SELECT 1 FROM runs WHERE id = ?", (run_id,)).fetchone() is None:
                raise NotFoundError(f"no such run: {run_id}", message_ja=f"記録 {run_id} は監査ログにありません")
            row = {"run_id": run_id, "ts": "", "user": user, "kind": kind, "comment": comment.strip()}
            return self._append(db, "feedback", row)

    def verify(self) -> ChainReport:
        """Check the hash chain, tables and triggers (see assistant.audit_chain)."""
        return audit_chain.verify(self.path)

    # -- reading -------------------------------------------------------------------------------
    def get(self, run_id: int) -> RunRecord | None:
        found = self.query(run_ids=[run_id])
        return found[0] if found else None

    def query(
        self,
        *,
        user: str | None = None,
        since: str | None = None,
        until: str | None = None,
        text: str | None = None,
        run_ids: Sequence[int] | None = None,
        limit: int | None = None,
        newest_first: bool = True,
    ) -> list[RunRecord]:
        """Runs filtered by user, ISO time range [since, until) and a substring of question or answer."""
        clauses, args = time_range("r.ts", since, until)
        if user:
            clauses.append("r.user = ?")
            args.append(user)
        if text:
            clauses.append("(instr(r.question, ?) > 0 OR instr(r.answer, ?) > 0)")
            args += [text, text]
        if run_ids is not None:
            clauses.append(f"r.id IN ({','.join('?' * len(run_ids))})")
            args += list(run_ids)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        order = "DESC" if newest_first else "ASC"
        sql = (
            "SELECT r.id, r.ts, r.user, r.session, r.question, r.answer, r.mode, r.refused, r.notice, r.unsupported,"
            " r.citations, r.retrieved, r.filters, r.settings_fingerprint, r.timings,"
            " COALESCE(f.kind, ''), COALESCE(f.comment, '')"
            " FROM runs r LEFT JOIN feedback f ON f.id = (SELECT MAX(id) FROM feedback WHERE run_id = r.id)"
            f" {where} ORDER BY r.id {order}" + (f" LIMIT {int(limit)}" if limit else "")
        )
        with self._db() as db:
            rows = db.execute(sql, args).fetchall()
        return [_run(r) for r in rows]

    def users(self) -> list[str]:
        with self._db() as db:
            return [r[0] for r in db.execute("SELECT DISTINCT user FROM runs ORDER BY user")]

    def list_feedback(self, kind: str | None = None) -> list[FeedbackRecord]:
        """Feedback entries (oldest first) with their runs; kind="down" gives the 👎 ones for eval."""
        sql = "SELECT id, run_id, ts, user, kind, comment FROM feedback"
        args: list[Any] = []
        if kind:
            sql += " WHERE kind = ?"
            args.append(kind)
        with self._db() as db:
            rows = db.execute(sql + " ORDER BY id", args).fetchall()
        runs = {r.id: r for r in self.query(run_ids=sorted({row[1] for row in rows}))} if rows else {}
        return [
            FeedbackRecord(id=i, run_id=r, ts=ts, user=u, kind=k, comment=c, run=runs[r])
            for i, r, ts, u, k, c in rows
            if r in runs
        ]

    def to_csv(self, runs: Sequence[RunRecord]) -> str:
        """CSV for Excel (see assistant.audit_export): times in JST, JSON columns as JSON text,
        and no cell that Excel would run as a formula."""
        rows = []
        for run in runs:
            row = asdict(run)
            for key in _JSON_FIELDS:
                row[key] = _dumps(row[key])
            row["refused"] = int(run.refused)
            row["ts"] = to_jst(run.ts)
            rows.append(row)
        return csv_text(CSV_COLUMNS, rows)

    def export_csv(self, path: Path, **filters: Any) -> int:
        runs = self.query(newest_first=False, **filters)
        path.write_text(self.to_csv(runs), encoding="utf-8")
        return len(runs)


def ask_logged(
    pipeline: Pipeline,
    log: AuditLog,
    user: str,
    question: str,
    filters: Filters | None = None,
    *,
    mode: str | None = None,
    on_token: Callable[[str], None] | None = None,
    session: str = "",
    history: Sequence[Turn] = (),
) -> tuple[Answer, int]:
    """Ask through the pipeline and append the run to the audit log: what the UI and benchmarks call.

    A follow-up's stand-alone form is kept with the run's filters (`resolved_question`)."""
    answer = pipeline.ask(question, filters, mode=mode, on_token=on_token, history=history)
    retrieved = answer.retrieved
    filter_dict = (
        {"levels": list(filters.levels), "doc_ids": list(filters.doc_ids), "editions": list(filters.editions)}
        if filters is not None and not filters.empty
        else {}
    )
    run_id = log.record(
        user,
        answer,
        settings_fingerprint=pipeline.settings.fingerprint(),
        retrieved=retrieved,
        filters=filter_dict
        | ({"mode": mode} if mode else {})
        | ({"resolved_question": answer.resolved_question} if answer.resolved_question != question else {}),
        session=session,
    )
    return answer, run_id


def _dumps(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False)


def _run(row: Sequence[Any]) -> RunRecord:
    values = list(row)
    for i in range(9, 15):
        if i != 13:  # settings_fingerprint is plain text
            values[i] = json.loads(values[i] or "null")
    values[7] = bool(values[7])
    return RunRecord(*values)
