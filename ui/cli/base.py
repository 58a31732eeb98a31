"""What every `dxa` handler shares: its signature, who ran it, the audit event, the pipeline."""

from __future__ import annotations

import argparse
import getpass
from collections.abc import Callable
from typing import Any

from assistant.config import Settings

Handler = Callable[[argparse.Namespace, Settings], int]
# add_parsers(sub, common): adds a module's sub-commands to `sub` (the top-level subparsers action);
# `common` is the parent parser with the options every command that opens the index accepts (--store).
ParserBuilder = Callable[[Any, argparse.ArgumentParser], None]


def cli_user() -> str:
    """Who ran a command, as the audit log records it: `cli:<OS user>`."""
    return f"cli:{getpass.getuser()}"


def record_event(settings: Settings, kind: str, detail: str = "") -> None:
    """Append an admin action (a kind of assistant.audit.EVENT_LABELS_JA) done on the command line."""
    from assistant.audit import AuditLog

    AuditLog.from_settings(settings).record_event(cli_user(), kind, detail)


def pipeline_for(settings: Settings) -> Any:
    """The pipeline a handler works with; imported here, in the handler's call, so `dxa --help` stays fast."""
    from assistant.pipeline import Pipeline

    return Pipeline(settings)
