"""Background indexing jobs: an upload from 資料管理 is indexed by its own low-priority process.

The page saves the file, `JobStore.enqueue`s a job and starts `dxa ingest --job N` (`start_ingest_job`);
that process calls `run_job`, which runs the same `ingest_paths` as `dxa ingest` and writes its
progress here. The UI only reads this table, so no thread serving a question ever waits on an ingest.
Jobs live in `<home>/jobs.sqlite` (mode 0600): queued → indexing (n/N chunks) → done | failed (reason).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from assistant.config import REPO_ROOT, Settings
from assistant.private import sqlite_transaction
from assistant.types import SourceInfo
from ingest.indexer import FileResult, ingest_paths

log = logging.getLogger(__name__)

QUEUED, INDEXING, DONE, FAILED = "queued", "indexing", "done", "failed"
SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    filename TEXT NOT NULL,
    path TEXT NOT NULL,
    doc_id TEXT NOT NULL,
    title TEXT NOT NULL,
    source TEXT NOT NULL,
    user TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL DEFAULT 'queued',
    done INTEGER NOT NULL DEFAULT 0,
    total INTEGER NOT NULL DEFAULT 0,
    outcome TEXT NOT NULL DEFAULT '',
    message TEXT NOT NULL DEFAULT '',
    pid INTEGER,
    created REAL NOT NULL,
    started REAL,
    first_progress REAL,
    first_done INTEGER NOT NULL DEFAULT 0,
    finished REAL
);
"""


@dataclass(frozen=True)
class Job:
    id: int
    filename: str
    path: str
    doc_id: str
    title: str
    source_json: str  # the SourceInfo the file is indexed with
    user: str
    status: str
    done: int
    total: int
    outcome: str  # the FileResult status when done: added | replaced | unchanged
    message: str  # why it failed (Japanese, for the page)
    pid: int | None
    created: float
    started: float | None
    first_progress: float | None
    first_done: int
    finished: float | None

    @property
    def active(self) -> bool:
        return self.status in (QUEUED, INDEXING)

    def eta_s(self, now: float) -> float | None:
        """Seconds left, from the pace since the first progress report; None until there is a pace."""
        if self.status != INDEXING or self.first_progress is None or self.done <= self.first_done:
            return None
        pace = (now - self.first_progress) / (self.done - self.first_done)
        return max(0.0, pace * (self.total - self.done))

    @property
    def source(self) -> SourceInfo:
        return SourceInfo(**json.loads(self.source_json))


