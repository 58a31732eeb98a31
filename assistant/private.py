"""Everything the app writes under DXA_HOME is private to the OS user that runs it.

The entry points (`dxa`, the Streamlit app) set the process umask to 077, so every file and
directory created afterwards, by us or by Chroma, is 0600 / 0700. The SQLite stores also chmod
their files on open, which fixes files created by older versions with a looser umask.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

PRIVATE_UMASK = 0o077
FILE_MODE = 0o600
DIR_MODE = 0o700
_SQLITE_SIDECARS = ("-wal", "-shm", "-journal")


def use_private_umask() -> int:
    """Set the process umask so new files are 0600 and new directories 0700; returns the old umask."""
    return os.umask(PRIVATE_UMASK)


def private_dir(path: Path) -> Path:
    """Create `path` (and missing parents) as 0700 directories; an existing directory is left as it is."""
    if not path.exists():
        old = os.umask(PRIVATE_UMASK)
        try:
            path.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
        finally:
            os.umask(old)
    return path


def private_sqlite(path: Path) -> Path:
    """Create the SQLite file 0600 (or chmod an existing one and its -wal/-shm files) before it is opened.

    SQLite gives the -wal and -shm files it creates later the database file's mode."""
    private_dir(path.parent)
    path.touch(mode=FILE_MODE, exist_ok=True)
    for p in (path, *(path.with_name(path.name + s) for s in _SQLITE_SIDECARS)):
        if p.exists() and (p.stat().st_mode & 0o777) != FILE_MODE:
            with contextlib.suppress(PermissionError):  # someone else's file: reading it may still work
                os.chmod(p, FILE_MODE)
    return path


@contextlib.contextmanager
def sqlite_transaction(path: Path, timeout: float = 30) -> Iterator[sqlite3.Connection]:
    """A fresh connection to `path` holding one transaction (committed, or rolled back on an error),
    closed afterwards: what the small SQLite stores (users, sessions, jobs) use for every call."""
    db = sqlite3.connect(path, timeout=timeout)
    try:
        with db:
            yield db
    finally:
        db.close()
