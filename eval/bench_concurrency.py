"""Concurrency benchmark: N sessions ask through ONE Pipeline (as Streamlit's script threads do) while
an admin indexes, re-indexes and removes a document. Every answer is appended to the audit log.

Prints errors (must be 0), answer correctness (the expected document is cited) and p50/p95 latency.

    python eval/bench_concurrency.py [--sessions 10] [--rounds 3] [--home DIR]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
import traceback
from pathlib import Path

os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from assistant.config import Settings  # noqa: E402
from assistant.pipeline import Pipeline  # noqa: E402
from assistant.types import SourceInfo  # noqa: E402
from ingest.indexer import ingest_corpus, ingest_file  # noqa: E402

# (question, document that must be cited)
QUESTIONS: tuple[tuple[str, str], ...] = (
    ("計画の期間はいつからいつまでですか", "atsugi-dx-policy"),
    ("厚木市情報化推進計画はいつ終了しますか", "atsugi-dx-policy"),
    ("かながわICT・データ利活用推進計画はいつ策定されましたか", "kanagawa-dx-digest"),
    ("自治体DXの重点取組事項は何ですか", "jichitai-dx-digest"),
    ("自治体フロントヤード改革とは何ですか", "jichitai-dx-digest"),
)


def admin_document(folder: Path, version: int) -> Path:
    """A text document the admin (re)indexes during the run; its content changes with each version."""
    lines = [f"# 厚木市公園管理業務の記録 第{version}版", ""]
    for i in range(1, 61):
        lines.append(f"## {i} 公園{i}の維持管理")
        lines.append(f"公園{i}では、樹木の剪定を年{i % 4 + 1}回、遊具の点検を毎月実施している（第{version}版）。")
        lines.append("")
    path = folder / "park-records.md"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3, help="times each session asks every question")
    parser.add_argument("--home", type=Path, help="DXA_HOME to use (default: a temporary one, deleted after)")
    args = parser.parse_args()

    home = args.home or Path(tempfile.mkdtemp(prefix="dxa-bench-conc-"))
    settings = Settings(home=home)
    pipeline = Pipeline(settings)
    t0 = time.perf_counter()
    results = ingest_corpus(pipeline.index, settings)
    assert all(r.ok for r in results), [r.message for r in results if not r.ok]
    print(f"corpus indexed in {time.perf_counter() - t0:.1f}s ({sum(r.chunks for r in results)} chunks)")
    for question, _ in QUESTIONS:  # warm the models and caches, as a running server would be
        pipeline.ask(question)

    latencies: list[float] = []
    correct = total = 0
    errors: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()
    admin_ops: list[str] = []
    start_gate = threading.Barrier(args.sessions + 1)

    def session(n: int) -> None:
        nonlocal correct, total
        start_gate.wait()
        for r in range(args.rounds):
            for i in range(len(QUESTIONS)):
                question, expected = QUESTIONS[(i + n + r) % len(QUESTIONS)]
                t = time.perf_counter()
                try:
                    answer = pipeline.ask(question, user=f"bench{n}", session=f"s{n}")
                    ok = any(c.chunk.doc_id == expected for c in answer.citations) and (answer.run_id or 0) > 0
                except Exception:
                    with lock:
                        errors.append(traceback.format_exc())
                    continue
                with lock:
                    latencies.append((time.perf_counter() - t) * 1000)
                    total += 1
                    correct += ok

    def admin() -> None:
        folder = Path(tempfile.mkdtemp(prefix="dxa-bench-admin-"))
        version = 0
        start_gate.wait()
        while not stop.is_set():
            version += 1
            path = admin_document(folder, version)
            source = SourceInfo(doc_id="park-records", title="公園管理業務の記録", level="city", edition=f"v{version}")
            result = ingest_file(pipeline.index, settings, path, source)
            if not result.ok:
                with lock:
                    errors.append(f"admin ingest: {result.message}")
            admin_ops.append(f"{result.status}:{result.chunks}")
            if version % 3 == 0:
                pipeline.index.remove_document("park-records")
                admin_ops.append("removed")
        shutil.rmtree(folder, ignore_errors=True)

    threads = [threading.Thread(target=session, args=(n,)) for n in range(args.sessions)]
    admin_thread = threading.Thread(target=admin)
    wall = time.perf_counter()
    admin_thread.start()
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    wall = time.perf_counter() - wall
    stop.set()
    admin_thread.join()

    logged = len(pipeline.run_log.query(limit=100_000))
    print(f"sessions: {args.sessions}, questions answered: {total}, wall {wall:.1f}s")
    print(f"admin index operations during the run: {len(admin_ops)} ({', '.join(admin_ops[:6])}…)")
    print(f"errors: {len(errors)}")
    for e in errors[:5]:
        print(e)
    print(f"correct (expected document cited): {correct}/{total} = {correct / max(total, 1):.3f}")
    if latencies:
        print(
            f"latency ms: p50 {percentile(latencies, 0.5):.0f}, p95 {percentile(latencies, 0.95):.0f}, "
            f"mean {statistics.fmean(latencies):.0f}, max {max(latencies):.0f}"
        )
    print(f"audit log entries: {logged} (expected {total})")
    if args.home is None:
        shutil.rmtree(home, ignore_errors=True)
    return 1 if errors or logged != total else 0


if __name__ == "__main__":
    sys.exit(main())
