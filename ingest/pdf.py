"""PDF text extraction in a child process, under a time and memory limit.

pypdf can loop or balloon on a hostile file and no Python code can interrupt it from outside, so the
parse runs in `python -m ingest.pdf`: the PDF goes in on stdin, the outcome comes back as one JSON
object on stdout, and the parent kills the child when the time limit passes. The child's address
space is capped, so a decompression bomb ends in a MemoryError there instead of taking the host
down. The parent turns every outcome into pages or a PdfFailure; ingest/loaders.py words the error.
"""

from __future__ import annotations

import io
import json
import logging
import subprocess
import sys
from dataclasses import dataclass, field
from typing import Any

logger = logging.getLogger(__name__)

# The worker command; a test may swap it for one that misbehaves on purpose.
WORKER = [sys.executable, "-m", "ingest.pdf"]


@dataclass
class PdfFailure(Exception):
    """Why a PDF could not be read: `key` names a message in loaders._MESSAGES."""

    key: str
    values: dict[str, Any] = field(default_factory=dict)


def read_pdf(data: bytes, *, max_pages: int, time_limit_s: float, memory_mb: int) -> tuple[list[str], str]:
    """Text of every physical page and the /Title, parsed by a child process; raises PdfFailure."""
    args = [*WORKER, "--max-pages", str(max_pages), "--memory-mb", str(memory_mb)]
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
    return [str(t) for t in out["pages"]], str(out.get("title") or "")


# --- the child ---------------------------------------------------------------------------------------


def _extract(data: bytes, max_pages: int) -> dict[str, Any]:
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
        for i, page in enumerate(reader.pages):
            try:
                texts.append(page.extract_text() or "")
            except MemoryError:
                raise
            except Exception as exc:  # one bad page should not cost the rest of the document
                warnings.append(f"page {i + 1}: text extraction failed: {type(exc).__name__}: {exc}")
                first_failure = first_failure or exc
                texts.append("")
        if first_failure is not None and len(warnings) == n_pages:
            raise first_failure
        return {"pages": texts, "title": _title(reader), "warnings": warnings}
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


def _title(reader: Any) -> str:
    """The /Title as written (loaders decide whether it is a usable title)."""
    try:
        title = reader.metadata.title if reader.metadata else None
    except Exception:  # broken /Info dictionaries are common and harmless
        return ""
    return str(title or "").strip()


def _limit_memory(megabytes: int) -> None:
    try:
        import resource

        limit = megabytes * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    except (ImportError, ValueError, OSError):  # not on this platform, or above the hard limit
        pass


def main(argv: list[str] | None = None) -> int:
    import argparse

    ap = argparse.ArgumentParser(description="Extract a PDF's page texts (PDF on stdin, JSON on stdout).")
    ap.add_argument("--max-pages", type=int, required=True)
    ap.add_argument("--memory-mb", type=int, required=True)
    args = ap.parse_args(argv)
    data = sys.stdin.buffer.read()
    _limit_memory(args.memory_mb)
    result = _extract(data, args.max_pages)
    sys.stdout.write(json.dumps(result, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
