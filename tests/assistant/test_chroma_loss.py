"""Losing the Chroma server is one clear message per file and per question, never a traceback.

The test starts its own `chroma run` on a free loopback port and SIGKILLs it: mid-ingest (the index
was opened while the server ran), mid-`ask --questions`, and before a command starts.
"""

from __future__ import annotations

import json
import logging
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from assistant.config import REPO_ROOT
from assistant.pipeline import Pipeline
from tests.conftest import make_settings

CHROMA = REPO_ROOT / ".venv" / "bin" / "chroma"
UNREACHABLE = "検索インデックス（Chroma, {url}）に接続できません"


class ChromaServer:
    def __init__(self, path: Path) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        self.proc = subprocess.Popen(
            [str(CHROMA), "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"{self.url}/api/v2/heartbeat", timeout=2).raise_for_status()
                return
            except httpx.HTTPError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    self.kill()
                    raise RuntimeError("chroma run did not start") from None
                time.sleep(0.2)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=30)


@pytest.fixture
def chroma(tmp_path: Path) -> Iterator[ChromaServer]:
    if not CHROMA.exists():
        pytest.skip(f"{CHROMA} is not installed")
    server = ChromaServer(tmp_path / "chroma-data")
    try:
        yield server
    finally:
        server.kill()


@pytest.fixture
def env(tmp_path: Path, embed_cache: Path, chroma: ChromaServer, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    make_settings(home, embed_cache)
    monkeypatch.setenv("DXA_HOME", str(home))
    monkeypatch.setenv("DXA_STORE__CHROMA_URL", chroma.url)
    return home


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def lose_server_after_opening(monkeypatch: pytest.MonkeyPatch, chroma: ChromaServer) -> None:
    """The CLI's pipeline has opened its index while the server ran; then the server goes away."""
    import ui.cli.answer
    import ui.cli.ingest
    from assistant.config import Settings

    pipeline = Pipeline(Settings())
    assert pipeline.index.vectors.count() >= 0  # connected
    chroma.kill()
    monkeypatch.setattr(ui.cli.ingest, "pipeline_for", lambda settings: pipeline)
    monkeypatch.setattr(ui.cli.answer, "pipeline_for", lambda settings: pipeline)


def test_server_lost_mid_ingest_is_one_line_per_file(
    env: Path,
    tmp_path: Path,
    chroma: ChromaServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    from ui.cli import main

    a = write(tmp_path / "in" / "a.md", "# 窓口\n本庁舎の窓口は午前8時30分に開きます。\n")
    b = write(tmp_path / "in" / "b.md", "# 図書館\n中央図書館は月曜日が休館日です。\n")
    lose_server_after_opening(monkeypatch, chroma)
    with caplog.at_level(logging.WARNING):
        assert main(["ingest", str(a), str(b), "--no-progress"]) == 1
    out = capsys.readouterr()
    lines = [line for line in out.out.splitlines() if line.startswith("[エラー]")]
    assert len(lines) == 2 and str(a) in lines[0] and str(b) in lines[1]
    assert all(UNREACHABLE.format(url=chroma.url) in line and "Chromaサーバーが起動" in line for line in lines)
    assert "予期しない" not in out.out + out.err and "Traceback" not in out.out + out.err
    assert not [r for r in caplog.records if r.exc_info], "a traceback was logged"


def test_server_lost_mid_ask_is_one_line_per_question(
    env: Path, tmp_path: Path, chroma: ChromaServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from ui.cli import main

    doc = write(tmp_path / "in" / "plan.md", "# 計画\n計画の期間は令和9年度から6年間です。\n")
    assert main(["ingest", str(doc), "--no-progress"]) == 0
    questions = tmp_path / "q.jsonl"
    questions.write_text(
        '{"id": "q1", "question": "計画の期間は？"}\n{"id": "q2", "question": "窓口は何時から？"}\n', encoding="utf-8"
    )
    capsys.readouterr()
    lose_server_after_opening(monkeypatch, chroma)
    assert main(["ask", "--questions", str(questions)]) == 1
    out = capsys.readouterr()
    lines = out.err.strip().splitlines()
    assert len(lines) == 2 and lines[0].startswith("エラー: q1: 計画の期間は？") and lines[1].startswith("エラー: q2:")
    assert all(UNREACHABLE.format(url=chroma.url) in line for line in lines)
    assert "Traceback" not in out.out + out.err

    assert main(["ask", "--questions", str(questions), "--json"]) == 1
    objs = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [o["id"] for o in objs] == ["q1", "q2"]
    assert all(UNREACHABLE.format(url=chroma.url) in o["error"] and "cannot connect" in o["error_en"] for o in objs)


def test_server_gone_before_the_command(
    env: Path, tmp_path: Path, chroma: ChromaServer, capsys: pytest.CaptureFixture[str]
) -> None:
    from ui.cli import main

    chroma.kill()
    doc = write(tmp_path / "in" / "plan.md", "# 計画\n計画の期間は令和9年度から6年間です。\n")
    assert main(["ingest", str(doc), "--no-progress"]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"エラー: {UNREACHABLE.format(url=chroma.url)}") and "Traceback" not in err
