"""Crash safety (SIGKILL a real ingest at each named write stage, and at random moments) and no outbound
traffic by default."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from assistant.config import Settings
from assistant.store import WRITE_STAGES
from assistant.types import SourceInfo
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


def run_dxa(home: Path, *args: str) -> None:
    proc = dxa(home, *args)
    _, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err.decode(errors="replace")[-2000:]


# A `dxa` process that stops the nth time the index reaches a named write stage: it says so on stdout
# and sleeps until the test kills it. The hook is set here, in the child, not by the product.
PAUSING_DXA = r"""
import sys, time
from assistant import store
stage, nth = sys.argv[1], int(sys.argv[2])
seen = 0
def pause(name):
    global seen
    if name == stage:
        seen += 1
        if seen == nth:
            print("STAGE", name, flush=True)
            time.sleep(3600)
store.WRITE_STAGE_HOOK = pause
from ui.cli import main
raise SystemExit(main(sys.argv[3:]))
"""

# The index read back in a fresh process, as the next `dxa` finds it.
INDEX_STATE = r"""
import json
from assistant.config import Settings
from assistant.pipeline import Pipeline
index = Pipeline(Settings()).index
docs = {d.path: d for d in index.documents()}
print(json.dumps({
    "sqlite": sorted(index.chunk_ids()),
    "chroma": sorted(index.vectors.all_ids()),
    "records": {p: d.chunks for p, d in docs.items()},
    "doc_ids": {p: d.doc_id for p, d in docs.items()},
    "chunks": {
        p: sorted(c.chunk_id.split(":", 1)[1] for c in index.document_chunks(d.doc_id)) for p, d in docs.items()
    },
    "bm25": {name: sorted(b.ids) for name, b in index.sparse_indexes().items()},
}))
"""


def index_state(home: Path) -> dict[str, Any]:
    env = dict(os.environ, DXA_HOME=str(home))
    out = subprocess.run([sys.executable, "-c", INDEX_STATE], env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    state: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return state


def expected_chunks(path: Path, settings: Settings, doc_id: str) -> list[str]:
    """The content part of the chunk ids that the current text of `path` yields as document `doc_id` (the
    indexer names documents; planN.md becomes planN)."""
    doc = load_document(path, SourceInfo(doc_id=doc_id, title="", level="other"), settings.ingest)
    return sorted(c.chunk_id.split(":", 1)[1] for c in chunk_document(doc, settings.ingest.chunk_chars))


def assert_repaired(home: Path, settings: Settings, paths: list[Path]) -> None:
    """After a completed ingest: each document holds exactly its current chunks; Chroma and BM25 agree."""
    state = index_state(home)
    assert state["chroma"] == state["sqlite"]  # no orphan vectors, none missing
    assert len(state["records"]) == len(paths)
    for path in paths:  # no duplicates, nothing left of an older text
        key = str(path.resolve())
        assert state["chunks"][key] == expected_chunks(path, settings, state["doc_ids"][key])
        assert state["records"][key] == len(state["chunks"][key])
    assert sum(state["records"].values()) == len(state["sqlite"])
    for ids in state["bm25"].values():
        assert ids == state["sqlite"]


@pytest.mark.slow
@pytest.mark.parametrize("stage", WRITE_STAGES)
def test_sigkill_at_each_write_stage_is_repaired(tmp_path: Path, embed_cache: Path, stage: str) -> None:
    """Kill `dxa ingest` exactly at a write stage of the 2nd of 3 documents, whatever the machine's speed."""
    home = tmp_path / "home"
    settings = make_settings(home, embed_cache)
    docs = tmp_path / "docs"
    docs.mkdir()
    old = {p: expected_chunks(p, settings, p.stem) for p in write_docs(docs, 0)}
    run_dxa(home, "ingest", *map(str, old), "--no-progress")

    paths = write_docs(docs, 1)  # new text for all three: chunks to add, old ones to delete
    new = {p: expected_chunks(p, settings, p.stem) for p in paths}
    with (tmp_path / "child.log").open("wb") as log:
        child = subprocess.Popen(
            [sys.executable, "-c", PAUSING_DXA, stage, "2", "ingest", *map(str, paths), "--no-progress"],
            env=dict(os.environ, DXA_HOME=str(home)),
            stdout=subprocess.PIPE,
            stderr=log,
        )
        assert child.stdout is not None
        line = child.stdout.readline()  # blocks until the stage is reached, or the child ends without it
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=60)
    assert line == f"STAGE {stage}\n".encode(), (line, (tmp_path / "child.log").read_text()[-2000:])
    assert child.returncode == -signal.SIGKILL

    # What the next process finds: plan0 replaced, plan1 caught mid-write, plan2 untouched. SQLite holds
    # whole documents only, and every chunk it holds has its vector; the extra vectors are orphans.
    state = index_state(home)
    first, killed, untouched = paths
    committed = stage == "before_chroma_delete"  # the SQLite transaction had been committed
    want = {first: new[first], killed: (new if committed else old)[killed], untouched: old[untouched]}
    for path, chunks in want.items():
        assert state["chunks"][str(path.resolve())] == chunks, path.name
        assert state["records"][str(path.resolve())] == len(chunks), path.name
    assert set(state["sqlite"]) <= set(state["chroma"])
    other = old[killed] if committed else new[killed]  # the side of plan1 that SQLite does not hold
    assert len(state["chroma"]) - len(state["sqlite"]) == len(set(other) - set(want[killed])) > 0

    run_dxa(home, "ingest", *map(str, paths), "--no-progress")  # a re-ingest completes and repairs
    assert_repaired(home, settings, paths)


@pytest.mark.slow
def test_sigkill_at_random_moments_leaves_no_duplicates_or_orphans(tmp_path: Path, embed_cache: Path) -> None:
    """Kills at arbitrary moments. Which stages they hit depends on the machine; the outcome must not."""
    home = tmp_path / "home"
    settings = make_settings(home, embed_cache)
    docs = tmp_path / "docs"
    docs.mkdir()
    rng = random.Random(20261124)
    run_dxa(home, "ingest", *map(str, write_docs(docs, 0)), "--no-progress")  # also prepares the model
    started = time.perf_counter()
    run_dxa(home, "ingest", *map(str, write_docs(docs, 100)), "--no-progress")  # as much work as each round
    full_run = time.perf_counter() - started

    for round_no in range(1, 7):
        paths = write_docs(docs, round_no)  # new text: new chunks to embed, old ones to replace
        proc = dxa(home, "ingest", *map(str, paths), "--no-progress")
        time.sleep(rng.uniform(0.2, full_run * 0.95))
        proc.send_signal(signal.SIGKILL)  # a no-op when the run has already finished
        proc.communicate(timeout=60)

    run_dxa(home, "ingest", *map(str, paths), "--no-progress")
    assert_repaired(home, settings, paths)


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
