"""Starting upload jobs from the UI and keeping their list honest (the jobs themselves: ingest/jobs.py).

A job is `dxa ingest --job N` in its own session and process group, so it outlives a page change
and never holds a thread of the server; this module only starts it and notices when one died.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from assistant.config import REPO_ROOT, Settings
from assistant.types import SourceInfo
from ingest.jobs import Job, JobStore

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
