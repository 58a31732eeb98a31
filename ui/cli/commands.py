"""The `dxa` command table: every sub-command, the module that builds its parser and its handler.

One explicit list instead of registration on import: `dxa --help`, the tests and a reader see every
command here. Handlers import the heavy parts (the pipeline, ingest, eval) when they run.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable
from typing import NamedTuple

from assistant.config import Settings
from assistant.errors import DXAError
from assistant.private import use_private_umask
from ui.cli import answer, audit, ingest, plan, users
from ui.cli import eval as eval_cmd
from ui.cli.base import Handler, ParserBuilder
from ui.cli.output import say


class Command(NamedTuple):
    """One top-level sub-command: `add_parsers` adds it (with its module's siblings), `handler` runs it."""

    name: str
    add_parsers: ParserBuilder
    handler: Handler
    # Rewrites the words after the command name before parsing (`draft "題"` → `draft section "題"`).
    shorthand: Callable[[list[str], argparse.ArgumentParser], list[str]] | None = None


COMMANDS: tuple[Command, ...] = (
    Command("ingest", ingest.add_parsers, ingest.cmd_ingest),
    Command("remove", ingest.add_parsers, ingest.cmd_remove),
    Command("status", ingest.add_parsers, ingest.cmd_status),
    Command("corpus", ingest.add_parsers, ingest.cmd_corpus),
    Command("ui", ingest.add_parsers, ingest.cmd_ui),
    Command("search", answer.add_parsers, answer.cmd_search),
    Command("ask", answer.add_parsers, answer.cmd_ask),
    Command("user", users.add_parsers, users.cmd_user),
    Command("audit", audit.add_parsers, audit.cmd_audit),
    Command("eval", eval_cmd.add_parsers, eval_cmd.cmd_eval),
    Command("align", plan.add_parsers, plan.cmd_align),
    Command("draft", plan.add_parsers, plan.cmd_draft, plan.draft_shorthand),
)
HANDLERS: dict[str, Handler] = {c.name: c.handler for c in COMMANDS}


def common_options() -> argparse.ArgumentParser:
    """The parent parser of every command that opens the index."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--store", help="索引の保存先 (index directory) / overrides DXA_STORE__PATH")
    return common


def build_parser() -> argparse.ArgumentParser:
    """The whole `dxa` parser: each module's add_parsers once, in the table's order."""
    parser = argparse.ArgumentParser(prog="dxa", description="厚木市DX推進計画 策定支援アシスタント")
    parser.add_argument("-v", "--verbose", action="store_true", help="詳細ログ / verbose logging")
    common = common_options()
    sub = parser.add_subparsers(dest="command", required=True)
    for add_parsers in dict.fromkeys(c.add_parsers for c in COMMANDS):
        add_parsers(sub, common)
    return parser


def expand_shorthand(argv: list[str]) -> list[str]:
    """`argv` with a command's shorthand written out; the command is the first word that is not an option."""
    at = next((i for i, word in enumerate(argv) if not word.startswith("-")), None)
    if at is None:
        return argv
    command = next((c for c in COMMANDS if c.name == argv[at]), None)
    if command is None or command.shorthand is None:
        return argv
    return [*argv[: at + 1], *command.shorthand(argv[at + 1 :], common_options())]


def main(argv: list[str] | None = None) -> int:
    """Parse, build Settings once, run the handler; a DXAError becomes a bilingual message and exit 1."""
    use_private_umask()  # files and directories written under DXA_HOME: 0600 / 0700
    args = build_parser().parse_args(expand_shorthand(sys.argv[1:] if argv is None else list(argv)))
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    try:
        settings = Settings().with_store(getattr(args, "store", None))
        return HANDLERS[args.command](args, settings)
    except DXAError as exc:
        say(f"エラー: {exc.user_message('ja')}\nerror: {exc.user_message('en')}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