class JobStore:
    """The job table. Every call opens its own connection: the UI and the job processes share it."""

    def __init__(self, path: Path, *, clock: Callable[[], float] = time.time) -> None:
        self.path = path
        self.clock = clock
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
        with self._db() as db:
            db.executescript(SCHEMA)

    @classmethod
    def from_settings(cls, settings: Settings) -> JobStore:
        return cls(settings.home / "jobs.sqlite")

    def _db(self) -> contextlib.AbstractContextManager[sqlite3.Connection]:
        return sqlite_transaction(self.path)

    def enqueue(self, path: Path, source: SourceInfo, *, filename: str, user: str = "") -> int:
        with self._db() as db:
            cur = db.execute(
                "INSERT INTO jobs (filename, path, doc_id, title, source, user, created) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    filename,
                    str(path),
                    source.doc_id,
                    source.title,
                    json.dumps(asdict(source), ensure_ascii=False),
                    user,
                    self.clock(),
                ),
            )
            return int(cur.lastrowid or 0)

    def get(self, job_id: int) -> Job | None:
        with self._db() as db:
            row = db.execute(f"SELECT {_COLUMNS} FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return Job(*row) if row else None

    def recent(self, limit: int = 10) -> list[Job]:
        """The newest jobs first, and every job still running however old."""
        with self._db() as db:
            rows = db.execute(
                f"SELECT {_COLUMNS} FROM jobs WHERE status IN ('queued', 'indexing') "
                f"OR id IN (SELECT id FROM jobs ORDER BY id DESC LIMIT ?) ORDER BY id DESC",
                (limit,),
            ).fetchall()
        return [Job(*r) for r in rows]

    def started(self, job_id: int, pid: int) -> None:
        with self._db() as db:
            db.execute(
                "UPDATE jobs SET status = 'indexing', pid = ?, started = ? WHERE id = ?", (pid, self.clock(), job_id)
            )

    def set_pid(self, job_id: int, pid: int) -> None:
        with self._db() as db:
            db.execute("UPDATE jobs SET pid = ? WHERE id = ? AND pid IS NULL", (pid, job_id))

    def progress(self, job_id: int, done: int, total: int) -> None:
        with self._db() as db:
            db.execute(
                "UPDATE jobs SET done = ?, total = ?, first_progress = COALESCE(first_progress, ?), "
                "first_done = CASE WHEN first_progress IS NULL THEN ? ELSE first_done END WHERE id = ?",
                (done, total, self.clock(), done, job_id),
            )

    def finish(self, job_id: int, result: FileResult) -> None:
        status = DONE if result.ok else FAILED
        with self._db() as db:
            db.execute(
                "UPDATE jobs SET status = ?, outcome = ?, message = ?, done = CASE WHEN ? THEN ? ELSE done END, "
                "total = CASE WHEN ? THEN ? ELSE total END, finished = ? WHERE id = ?",
                (
                    status,
                    result.status,
                    result.message_ja,
                    result.ok,
                    result.chunks,
                    result.ok,
                    result.chunks,
                    self.clock(),
                    job_id,
                ),
            )

    def fail(self, job_id: int, message: str) -> None:
        """Mark a job failed unless it already ended (a process that died, a job that could not start)."""
        with self._db() as db:
            db.execute(
                "UPDATE jobs SET status = 'failed', message = ?, finished = ? "
                "WHERE id = ? AND status IN ('queued', 'indexing')",
                (message, self.clock(), job_id),
            )

    def reap(self, alive: Callable[[int], bool], *, grace_s: float = 30.0) -> list[int]:
        """Fail the running jobs whose process is gone (killed, crashed, the machine restarted)."""
        reaped = []
        now = self.clock()
        for job in self.recent():
            if not job.active:
                continue
            if job.pid is None:
                if now - job.created > grace_s:  # its process never started
                    reaped.append(job.id)
            elif not alive(job.pid):
                reaped.append(job.id)
        for job_id in reaped:
            self.fail(job_id, "索引の処理が途中で終了しました。もう一度登録してください。")
        return reaped


_COLUMNS = (
    "id, filename, path, doc_id, title, source, user, status, done, total, outcome, message, pid, "
    "created, started, first_progress, first_done, finished"
)


def run_job(settings: Settings, job_id: int) -> FileResult | None:
    """Run one job in this process (the `dxa ingest --job N` child): index its file, record the outcome.

    Lowers this process's priority first, so the UI's answers keep the CPU. Returns None for an unknown job."""
    store = JobStore.from_settings(settings)
    job = store.get(job_id)
    if job is None:
        return None
    with contextlib.suppress(OSError):
        os.nice(max(0, settings.ingest.job_nice))
    store.started(job_id, os.getpid())
    try:
        from assistant.pipeline import Pipeline

        index = Pipeline(settings).index
        [result] = ingest_paths(
            index,
            settings,
            [Path(job.path)],
            source=job.source,
            on_progress=lambda done, total: store.progress(job_id, done, total),
        )
        path = Path(job.path).resolve()
        uploads = (settings.home / "uploads").resolve()
        if not result.ok and path.parent == uploads and not any(d.path == str(path) for d in index.documents()):
            path.unlink(missing_ok=True)  # an upload that failed to index: nothing refers to it
    except BaseException as exc:  # the model or the store would not open: the job still ends, with a reason
        log.exception("job %s failed", job_id)
        store.fail(job_id, f"索引の処理でエラーが発生しました: {exc!r}")
        raise
    store.finish(job_id, result)
    return result


# -- starting jobs (資料管理 and the ingest-latency benchmark) -------------------------------------------
_children: dict[int, subprocess.Popen[bytes]] = {}  # pid -> job process this server started (to reap it)


def start_ingest_job(
    settings: Settings, store: JobStore, path: Path, source: SourceInfo, *, filename: str, user: str
) -> int:
    """Queue `path` for indexing with `source` and start its process; returns the job id."""
    job_id = store.enqueue(path, source, filename=filename, user=user)
    logs = settings.home / "jobs"
    logs.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, DXA_HOME=str(settings.home))
    if settings.store.path:
        env["DXA_STORE__PATH"] = str(settings.store.path)
    try:
        with open(logs / f"{job_id}.log", "ab") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "ui.cli", "ingest", "--job", str(job_id)],
                cwd=REPO_ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # not killed with the server's process group, not tied to a thread
            )
    except OSError as exc:
        store.fail(job_id, f"索引の処理を開始できません: {exc}")
        return job_id
    store.set_pid(job_id, proc.pid)
    _children[proc.pid] = proc
    return job_id


def _alive(pid: int) -> bool:
    proc = _children.get(pid)
    if proc is not None:  # our own child: poll() also reaps it, so it does not linger as a zombie
        if proc.poll() is None:
            return True
        del _children[pid]
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def current_jobs(store: JobStore) -> list[Job]:
    """The recent jobs, after failing those whose process is gone."""
    for pid in [p for p, proc in _children.items() if proc.poll() is not None]:
        del _children[pid]
    store.reap(_alive)
    return store.recent()
