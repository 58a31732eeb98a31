"""The whole audit log as one object, for the 監査ログ page and the tamper checks.

`AuditLog` is both halves of `<home>/audit.sqlite`: the run log (assistant.runlog: answers, 👍/👎,
CSV) and the event log (assistant.events: logins, user administration, admin actions). One SQLite
file, one hash chain (assistant.audit_chain). Code that needs only one half uses `RunLog` or
`EventLog` directly; the names below are re-exported for existing callers.
"""

from __future__ import annotations

from assistant.audit_store import _TABLES, SCHEMA, AuditStore, now_iso, time_range
from assistant.events import EVENT_CSV_COLUMNS, EVENT_LABELS_JA, EventLog, EventRecord
from assistant.runlog import CSV_COLUMNS, FeedbackRecord, RunLog, RunRecord, citation_dicts


class AuditLog(RunLog, EventLog):
    """Runs, feedback and events of one audit file."""


__all__ = [
    "CSV_COLUMNS",
    "EVENT_CSV_COLUMNS",
    "EVENT_LABELS_JA",
    "SCHEMA",
    "_TABLES",
    "AuditLog",
    "AuditStore",
    "EventLog",
    "EventRecord",
    "FeedbackRecord",
    "RunLog",
    "RunRecord",
    "citation_dicts",
    "now_iso",
    "time_range",
]
