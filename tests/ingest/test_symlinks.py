"""A symlink in an ingested folder that points outside it (a link to /etc/passwd) is skipped with a
notice, unless ingest.follow_symlinks / `dxa ingest --follow-symlinks` allows it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ingest.indexer import expand_paths
from tests.conftest import make_settings


def tree(tmp_path: Path) -> tuple[Path, Path]:
    """shared/ with a real file, a link inside shared/, a link to a file outside, a link to a folder outside."""
    outside = tmp_path / "private"
    outside.mkdir()
    secret = outside / "passwd.txt"
    secret.write_text("root:x:0:0:root:/root:/bin/bash\n職員の個人情報です。\n", encoding="utf-8")
    (outside / "notes.md").write_text("# メモ\n外部のメモです。\n", encoding="utf-8")
    shared = tmp_path / "shared"
    (shared / "sub").mkdir(parents=True)
    (shared / "plan.md").write_text("# 計画\n窓口の待ち時間を短縮します。\n", encoding="utf-8")
    (shared / "sub" / "alias.md").symlink_to(shared / "plan.md")  # inside the root: fine
    (shared / "passwd.txt").symlink_to(secret)
    (shared / "linked").symlink_to(outside, target_is_directory=True)
    return shared, secret


def test_links_out_of_the_folder_are_skipped(tmp_path: Path) -> None:
    shared, secret = tree(tmp_path)
    files, skipped = expand_paths([shared])
    assert files == [shared / "plan.md", shared / "sub" / "alias.md"]
    assert sorted(s.path.name for s in skipped) == ["linked", "passwd.txt"]
    notice = next(s for s in skipped if s.path.name == "passwd.txt")
    assert str(secret) in notice.message_ja and "--follow-symlinks" in notice.message_ja


def test_the_option_follows_them(tmp_path: Path) -> None:
    shared, _ = tree(tmp_path)
    files, skipped = expand_paths([shared], follow_symlinks=True)
    assert skipped == []
    assert {f.relative_to(shared).as_posix() for f in files} == {
        "plan.md",
        "passwd.txt",
        "sub/alias.md",
        "linked/passwd.txt",
        "linked/notes.md",
    }


def test_a_link_into_another_given_folder_is_allowed(tmp_path: Path) -> None:
    shared, secret = tree(tmp_path)
    files, skipped = expand_paths([shared, secret.parent])
    assert shared / "passwd.txt" in files and skipped == []


def test_dxa_ingest_does_not_index_the_target(
    tmp_path: Path, embed_cache: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from ui.cli import main

    shared, _ = tree(tmp_path)
    home = tmp_path / "home"
    make_settings(home, embed_cache)
    monkeypatch.setenv("DXA_HOME", str(home))
    store = str(tmp_path / "store")
    assert main(["ingest", str(shared), "--store", store, "--no-progress"]) == 0  # a notice, not an error
    out = capsys.readouterr().out
    assert out.count("[スキップ]") == 2 and "シンボリックリンク" in out
    assert main(["search", "root", "--json", "--store", store]) == 0
    assert "root:x:0:0" not in capsys.readouterr().out
    assert main(["status", "--json", "--store", store]) == 0
    paths = {Path(d["path"]).name for d in json.loads(capsys.readouterr().out)["documents"]}
    assert paths == {"plan.md"}  # alias.md is the same file: one document

    assert main(["ingest", str(shared), "--follow-symlinks", "--store", store, "--no-progress"]) == 0
    capsys.readouterr()
    assert main(["status", "--json", "--store", store]) == 0
    paths = {Path(d["path"]).name for d in json.loads(capsys.readouterr().out)["documents"]}
    assert paths == {"plan.md", "passwd.txt", "notes.md"}
