"""The audit log's hash chain: what makes edits made with raw file access visible.

One chain runs over all tables: every row appended to runs, feedback or events gets the next entry
in `chain` (seq, table, row id, prev_hash, hash), where hash = SHA-256 over the previous hash, the
seq, the table, the row id and all of the row's values. The first entry's prev_hash is GENESIS.
`verify` walks the chain and reports where it breaks: a changed row (hash mismatch), a deleted row
or dropped table (an entry without its row), a row inserted outside the app (a row without an
entry), a removed entry (a gap in seq), a back-dated row (its time earlier than an earlier entry's),
and missing tables or triggers.

Migration: a log written before the chain existed (PRAGMA user_version < CHAIN_VERSION) gets its
rows chained on first open, oldest first, and an `audit_chained` event records when. After that the
version stays set, so dropping `chain` does not start a fresh chain silently: the rows then lack
entries. Limits: someone with file access who recomputes every later hash, or cuts rows off the end
together with their entries, is not caught by the file alone; `dxa audit verify` prints the head
(entry count and last hash), which can be noted elsewhere to catch that too.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

GENESIS = "0" * 64
CHAIN_VERSION = 2  # PRAGMA user_version of a log whose rows are chained
TABLES = ("runs", "feedback", "events")  # the chained tables, each with `id` and `ts` columns
# Concurrent writers and clock corrections can order entries a little out of time; more is back-dating.
BACKDATE_SLACK = timedelta(minutes=5)
MAX_PROBLEMS = 50

CHAIN_SCHEMA = """
CREATE TABLE IF NOT EXISTS chain (
    seq INTEGER PRIMARY KEY,
    tbl TEXT NOT NULL,
    row_id INTEGER NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL,
    UNIQUE (tbl, row_id)
);
"""


def trigger_names() -> list[str]:
    return [f"{t}_no_{op}" for t in (*TABLES, "chain") for op in ("update", "delete")]


def triggers_sql() -> str:
    """Every table refuses UPDATE and DELETE: the log can only grow."""
    return "".join(
        f"CREATE TRIGGER IF NOT EXISTS {t}_no_{op} BEFORE {op.upper()} ON {t}\n"
        "BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;\n"
        for t in (*TABLES, "chain")
        for op in ("update", "delete")
    )


def row_hash(prev: str, seq: int, table: str, row_id: int, values: Sequence[Any]) -> str:
    payload = json.dumps([prev, seq, table, row_id, list(values)], ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def append(db: sqlite3.Connection, table: str, row: dict[str, Any]) -> int:
    """Insert `row` into `table` and chain it. The caller holds a write transaction (BEGIN IMMEDIATE),
    so the chain head cannot move between reading it and appending to it."""
    # The id continues after both the table and the chain, so a table that was dropped and recreated
    # does not hand out ids that the chain already has.
    (row_id,) = db.execute(
        f"SELECT MAX(COALESCE((SELECT MAX(id) FROM {table}), 0),"
        " COALESCE((SELECT MAX(row_id) FROM chain WHERE tbl = ?), 0)) + 1",
        (table,),
    ).fetchone()
    row = {"id": row_id, **row}
    cols = ", ".join(row)
    db.execute(f"INSERT INTO {table} ({cols}) VALUES ({', '.join('?' * len(row))})", tuple(row.values()))
    _chain_row(db, table, row_id)
    return int(row_id)


def _chain_row(db: sqlite3.Connection, table: str, row_id: int) -> None:
    head = db.execute("SELECT seq, hash FROM chain ORDER BY seq DESC LIMIT 1").fetchone()
    seq, prev = (head[0] + 1, head[1]) if head else (1, GENESIS)
    values = db.execute(f"SELECT * FROM {table} WHERE id = ?", (row_id,)).fetchone()
    db.execute(
        "INSERT INTO chain (seq, tbl, row_id, prev_hash, hash) VALUES (?, ?, ?, ?, ?)",
        (seq, table, row_id, prev, row_hash(prev, seq, table, row_id, values)),
    )


def existing_objects(db: sqlite3.Connection) -> set[str]:
    return {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'trigger')")}


def missing_objects(db: sqlite3.Connection) -> list[str]:
    """Tables and triggers a chained log must have but this one lacks."""
    have = existing_objects(db)
    return [name for name in (*TABLES, "chain", *trigger_names()) if name not in have]


def chain_unchained(db: sqlite3.Connection) -> int:
    """Chain the rows that have no entry yet, oldest first (the migration of a log from before the chain)."""
    rows: list[tuple[str, str, int]] = []
    for table in TABLES:
        rows += [
            (ts, table, rid)
            for rid, ts in db.execute(
                f"SELECT id, ts FROM {table} WHERE id NOT IN (SELECT row_id FROM chain WHERE tbl = ?)", (table,)
            )
        ]
    for _, table, rid in sorted(rows, key=lambda r: (r[0], TABLES.index(r[1]), r[2])):
        _chain_row(db, table, rid)
    return len(rows)


@dataclass(frozen=True)
class Problem:
    where: str  # e.g. "chain #12 (runs id 7)" or "trigger runs_no_update"
    what_ja: str
    what_en: str

    def line(self, lang: str = "ja") -> str:
        return f"{self.where}: {self.what_ja if lang == 'ja' else self.what_en}"


@dataclass
class ChainReport:
    """What `verify` found; ok when the chain is whole and nothing is missing."""

    entries: int = 0
    head: str = GENESIS
    problems: list[Problem] = field(default_factory=list)
    more: int = 0  # problems left out beyond MAX_PROBLEMS
    missing_tables: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def add(self, where: str, ja: str, en: str) -> None:
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(Problem(where, ja, en))
        else:
            self.more += 1


def verify(path: Path) -> ChainReport:
    """Check the log at `path` without changing it (opened read-only)."""
    report = ChainReport()
    if not path.exists():
        report.add(str(path), "監査ログのファイルがありません", "the audit log file does not exist")
        return report
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    try:
        db.execute("BEGIN")  # one snapshot for the whole check
        _verify(db, report)
    finally:
        db.close()
    return report


def _verify(db: sqlite3.Connection, report: ChainReport) -> None:
    version = db.execute("PRAGMA user_version").fetchone()[0]
    have = existing_objects(db)
    if version < CHAIN_VERSION:
        report.add(
            "PRAGMA user_version",
            "ハッシュ連鎖がまだ作られていません（アプリで一度開くと作られます）",
            "the log is not chained yet (opening it in the app chains it)",
        )
    for name in missing_objects(db):
        is_table = name in (*TABLES, "chain")
        if is_table:
            report.missing_tables.append(name)
        kind_ja, kind_en = ("テーブル", "table") if is_table else ("トリガー", "trigger")
        report.add(f"{kind_en} {name}", f"{kind_ja}がありません（削除された可能性があります）", f"{kind_en} is missing")
    if "chain" not in have:
        return
    entries = db.execute("SELECT seq, tbl, row_id, prev_hash, hash FROM chain ORDER BY seq").fetchall()
    report.entries = len(entries)
    prev, expected_seq = GENESIS, 1
    for seq, table, rid, prev_hash, digest in entries:
        where = f"chain #{seq} ({table} id {rid})"
        if seq != expected_seq:
            report.add(
                where,
                f"連鎖の #{expected_seq}〜#{seq - 1} が欠けています",
                f"entries #{expected_seq}-#{seq - 1} missing",
            )
        if prev_hash != prev:
            report.add(where, "直前の記録のハッシュと一致しません", "prev_hash does not match the previous entry")
        prev, expected_seq = digest, seq + 1
    report.head = prev
    times: dict[int, str] = {}
    for table in TABLES:
        if table not in have:
            continue
        rows = db.execute(
            f"SELECT c.seq, c.row_id, c.prev_hash, c.hash, t.* FROM chain c LEFT JOIN {table} t ON t.id = c.row_id"
            " WHERE c.tbl = ? ORDER BY c.seq",
            (table,),
        )
        cols = [d[0] for d in rows.description][4:]
        ts_at = cols.index("ts")
        for seq, rid, prev_hash, digest, *values in rows:
            where = f"chain #{seq} ({table} id {rid})"
            if values[0] is None:
                report.add(where, "記録が削除されています", "the row is gone (deleted, or its table dropped)")
            elif row_hash(prev_hash, seq, table, rid, values) != digest:
                report.add(
                    where, "記録の内容が変更されています（ハッシュ不一致）", "the row was changed (hash mismatch)"
                )
            else:
                times[seq] = values[ts_at]
        for rid, ts in db.execute(
            f"SELECT id, ts FROM {table} WHERE id NOT IN (SELECT row_id FROM chain WHERE tbl = ?) ORDER BY id",
            (table,),
        ):
            report.add(
                f"{table} id {rid}",
                f"連鎖にない記録です（アプリの外から追加、日時 {ts}）",
                f"row not in the chain (inserted outside the app, ts {ts})",
            )
    latest: datetime | None = None
    for seq in sorted(times):
        try:
            at = datetime.fromisoformat(times[seq])
        except (TypeError, ValueError):
            report.add(f"chain #{seq}", f"日時が読めません: {times[seq]!r}", f"unreadable time {times[seq]!r}")
            continue
        at = at if at.tzinfo else at.replace(tzinfo=UTC)
        if latest is not None and at < latest - BACKDATE_SLACK:
            report.add(
                f"chain #{seq}",
                f"日時 {times[seq]} が先の記録より前です（日付をさかのぼった追加）",
                f"time {times[seq]} is earlier than an earlier entry's (back-dated)",
            )
        latest = at if latest is None or at > latest else latest
    if "events" in have:
        for rid, ts, detail in db.execute("SELECT id, ts, detail FROM events WHERE kind = 'audit_repair' ORDER BY id"):
            report.add(f"events id {rid}", f"{ts} に修復されました: {detail}", f"repaired at {ts}: {detail}")
