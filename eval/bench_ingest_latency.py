"""Ask latency while a large PDF is indexed: idle vs during an upload job (its own process, as 資料管理
runs it now) vs during an ingest in a thread of the answering process (as the page used to run it).

A staff member asks questions one after another through one Pipeline (the UI's); meanwhile the
118-page PDF of ../shared is indexed. Prints p50/p95/max per phase and the ratio p95(during)/p95(idle)
(target: within 2x for the job).

    python eval/bench_ingest_latency.py [--pdf FILE] [--idle 30] [--modes job,thread]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from assistant.config import Settings  # noqa: E402
from assistant.pipeline import Pipeline  # noqa: E402
from assistant.types import SourceInfo  # noqa: E402
from eval.bench_concurrency import QUESTIONS, percentile  # noqa: E402
from ingest.indexer import ingest_paths  # noqa: E402
from ingest.jobs import (  # noqa: E402
    JobStore,  # noqa: E402
    current_jobs,
    start_ingest_job,
)

DEFAULT_PDF = REPO_ROOT.parent / "shared/corpus/real/juten-keikaku-2023/20230609_policies_priority_outline_05.pdf"
SOURCE = SourceInfo(doc_id="juten-2023", title="デジタル社会の実現に向けた重点計画", level="national")


def asker(pipeline: Pipeline, until: threading.Event | int) -> tuple[list[float], int]:
    """Ask the questions in turn (a fixed number, or until the event is set); latencies in ms, correct count."""
    latencies: list[float] = []
    correct = i = 0
    while (i < until) if isinstance(until, int) else not until.is_set():
        question, expected = QUESTIONS[i % len(QUESTIONS)]
        t = time.perf_counter()
        answer = pipeline.ask(question, user="bench", session="bench")  # logged, as the UI's are
        latencies.append((time.perf_counter() - t) * 1000)
        correct += any(c.chunk.doc_id == expected for c in answer.citations)
        i += 1
    return latencies, correct


def line(label: str, values: list[float], correct: int) -> str:
    if not values:
        return f"{label:<28} no questions"
    return (
        f"{label:<28} n={len(values):>3}  p50 {percentile(values, 0.5):>6.0f} ms  p95 {percentile(values, 0.95):>6.0f} ms"
        f"  max {max(values):>6.0f} ms  correct {correct}/{len(values)}"
    )


def run_mode(mode: str, template: Path, pdf: Path, idle_n: int) -> None:
    home = Path(tempfile.mkdtemp(prefix=f"dxa-bench-lat-{mode}-"))
    shutil.rmtree(home)
    shutil.copytree(template, home, symlinks=True)  # the corpus indexed; the PDF's vectors not cached
    try:
        settings = Settings(home=home)
        pipeline = Pipeline(settings)
        asker(pipeline, len(QUESTIONS))  # warm up, as a running server would be
        idle, idle_ok = asker(pipeline, idle_n)
        done = threading.Event()
        started = time.perf_counter()
        if mode == "job":
            jobs = JobStore.from_settings(settings)
            job_id = start_ingest_job(settings, jobs, pdf, SOURCE, filename=pdf.name, user="bench")

            def watch() -> None:
                while any(j.id == job_id and j.active for j in current_jobs(jobs)):
                    time.sleep(0.2)
                done.set()

            worker = threading.Thread(target=watch)
        else:

            def ingest() -> None:
                ingest_paths(pipeline.index, settings, [pdf], source=SOURCE)
                done.set()

            worker = threading.Thread(target=ingest)
        worker.start()
        during, during_ok = asker(pipeline, done)
        worker.join()
        seconds = time.perf_counter() - started
        record = pipeline.index.document(SOURCE.doc_id)
        chunks = record.chunks if record else 0
        print(f"\n[{mode}] {pdf.name}: {chunks} chunks indexed in {seconds:.1f} s while asking")
        print(line("  idle", idle, idle_ok))
        print(line(f"  during ingest ({mode})", during, during_ok))
        if idle and during:
            ratio = percentile(during, 0.95) / percentile(idle, 0.95)
            print(f"  p95 during / p95 idle = {ratio:.2f}")
    finally:
        shutil.rmtree(home, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pdf", type=Path, default=DEFAULT_PDF)
    parser.add_argument("--idle", type=int, default=30, help="questions asked with nothing indexing")
    parser.add_argument("--modes", default="job,thread", help="job (its own process), thread (the old way)")
    args = parser.parse_args()
    if not args.pdf.is_file():
        print(f"PDF not found: {args.pdf}", file=sys.stderr)
        return 2
    print(f"cpus {os.cpu_count()}, python {sys.version.split()[0]}")
    template = Path(tempfile.mkdtemp(prefix="dxa-bench-lat-template-"))
    try:
        env = dict(os.environ, DXA_HOME=str(template))
        t0 = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "ui.cli", "ingest", "--corpus", "--no-progress"], cwd=REPO_ROOT, env=env, check=True
        )
        print(f"corpus indexed in {time.perf_counter() - t0:.1f} s")
        for mode in args.modes.split(","):
            run_mode(mode.strip(), template, args.pdf, args.idle)
    finally:
        shutil.rmtree(template, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
