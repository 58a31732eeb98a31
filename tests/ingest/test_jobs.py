"""Background upload jobs: a real `dxa ingest --job N` process, its status and progress, a corrupt file, a dead job."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time
from pathlib import Path

from assistant.config import Settings
from assistant.pipeline import Pipeline
from assistant.types import SourceInfo
from ingest.jobs import DONE, FAILED, INDEXING, QUEUED, JobStore, current_jobs, start_ingest_job
from tests.factories import make_corrupt_pdf, make_pdf

ROOT = Path(__file__).resolve().parents[2]


def run_child(settings: Settings, job_id: int) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ui.cli", "ingest", "--job", str(job_id)],
        cwd=ROOT,
        env=dict(os.environ, DXA_HOME=str(settings.home)),
        capture_output=True,
        text=True,
        timeout=600,
    )


def wait_until_ended(store: JobStore, job_id: int, timeout_s: float = 600) -> None:
    deadline = time.time() + timeout_s
    while any(j.id == job_id and j.active for j in current_jobs(store)):
        assert time.time() < deadline, "the job did not end"
        time.sleep(0.5)


def test_a_job_goes_from_queued_through_indexing_to_done(settings: Settings, tmp_path: Path) -> None:
    pages = [f"第{n}章 厚木市の窓口手続のオンライン化について定める。申請は電子で受け付ける。" * 8 for n in range(1, 7)]
    pdf = make_pdf(tmp_path / "onrain.pdf", pages, title="オンライン化計画")
    store = JobStore.from_settings(settings)
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    job_id = store.enqueue(pdf, SourceInfo(doc_id="onrain", title="オンライン化計画", level="city"), filename=pdf.name)
    job = store.get(job_id)
    assert job is not None and job.status == QUEUED and job.eta_s(time.time()) is None
    done = run_child(settings, job_id)
    assert done.returncode == 0, done.stderr
    job = store.get(job_id)
    assert job is not None and job.status == DONE and job.outcome == "added", job
    assert job.started is not None and job.first_progress is not None  # it went through indexing, with progress
    record = Pipeline(settings).index.document("onrain")
    assert record is not None and record.level == "city" and record.chunks == job.total == job.done > 0
    assert record.pages == 6
    # the same file again: the same ingest code finds it unchanged
    again = store.enqueue(pdf, job.source, filename=pdf.name)
    assert run_child(settings, again).returncode == 0
    assert store.get(again).outcome == "unchanged"  # type: ignore[union-attr]


def test_eta_follows_the_pace_of_progress(tmp_path: Path) -> None:
    now = [100.0]
    store = JobStore(tmp_path / "jobs.sqlite", clock=lambda: now[0])
    job_id = store.enqueue(tmp_path / "x.txt", SourceInfo(doc_id="x", title="x"), filename="x.txt")
    store.started(job_id, os.getpid())
    store.progress(job_id, 16, 160)  # the first batch: no pace yet
    assert store.get(job_id).status == INDEXING and store.get(job_id).eta_s(now[0]) is None  # type: ignore[union-attr]
    now[0] = 110.0
    store.progress(job_id, 32, 160)  # 16 chunks in 10 s → 128 left take 80 s
    assert store.get(job_id).eta_s(now[0]) == 80.0  # type: ignore[union-attr]


def test_a_corrupt_upload_fails_with_its_reason_and_is_not_kept(settings: Settings, tmp_path: Path) -> None:
    uploads = settings.home / "uploads"
    uploads.mkdir(parents=True)
    bad = make_corrupt_pdf(uploads / "abc-broken.pdf")
    store = JobStore.from_settings(settings)
    job_id = start_ingest_job(
        settings, store, bad, SourceInfo(doc_id="broken", title="壊れた資料"), filename="broken.pdf", user="admin1"
    )
    wait_until_ended(store, job_id)
    job = store.get(job_id)
    assert job is not None and job.status == FAILED and job.user == "admin1"
    assert "broken.pdf" in job.message and "PDF" in job.message, job.message
    assert not bad.exists()  # nothing refers to a file that failed to index
    assert Pipeline(settings).index.document("broken") is None

    mine = make_corrupt_pdf(tmp_path / "mine.pdf")  # a file outside the uploads is never deleted
    job_id = store.enqueue(mine, SourceInfo(doc_id="mine", title="mine"), filename="mine.pdf")
    assert run_child(settings, job_id).returncode == 1
    assert store.get(job_id).status == FAILED and mine.exists()  # type: ignore[union-attr]


def test_a_job_whose_process_died_is_marked_failed(settings: Settings, tmp_path: Path) -> None:
    store = JobStore.from_settings(settings)
    job_id = store.enqueue(tmp_path / "x.txt", SourceInfo(doc_id="x", title="x"), filename="x.txt")
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    store.started(job_id, gone.pid)  # as if the job process had been killed
    [job] = [j for j in current_jobs(store) if j.id == job_id]
    assert job.status == FAILED and "途中で終了" in job.message
    assert run_child(settings, 999).returncode == 2  # an unknown job id is an error, not a crash
