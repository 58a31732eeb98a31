"""The PDF parser runs in a child process: a file that makes it run too long, or kill it, is refused
with a clear error and leaves the index as it was."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pytest

from assistant.config import IngestSettings
from assistant.errors import IngestError
from ingest import pdf
from ingest.loaders import load_document
from tests.factories import make_pdf, make_slow_pdf


def test_a_pdf_that_parses_too_long_is_stopped(tmp_path: Path) -> None:
    path = make_slow_pdf(tmp_path / "slow.pdf")  # ~7 s of extraction on this machine
    assert path.stat().st_size < 100_000
    settings = IngestSettings(pdf_time_limit_s=1.0)
    started = time.monotonic()
    with pytest.raises(IngestError) as info:
        load_document(path, None, settings)
    assert time.monotonic() - started < 5
    err = info.value
    assert err.kind == "too_large"
    assert "slow.pdf" in err.message_ja and "制限時間（1秒）" in err.message_ja
    assert "DXA_INGEST__PDF_TIME_LIMIT_S" in err.hint


def test_the_same_pdf_reads_within_a_generous_limit(tmp_path: Path) -> None:
    path = make_slow_pdf(tmp_path / "slow.pdf", operators=20_000)
    doc = load_document(path, None, IngestSettings(pdf_time_limit_s=60))
    assert doc.pages == 1 and doc.blocks[0].text.count("x") >= 20_000


def test_a_parser_that_dies_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = make_pdf(tmp_path / "ok.pdf", ["本文です。"])
    # A child that dies the way a crashed native library would: no JSON, a message on stderr.
    monkeypatch.setattr(
        pdf, "WORKER", [sys.executable, "-c", "import os,sys; sys.stderr.write('boom\\n'); os._exit(139)"]
    )
    with pytest.raises(IngestError) as info:
        load_document(path, None, IngestSettings())
    assert info.value.kind == "corrupt" and "異常終了" in info.value.message_ja and "boom" in str(info.value)


def test_the_child_speaks_json(tmp_path: Path) -> None:
    import subprocess

    path = make_pdf(tmp_path / "two.pdf", ["一ページ目。", "二ページ目。"])
    proc = subprocess.run(
        [*pdf.WORKER, "--max-pages", "1", "--memory-mib", "2048"], input=path.read_bytes(), capture_output=True
    )
    assert json.loads(proc.stdout) == {"error": "too_many_pages", "values": {"n": 2, "limit": 1}}


def test_a_stopped_pdf_leaves_the_index_untouched(
    tmp_path: Path, embed_cache: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.conftest import make_settings
    from ui.cli import main

    home = tmp_path / "home"
    make_settings(home, embed_cache)
    monkeypatch.setenv("DXA_HOME", str(home))
    store = tmp_path / "store"
    good = make_pdf(tmp_path / "in" / "good.pdf", ["第1章 概要\n本市は窓口の待ち時間を短縮する。"])
    assert main(["ingest", str(good), "--store", str(store), "--no-progress"]) == 0
    capsys.readouterr()
    assert main(["status", "--json", "--store", str(store)]) == 0
    before = json.loads(capsys.readouterr().out)

    slow = make_slow_pdf(tmp_path / "in2" / "slow.pdf")
    monkeypatch.setenv("DXA_INGEST__PDF_TIME_LIMIT_S", "1")
    assert main(["ingest", str(slow), "--json", "--store", str(store), "--no-progress"]) == 1
    [result] = json.loads(capsys.readouterr().out)["results"]
    assert result["status"] == "error" and result["error_kind"] == "too_large"
    assert main(["status", "--json", "--store", str(store)]) == 0
    assert json.loads(capsys.readouterr().out) == before
    assert main(["search", "待ち時間", "--json", "--store", str(store)]) == 0
    assert json.loads(capsys.readouterr().out)["hits"][0]["doc_id"] == before["documents"][0]["doc_id"]
