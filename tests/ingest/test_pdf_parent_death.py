"""The PDF parser child dies with its parent: a `dxa ingest` killed with SIGKILL must not leave a
parser running on, re-parented to PID 1 and outside any time limit."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from assistant.config import REPO_ROOT
from tests.factories import make_form_bomb_pdf

# The parent: reads a PDF the way ingest does, with no text bound and a long time limit, so the child
# would run for minutes on its own.
PARENT = """
import sys
from pathlib import Path
from ingest.pdf import read_pdf
read_pdf(Path(sys.argv[1]).read_bytes(), max_pages=10, time_limit_s=600, memory_mib=4096)
"""


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == pid and b"ingest.pdf" in cmdline:
            found.append(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    """Running (a zombie waiting for PID 1 to reap it counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


def _wait_for(condition, seconds: float) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


def test_the_parser_child_dies_when_its_parent_is_killed(tmp_path: Path) -> None:
    slow = make_form_bomb_pdf(tmp_path / "slow.pdf", draws=300)  # minutes of extraction without a bound
    parent = subprocess.Popen([sys.executable, "-c", PARENT, str(slow)], cwd=REPO_ROOT)
    children: list[int] = []
    try:
        assert _wait_for(lambda: bool(_children(parent.pid)), 60), "the parser child never started"
        children = _children(parent.pid)
        time.sleep(0.5)  # let the child get into the extraction itself
        assert all(_alive(c) for c in children)
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait(timeout=30)
        assert _wait_for(lambda: not any(_alive(c) for c in children), 20), "the parser outlived its parent"
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()
        for pid in children:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
