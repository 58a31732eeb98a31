"""PDF text extraction in a child process, under a time and memory limit.

pypdf can loop or balloon on a hostile file and no Python code can interrupt it from outside, so the
parse runs in `python -m ingest.pdf`: the PDF goes in on stdin, the outcome comes back as one JSON
object on stdout, and the parent kills the child when the time limit passes; the child ends itself
when its parent goes (`_die_with_parent`). Extracted text is bounded per page and per document. The
child's address space is capped, so a decompression bomb ends in a MemoryError there instead of taking the host
down. The parent turns every outcome into pages or a PdfFailure; ingest/loaders/pdf.py words the error.
"""

from __future__ import annotations

import io
import json
import logging
import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from typing import Any

logger = logging.getLogger(__name__)

# The worker command; a test may swap it for one that misbehaves on purpose.
WORKER = [sys.executable, "-m", "ingest.pdf"]


@dataclass
class PdfFailure(Exception):
    """Why a PDF could not be read: `key` names a message in ingest.loaders.pdf.MESSAGES (or base.MESSAGES)."""

    key: str
    values: dict[str, Any] = field(default_factory=dict)


def read_pdf(
    data: bytes,
    *,
    max_pages: int,
    time_limit_s: float,
    memory_mib: int,
    max_page_chars: int = 0,
    max_doc_chars: int = 0,
) -> tuple[list[str], str, list[str] | None]:
    """Text of every physical page, the /Title and the catalog's /PageLabels (None when the PDF has
    none), parsed by a child process; raises PdfFailure.

    `max_page_chars` / `max_doc_chars` (0 = unbounded) stop the extraction inside the child as soon as a
    page, or the whole document, yields more text than that.
    """
    args = [*WORKER, "--max-pages", str(max_pages), "--memory-mib", str(memory_mib)]
    args += ["--max-page-chars", str(max_page_chars), "--max-doc-chars", str(max_doc_chars)]
    args += ["--parent-pid", str(os.getpid())]
    try:
        proc = subprocess.run(args, input=data, capture_output=True, timeout=time_limit_s, check=False)
    except subprocess.TimeoutExpired as exc:  # run() has killed the child
        raise PdfFailure("pdf_timeout", {"limit": time_limit_s}) from exc
    try:
        out = json.loads(proc.stdout.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        out = None
    if not isinstance(out, dict):
        tail = proc.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or [f"exit status {proc.returncode}"]
        raise PdfFailure("pdf_crash", {"why": tail[0][:300]})
    if "error" in out:
        raise PdfFailure(str(out["error"]), dict(out.get("values") or {}))
    for warning in out.get("warnings", []):
        logger.warning("%s", warning)
    pages = [str(t) for t in out["pages"]]
    labels = out.get("page_labels")
    if not isinstance(labels, list) or len(labels) != len(pages):
        labels = None
    return pages, str(out.get("title") or ""), None if labels is None else [str(x) for x in labels]


_NUMBER_FIRST = re.compile(r"^[\s\-‐－–—]*(\d{1,4})(?:[\s\-‐－–—]|$)")  # "100 光ファイバ…", "- 3 -"
_NUMBER_LAST = re.compile(r"(?:^|[\s\-‐－–—])(\d{1,4})[\s\-‐－–—]*$")  # "…    100"
_MIN_NUMBERED = 3


def printed_page_labels(pages: list[str]) -> list[str | None]:
    """The page numbers printed in each page's header or footer, when the PDF shows them consistently.

    A number at the start of a page's first line or the end of its last is a candidate; the labels are
    trusted only when one offset (physical − printed) explains most pages, never from a single page.
    Pages between the first and last page so numbered get physical − offset; the rest None.
    """
    by_offset: dict[int, set[int]] = {}
    for physical, text in enumerate(pages, start=1):
        lines = [ln for ln in text.splitlines() if ln.strip()]
        if not lines:
            continue
        found = set()
        for pattern, line in ((_NUMBER_FIRST, lines[0]), (_NUMBER_LAST, lines[-1])):
            m = pattern.search(line)
            if m and int(m.group(1)) >= 1:
                found.add(physical - int(m.group(1)))
        for offset in found:
            by_offset.setdefault(offset, set()).add(physical)
    labels: list[str | None] = [None] * len(pages)
    if not by_offset:
        return labels
    offset, numbered = max(by_offset.items(), key=lambda kv: (len(kv[1]), -abs(kv[0])))
    if len(numbered) < _MIN_NUMBERED or len(numbered) * 2 < len(pages):
        return labels
    for physical in range(min(numbered), max(numbered) + 1):
        if physical - offset >= 1:
            labels[physical - 1] = str(physical - offset)
    return labels


# --- the child ---------------------------------------------------------------------------------------


class _TooMuchText(Exception):
    """Raised from inside pypdf's text visitor: the page or the document passed its text bound."""

    def __init__(self, key: str, values: dict[str, Any]) -> None:
        super().__init__(key)
        self.key, self.values = key, values


def _extract(data: bytes, max_pages: int, max_page_chars: int = 0, max_doc_chars: int = 0) -> dict[str, Any]:
    from pypdf import PasswordType, PdfReader
    from pypdf.errors import DependencyError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and reader.decrypt("") == PasswordType.NOT_DECRYPTED:
            return {"error": "encrypted", "values": {"why": "it needs a password", "why_ja": "パスワードが必要です"}}
        n_pages = len(reader.pages)
        if n_pages > max_pages:
            return {"error": "too_many_pages", "values": {"n": n_pages, "limit": max_pages}}
        texts: list[str] = []
        warnings: list[str] = []
        first_failure: Exception | None = None
        total = 0
        for i, page in enumerate(reader.pages):
            count = _TextCounter(i + 1, total, max_page_chars, max_doc_chars)
            try:
                text = page.extract_text(visitor_text=count) or ""
            except (MemoryError, _TooMuchText):
                raise
            except Exception as exc:  # one bad page should not cost the rest of the document
                warnings.append(f"page {i + 1}: text extraction failed: {type(exc).__name__}: {exc}")
                first_failure = first_failure or exc
                text = ""
            count.check(max(count.n, len(text)))  # raises if tripped inside a form XObject pypdf swallowed
            total += len(text)
            texts.append(text)
        if first_failure is not None and len(warnings) == n_pages:
            raise first_failure
        return {"pages": texts, "title": _title(reader), "page_labels": _page_labels(reader), "warnings": warnings}
    except _TooMuchText as exc:
        return {"error": exc.key, "values": exc.values}
    except DependencyError:  # AES encryption without the `cryptography` package installed
        return {
            "error": "encrypted",
            "values": {
                "why": "its AES encryption needs the 'cryptography' package",
                "why_ja": "AES方式の暗号化を解くための cryptography パッケージがありません",
            },
        }
    except MemoryError:
        return {"error": "pdf_memory", "values": {}}
    except Exception as exc:  # pypdf raises many types on hostile input, RecursionError included
        return {"error": "corrupt_pdf", "values": {"why": f"{type(exc).__name__}: {exc}"[:500]}}


class _TextCounter:
    """pypdf's visitor_text callback: counts the text of one page as it is drawn and stops the
    extraction when the page or the document passes its bound (a form XObject with 900 KB of text
    drawn 50 times must not become 45 MB of text, let alone 75,000 chunks)."""

    def __init__(self, page: int, before: int, max_page_chars: int, max_doc_chars: int) -> None:
        self.page, self.before, self.n = page, before, 0
        self.max_page_chars, self.max_doc_chars = max_page_chars, max_doc_chars
        self.tripped: _TooMuchText | None = None

    def __call__(self, text: str, *_: Any) -> None:
        self.n += len(text)
        self.check(self.n)

    def check(self, n: int) -> None:
        """Raise once over a bound, and again on every later call: pypdf swallows errors raised inside a
        form XObject, so each further form stops at its first piece of text and `tripped` stays set."""
        if self.tripped is None:
            if self.max_page_chars and n > self.max_page_chars:
                self.tripped = _TooMuchText(
                    "page_text_limit", {"page": self.page, "n": n, "limit": self.max_page_chars}
                )
            elif self.max_doc_chars and self.before + n > self.max_doc_chars:
                self.tripped = _TooMuchText(
                    "doc_text_limit", {"page": self.page, "n": self.before + n, "limit": self.max_doc_chars}
                )
        if self.tripped is not None:
            raise self.tripped


def _page_labels(reader: Any) -> list[str] | None:
    """The catalog's /PageLabels as strings per page; None when the PDF defines none (pypdf would
    otherwise answer "1", "2", … for every PDF)."""
    try:
        if "/PageLabels" not in reader.trailer["/Root"]:
            return None
        return [str(label) for label in reader.page_labels]
    except Exception:  # a broken number tree costs the labels, not the text
        return None


def _title(reader: Any) -> str:
    """The /Title as written (loaders decide whether it is a usable title)."""
    try:
        title = reader.metadata.title if reader.metadata else None
    except Exception:  # broken /Info dictionaries are common and harmless
        return ""
    return str(title or "").strip()


def _limit_memory(mebibytes: int) -> None:
    try:
        import resource

        limit = mebibytes * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    except (ImportError, ValueError, OSError):  # not on this platform, or above the hard limit
        pass


def _die_with_parent(parent: int) -> None:
    """End this child when the process that started it ends (a killed `dxa ingest` must not leave a
    parser running without its time limit, re-parented to PID 1).

    Linux: the kernel sends SIGKILL (prctl PR_SET_PDEATHSIG). Elsewhere, and for the race where the
    parent died before the prctl call, a watchdog thread sees the parent pid change and exits.
    """
    import threading

    if sys.platform.startswith("linux"):
        try:
            import ctypes
            import signal

            libc = ctypes.CDLL(None, use_errno=True)
            pr_set_pdeathsig = 1
            libc.prctl(pr_set_pdeathsig, int(signal.SIGKILL), 0, 0, 0)
        except (OSError, AttributeError):  # no libc prctl: the watchdog below still works
            pass
    if os.getppid() != parent:  # the parent was gone before the prctl call took effect
        os._exit(3)

    def watch() -> None:
        import time

        while True:
            time.sleep(0.5)
            if os.getppid() != parent:
                os._exit(3)

    threading.Thread(target=watch, name="parent-watchdog", daemon=True).start()


def main(argv: list[str] | None = None) -> int:
    import argparse

    ap = argparse.ArgumentParser(description="Extract a PDF's page texts (PDF on stdin, JSON on stdout).")
    ap.add_argument("--max-pages", type=int, required=True)
    ap.add_argument("--memory-mib", type=int, required=True)
    ap.add_argument("--max-page-chars", type=int, default=0, help="stop when one page yields more text (0 = off)")
    ap.add_argument("--max-doc-chars", type=int, default=0, help="stop when the document yields more (0 = off)")
    ap.add_argument("--parent-pid", type=int, default=0, help="exit when this process is no longer the parent")
    args = ap.parse_args(argv)
    if args.parent_pid:
        _die_with_parent(args.parent_pid)
    data = sys.stdin.buffer.read()
    _limit_memory(args.memory_mib)
    result = _extract(data, args.max_pages, args.max_page_chars, args.max_doc_chars)
    sys.stdout.write(json.dumps(result, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
