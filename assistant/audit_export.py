"""How the audit log leaves the app: times in JST with their offset, and CSV that Excel opens safely.

Stored times are UTC ISO strings; staff read and export them as `2026-12-01 09:00:00+09:00`.
A CSV cell that starts with = + - @ (or a tab / carriage return) would run as a formula in Excel
(`=HYPERLINK(…)` in a question); such cells get a leading `'` so they stay text.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Any

JST = timezone(timedelta(hours=9), "JST")
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def to_jst(iso: str) -> str:
    """A stored ISO time as `YYYY-MM-DD HH:MM:SS+09:00`; text that is not a time comes back unchanged."""
    try:
        at = datetime.fromisoformat(iso)
    except (TypeError, ValueError):
        return iso
    at = at if at.tzinfo else at.replace(tzinfo=UTC)
    return at.astimezone(JST).isoformat(sep=" ", timespec="seconds")


def jst_day_start(day: date) -> str:
    """The start of a JST calendar day as a UTC ISO string, comparable with the stored times."""
    return datetime.combine(day, time.min, tzinfo=JST).astimezone(UTC).isoformat(timespec="milliseconds")


def safe_cell(value: Any) -> Any:
    """A CSV cell that Excel cannot run as a formula: text starting with = + - @ tab or CR gets a `'`."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def csv_text(columns: Sequence[str], rows: Iterable[Mapping[str, Any]]) -> str:
    """CSV with a UTF-8 BOM (so Excel reads Japanese), every cell passed through `safe_cell`."""
    buf = io.StringIO()
    buf.write("\ufeff")
    writer = csv.DictWriter(buf, fieldnames=list(columns), extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: safe_cell(v) for k, v in row.items()})
    return buf.getvalue()
