"""Account and admin events in the audit log: logins, user administration and admin actions.

`EventLog` writes and reads the `events` table of the audit file (assistant.audit_store); every row
it appends is hash-chained with the runs (assistant.runlog). Kinds have Japanese labels for the UI.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

from assistant.audit_export import csv_text, to_jst
from assistant.audit_store import AuditStore, now_iso, time_range  # noqa: F401 (re-exported)

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


class EventLog(AuditStore):
    """Account and admin events: logins, user administration, uploads, exports, eval runs."""

    def record_event(self, user: str, kind: str, detail: str = "") -> int:
        """Append an event (a kind of EVENT_LABELS_JA): who did what, e.g. ("cli:tanaka", "doc_remove", "plan-1")."""
        if kind not in EVENT_LABELS_JA:
            raise ValueError(f"unknown event kind: {kind!r}")
        with self._db() as db:
            return self._append_event(db, user, kind, detail)

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
