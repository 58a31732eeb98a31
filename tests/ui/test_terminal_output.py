"""Escape sequences in file names and document text never reach the terminal raw: the CLI strips
control characters from everything it prints (ui.cli.terminal_safe)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import make_settings
from ui.cli import terminal_safe

ESC = "\x1b"


def test_terminal_safe_strips_escapes_and_controls_only() -> None:
    hostile = "\x1b[2J\x1b[31m赤字\x1b[0m \x1b]0;title\x07窓口\x9b31m\x07\x08\x7f\x00 ok\n\tnext"
    assert terminal_safe(hostile) == "赤字 窓口 ok\n\tnext"
    assert terminal_safe("厚木市ＤＸ推進計画（令和9年度）") == "厚木市ＤＸ推進計画（令和9年度）"


def test_file_names_and_text_with_escapes_are_printed_clean(
    tmp_path: Path, embed_cache: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from ui.cli import main

    home = tmp_path / "home"
    make_settings(home, embed_cache)
    monkeypatch.setenv("DXA_HOME", str(home))
    store = str(tmp_path / "store")
    folder = tmp_path / "in"
    folder.mkdir()
    good = folder / "\x1b]0;owned\x07\x1b[2Jplan.md"
    good.write_text(
        "# 窓口\n本庁舎の窓口は\x1b[31m午前8時30分\x1b[0mに開きます。" + "窓口の案内です。" * 30 + "\n",
        encoding="utf-8",
    )
    bad = folder / "\x1b[5mbroken.pdf"
    bad.write_text("これはPDFではありません。\n", encoding="utf-8")

    assert main(["ingest", str(folder), "--store", store, "--no-progress"]) == 1
    out = capsys.readouterr()
    assert "plan.md" in out.out and "broken.pdf" in out.out and "broken.pdf" in out.err
    assert ESC not in out.out + out.err and "\x07" not in out.out + out.err

    assert main(["search", "窓口は何時に開きますか", "--store", store]) == 0
    assert main(["ask", "窓口は何時に開きますか", "--mode", "extractive", "--store", store]) == 0
    assert main(["status", "--store", store]) == 0
    out = capsys.readouterr()
    assert "午前8時30分" in out.out and ESC not in out.out + out.err
