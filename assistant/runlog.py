"""The run log: every answer with who asked, its citations and timings, plus 👍/👎 feedback.

A run records the question, the answer, its citations, the mode, the settings fingerprint, the
retrieved chunk ids, the filters and timings; `Pipeline.ask(..., user=...)` appends it. Runs live in
the audit file (assistant.audit_store), append-only and hash-chained with the account events.
👎 entries are where new evaluation cases come from (`list_feedback("down")`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from assistant.audit_export import csv_text, to_jst
from assistant.audit_store import AuditStore, time_range
from assistant.errors import NotFoundError
from assistant.types import (
    LEVELS,
    PAGE_COUNT_META,
    PAGE_LABEL_META,
    SOURCES_META,
    Answer,
    Chunk,
    Citation,
    MetaValue,
)

FeedbackKind = Literal["up", "down"]

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

    def to_answer(self) -> Answer:
        """The Answer as it was shown, to show it again (the chat's restored conversation). Each
        citation's chunk carries only what was stored: its text is the quote (the page reads the full
        chunk from the index while it is still there), its URL and page numbers are kept."""
        citations = []
        for c in self.citations:
            quote = str(c.get("quote") or "")
            meta: dict[str, MetaValue] = {}
            if c.get("page_label"):
                meta[PAGE_LABEL_META] = str(c["page_label"])
            if c.get("page_count"):
                meta[PAGE_COUNT_META] = int(c["page_count"])
            if c.get("source_url"):
                meta[SOURCES_META] = json.dumps([[0, len(quote), [c["source_url"]]]])
            chunk = Chunk(
                chunk_id=str(c.get("chunk_id", "")),
                doc_id=str(c.get("doc_id", "")),
                title=str(c.get("title", "")),
                level=next((lv for lv in LEVELS if lv == c.get("level")), "other"),
                edition=str(c.get("edition") or ""),
                page=c.get("page"),
                section=str(c.get("section") or ""),
                text=quote,
                original="",
                ordinal=0,
                meta=meta,
            )
            citations.append(Citation(n=int(c["n"]), chunk=chunk, quote=quote, score=float(c.get("score") or 0.0)))
        return Answer(
            question=self.question,
            answer=self.answer,
            mode="llm" if self.mode == "llm" else "extractive",
            refused=self.refused,
            citations=citations,
            timings_ms=dict(self.timings),
            notice=self.notice,
            unsupported=list(self.unsupported),
            retrieved=list(self.retrieved),
            resolved_question=str(self.filters.get("resolved_question") or self.question),
            run_id=self.id,
        )


@dataclass(frozen=True)
class FeedbackRecord:
    id: int
    run_id: int
    ts: str
    user: str
    kind: str
    comment: str
    run: RunRecord


class RunLog(AuditStore):
    """Runs and their feedback; reading, filtering and the CSV export for the 監査ログ page."""

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


def _dumps(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False)


def _run(row: Sequence[Any]) -> RunRecord:
    values = list(row)
    for i in range(9, 15):
        if i != 13:  # settings_fingerprint is plain text
            values[i] = json.loads(values[i] or "null")
    values[7] = bool(values[7])
    return RunRecord(*values)
