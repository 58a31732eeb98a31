"""`dxa`: the command line. Settings are built here, once, and passed down.

The command table is ui/cli/commands.py; each command group is one module (ingest, answer, users,
eval, plan, audit) with `add_parsers(sub, common)` and its handlers; output.py is what they print.
"""

from __future__ import annotations

from ui.cli.base import cli_user, pipeline_for, record_event
from ui.cli.output import emit_json, say, terminal_safe

__all__ = ["cli_user", "emit_json", "main", "pipeline_for", "record_event", "say", "terminal_safe"]


def main(argv: list[str] | None = None) -> int:
    """The `dxa` entry point (pyproject [project.scripts]); the table is imported only when a command runs."""
    from ui.cli.commands import main as run

    return run(argv)
