"""Crash safety (SIGKILL a real ingest at random moments) and no outbound traffic by default."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from assistant.pipeline import Pipeline
from ingest.chunk import chunk_document
from ingest.loaders import load_document
from tests.conftest import make_settings

PARAGRAPH = "本市は{n}番目の施策として、窓口手続のオンライン化とデータ活用を進め、職員の業務を見直す。"


def write_docs(folder: Path, round_no: int) -> list[Path]:
    """Three documents whose contents change every round, so every run has real work to do."""
    paths = []
    for d in range(3):
        sections = []
        for s in range(1, 25):
            body = "".join(PARAGRAPH.format(n=f"{round_no}-{d}-{s}-{i}") for i in range(6))
            sections.append(f"## {s} 施策{s}\n{body}\n")
        path = folder / f"plan{d}.md"
        path.write_text(f"# 計画{d}\n\n" + "\n".join(sections), encoding="utf-8")
        paths.append(path)
    return paths


def dxa(home: Path, *args: str) -> subprocess.Popen[bytes]:
    env = dict(os.environ, DXA_HOME=str(home))
    return subprocess.Popen(
        [sys.executable, "-m", "ui.cli", *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )


@pytest.mark.slow
def test_sigkill_at_random_points_leaves_no_duplicates_or_orphans(tmp_path: Path, embed_cache: Path) -> None:
    home = tmp_path / "home"
    settings = make_settings(home, embed_cache)
    docs = tmp_path / "docs"
    docs.mkdir()
    rng = random.Random(20261124)
    paths = write_docs(docs, 0)
    proc = dxa(home, "ingest", *map(str, paths), "--no-progress")  # first run also prepares the model
    assert proc.wait(timeout=600) == 0, proc.stderr.read() if proc.stderr else ""
    paths = write_docs(docs, 100)  # a timed run with as much work as every later round
    started = time.perf_counter()
    proc = dxa(home, "ingest", *map(str, paths), "--no-progress")
    assert proc.wait(timeout=600) == 0, proc.stderr.read() if proc.stderr else ""
    full_run = time.perf_counter() - started

    kills = 0
    for round_no in range(1, 13):
        paths = write_docs(docs, round_no)  # new text: new chunks to embed, old ones to replace
        proc = dxa(home, "ingest", *map(str, paths), "--no-progress")
        time.sleep(rng.uniform(0.2, full_run * 0.95))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            kills += 1
        proc.wait(timeout=60)
    assert kills >= 6, f"only {kills} runs were killed mid-way; the test did not exercise crashes"

    proc = dxa(home, "ingest", *map(str, paths), "--no-progress")
    assert proc.wait(timeout=600) == 0, proc.stderr.read() if proc.stderr else ""

    pipeline = Pipeline(settings)
    index = pipeline.index
    sqlite_ids = index.chunk_ids()
    assert index.vectors.all_ids() == sqlite_ids  # no orphan vectors, none missing
    assert len(index.documents()) == 3
    for path in paths:  # each document holds exactly the chunks of its current text: no duplicates
        doc = load_document(path, None, settings.ingest)
        expected = {c.chunk_id.split(":", 1)[1] for c in chunk_document(doc, settings.ingest.chunk_chars)}
        record = next(d for d in index.documents() if d.path == str(path.resolve()))
        stored = {c.chunk_id.split(":", 1)[1] for c in index.document_chunks(record.doc_id)}
        assert stored == expected and record.chunks == len(expected)
    assert sum(d.chunks for d in index.documents()) == len(sqlite_ids)
    for bm25 in index.sparse_indexes().values():
        assert set(bm25.ids) == sqlite_ids


GUARD = r"""
import ipaddress, socket, sys
violations = []
def guard(event, args):
    if event in ("socket.connect", "socket.sendto"):
        addr = args[1] if event == "socket.connect" else args[2]
        if isinstance(addr, tuple):
            host = addr[0]
            try:
                ok = ipaddress.ip_address(host).is_loopback
            except ValueError:
                ok = host == "localhost"
            if not ok:
                violations.append(f"{event} {addr}")
                raise PermissionError(f"blocked outbound {addr}")  # raised before any packet leaves
    elif event == "socket.getaddrinfo":
        host = args[0]
        if host not in (None, "localhost", "127.0.0.1", "::1", b"localhost"):
            violations.append(f"getaddrinfo {host}")
sys.addaudithook(guard)
if sys.argv[1:] == ["control"]:  # proves the guard sees a connection (blocked before it is made)
    try:
        socket.create_connection(("192.0.2.1", 80), timeout=1)
    except PermissionError:
        pass
    print("VIOLATIONS", violations)
    raise SystemExit(0)
from ui.cli import main
codes = [main(["ingest", "--corpus", "--no-progress"]), main(["ask", "計画の期間はいつからいつまでですか", "--json"])]
print("VIOLATIONS", violations, "CODES", codes)
"""


def test_default_configuration_makes_no_outbound_connection(tmp_path: Path, embed_cache: Path) -> None:
    home = tmp_path / "home"
    make_settings(home, embed_cache)
    env = {k: v for k, v in os.environ.items() if not k.startswith("DXA_")}
    env.update(DXA_HOME=str(home))
    env.pop("ANONYMIZED_TELEMETRY", None)  # the product itself must switch telemetry off
    out = subprocess.run([sys.executable, "-c", GUARD], env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    line = next(ln for ln in out.stdout.splitlines() if ln.startswith("VIOLATIONS"))
    assert line == "VIOLATIONS [] CODES [0, 0]", line
    answer = json.loads(next(ln for ln in out.stdout.splitlines() if ln.startswith("{")))
    assert answer["citations"]
    control = subprocess.run([sys.executable, "-c", GUARD, "control"], env=env, capture_output=True, text=True)
    assert "192.0.2.1" in control.stdout  # the guard would have caught a real outbound connection
