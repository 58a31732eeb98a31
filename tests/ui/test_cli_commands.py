"""The `dxa` command table (ui/cli/commands.py): every documented command is in it and parses, the
`draft check|compare|section` sub-commands and the `draft "題"` shorthand, and a light `dxa --help`."""

from __future__ import annotations

import argparse
import re
import subprocess
import sys

import pytest

from assistant.config import REPO_ROOT
from ui.cli.commands import COMMANDS, build_parser, expand_shorthand


def parse(argv: list[str]) -> argparse.Namespace:
    return build_parser().parse_args(expand_shorthand(argv))


def documented_commands() -> list[str]:
    """The `dxa …` forms in README's "Using it" table, one per backticked form."""
    text = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index("## Using it") :]
    section = section[: section.index("\n## ", 1)]
    rows = [line for line in section.splitlines() if line.startswith("| `dxa ")]
    return [form for row in rows for form in re.findall(r"`(dxa [^`]+)`", row.split(" | ")[0])]


def test_the_table_lists_every_documented_command_and_only_those() -> None:
    documented = {form.split()[1] for form in documented_commands()}
    assert len(documented) >= 12  # the table was found and read
    assert {c.name for c in COMMANDS} == documented
    usage = build_parser().format_usage()
    [choices] = re.findall(r"\{([a-z,]+)\}", usage)
    assert choices.split(",") == [c.name for c in COMMANDS]  # one parser per table row, in table order


@pytest.mark.parametrize("name", [c.name for c in COMMANDS])
def test_every_command_has_help(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        parse([name, "--help"])
    assert exit_.value.code == 0
    assert f"usage: dxa {name}" in capsys.readouterr().out


def test_documented_sub_commands_parse() -> None:
    assert parse(["user", "role", "suzuki", "admin"]).action == "role"
    assert parse(["audit", "verify", "--json"]).audit_action == "verify"
    assert parse(["eval", "compare", "old.json", "new.json"]).eval_action == "compare"
    assert parse(["eval", "history"]).eval_action == "history"
    assert parse(["corpus", "fetch"]).action == "fetch"


def test_draft_check_and_compare_are_sub_commands() -> None:
    args = parse(["draft", "check", "edited.md", "--json"])
    assert (args.command, args.draft_action, args.file, args.json) == ("draft", "check", "edited.md", True)
    args = parse(["draft", "compare", "atsugi-dx-policy", "new.docx"])
    assert (args.draft_action, args.old_doc_id, args.new, args.json) == (
        "compare",
        "atsugi-dx-policy",
        "new.docx",
        False,
    )
    # options before the sub-command, as the single `draft WORDS…` parser accepted them
    args = parse(["draft", "--json", "--store", "S", "check", "edited.md"])
    assert (args.draft_action, args.file, args.json, args.store) == ("check", "edited.md", True, "S")


def test_draft_title_is_short_for_draft_section() -> None:
    args = parse(["draft", "行政事務のＤＸ", "--intent", "施策の方向性", "--style", "dearu", "--md", "d.md"])
    assert (args.draft_action, args.title, args.intent, args.style, args.md) == (
        "section",
        ["行政事務のＤＸ"],
        "施策の方向性",
        "dearu",
        "d.md",
    )
    args = parse(["-v", "draft", "--intent=check", "--mode", "extractive", "第1章", "総論"])
    assert (args.verbose, args.draft_action, args.title, args.intent) == (True, "section", ["第1章", "総論"], "check")
    assert parse(["draft", "--md", "check", "題"]).title == ["題"]  # an option's value is not the sub-command
    assert parse(["draft", "section", "check"]).title == ["check"]  # a title that reads "check"
    assert parse(["draft", "check 体制"]).title == ["check 体制"]  # one quoted word is a title, as before
    assert parse(["draft", "題"]).intent is None and parse(["draft", "題"]).store is None


@pytest.mark.parametrize(
    "argv",
    [
        ["draft"],
        ["draft", "check"],
        ["draft", "check", "a.md", "b.md"],
        ["draft", "compare", "old"],
        ["draft", "題", "--style", "bad"],
    ],
)
def test_bad_draft_usage_exits_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        parse(argv)
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: dxa") and "error:" in err


def test_help_runs_without_loading_the_pipeline() -> None:
    code = (
        "import sys\n"
        "from ui.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit as e:\n    assert e.code == 0, e.code\n"
        "heavy = {'assistant.pipeline', 'chromadb', 'torch', 'sentence_transformers', 'ingest.indexer', 'eval.runner'}\n"
        "print('LOADED', sorted(heavy & set(sys.modules)))\n"
    )
    run = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert "LOADED []" in run.stdout
    for c in COMMANDS:
        assert c.name in run.stdout
    # `python -m ui.cli` (how ui/jobs.py starts an upload job) is the same entry point
    run = subprocess.run(
        [sys.executable, "-m", "ui.cli", "draft", "--help"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0 and "{section,check,compare}" in run.stdout, run.stderr
