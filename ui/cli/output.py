"""What the CLI prints: text made safe for a terminal, and one JSON object per line for scripts."""

from __future__ import annotations

import json
import re
import sys
from typing import Any, TextIO

# ANSI/VT escape sequences (CSI, OSC, other ESC forms) and then any remaining control character except
# newline and tab: a file name or a PDF's text must not recolour, retitle or rewrite the staff's terminal.
_ESCAPES = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-Z\\-_]|\x9b[0-?]*[ -/]*[@-~]")
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def terminal_safe(text: object) -> str:
    """`text` as it may reach a terminal: escape sequences and control characters removed."""
    return _CONTROLS.sub("", _ESCAPES.sub("", str(text)))


def say(*parts: object, file: TextIO | None = None, end: str = "\n", flush: bool = False) -> None:
    """print() for everything the CLI shows a person: file names, messages, answers, passages."""
    print(*(terminal_safe(p) for p in parts), file=file or sys.stdout, end=terminal_safe(end), flush=flush)


def emit_json(obj: Any) -> None:
    """One JSON object on one line of stdout (the `--json` contract), flushed so a pipe sees it at once."""
    sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")
    sys.stdout.flush()
