"""Safe rendering of document text and model output for the Streamlit pages (no streamlit import here).

Document text and answers are data, never markup: everything is HTML-escaped and every ASCII
punctuation mark becomes a numeric entity, so neither HTML (`<script>`) nor Markdown (`[x](url)`,
`**`, `$`) in a document can take effect. Only the tags built here (`<mark>`, `<sup>`, `<span>`)
are real markup. Newlines become `<br>` so the result is one HTML block that Markdown leaves alone.
"""

from __future__ import annotations

import re
import string
from collections.abc import Sequence
from typing import Any

from assistant.types import LEVEL_LABELS_JA

_ENTITIES = {ch: f"&#{ord(ch)};" for ch in string.punctuation}
_MARKER = re.compile(r"\[(\d{1,3})\]")
MODE_LABELS_JA = {"extractive": "資料抜粋", "llm": "生成AI"}
MARK_STYLE = "background:#ffe58a;color:inherit;padding:0 2px;border-radius:2px"
WARN_STYLE = "background:#fde2e1;border-bottom:2px dotted #c0392b"


def safe(text: str) -> str:
    """Text as inert HTML: markup and Markdown syntax are shown literally."""
    out = "".join(_ENTITIES.get(ch, ch) for ch in text)
    return out.replace("\r\n", "\n").replace("\n", "<br>")


def block(inner_html: str, style: str = "") -> str:
    """Wrap in one <div> so Markdown treats the whole thing as a single raw-HTML block."""
    return f'<div class="dxa-text" style="line-height:1.8;{style}">{inner_html}</div>'


def highlight(context: str, quote: str) -> str:
    """`context` with every occurrence of `quote` marked; both escaped."""
    quote = quote.strip()
    if not quote or quote not in context:
        return safe(context)
    parts = context.split(quote)
    marked = f'<mark style="{MARK_STYLE}">{safe(quote)}</mark>'
    return marked.join(safe(p) for p in parts)


def answer_html(text: str, unsupported: Sequence[str] = ()) -> str:
    """The answer with [n] markers as superscripts and sentences no citation supports flagged ⚠."""
    spans: list[tuple[int, int]] = []
    for sentence in unsupported:
        s = sentence.strip()
        at = text.find(s) if s else -1
        if at >= 0:
            spans.append((at, at + len(s)))
    spans.sort()
    out, pos = [], 0
    for start, end in spans:
        if start < pos:
            continue
        out.append(_with_markers(text[pos:start]))
        out.append(f'<span style="{WARN_STYLE}" title="根拠が確認できない文">⚠ {_with_markers(text[start:end])}</span>')
        pos = end
    out.append(_with_markers(text[pos:]))
    return "".join(out)


def _with_markers(text: str) -> str:
    pieces, pos = [], 0
    for m in _MARKER.finditer(text):
        pieces.append(safe(text[pos : m.start()]))
        pieces.append(f'<sup style="color:#1a5fb4;font-weight:600">&#91;{m.group(1)}&#93;</sup>')
        pos = m.end()
    pieces.append(safe(text[pos:]))
    return "".join(pieces)


def level_label(level: str) -> str:
    return LEVEL_LABELS_JA.get(level, level)


def citation_label(c: dict[str, Any]) -> str:
    """「[1] 厚木市DX推進計画（2027年版） 12頁 ５ 計画の体系」: plain text, for expander titles and copies."""
    page = f" {c['page']}頁" if c.get("page") else ""
    edition = f"（{c['edition']}）" if c.get("edition") else ""
    section = f" {c['section']}" if c.get("section") else ""
    return f"[{c['n']}] 〔{level_label(str(c.get('level', '')))}〕{c['title']}{edition}{page}{section}"


def answer_as_text(
    question: str, answer: str, citations: Sequence[dict[str, Any]], mode: str = "", notice: str = ""
) -> str:
    """The answer with its sources as plain text, for copying into a draft."""
    lines = [f"質問: {question}", ""]
    if notice:
        lines += [f"※ {notice}", ""]
    lines.append(answer)
    if citations:
        lines += ["", "出典:"]
        for c in citations:
            lines.append(citation_label(c))
            lines.append(f"    「{c['quote']}」")
    if mode:
        lines += ["", f"（回答方式: {MODE_LABELS_JA.get(mode, mode)}）"]
    return "\n".join(lines)


def md_label(text: str) -> str:
    """Text for a widget or expander label (which Streamlit reads as Markdown), shown literally."""
    return "".join("\\" + ch if ch in string.punctuation else ch for ch in text.replace("\n", " "))


def render_pdf_page(path: str, page: int, dpi: int = 110, timeout_s: float = 30.0) -> bytes | None:
    """PNG of one PDF page via poppler's `pdftoppm`; None when it is not installed or fails."""
    import shutil
    import subprocess
    import tempfile
    from pathlib import Path

    exe = shutil.which("pdftoppm")
    if exe is None or not Path(path).is_file():
        return None
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "page"
        try:
            subprocess.run(
                [exe, "-f", str(page), "-l", str(page), "-r", str(dpi), "-png", "-singlefile", path, str(out)],
                check=True,
                capture_output=True,
                timeout=timeout_s,
            )
        except (subprocess.SubprocessError, OSError):
            return None
        png = out.with_suffix(".png")
        return png.read_bytes() if png.exists() else None


def local_time(iso: str) -> str:
    """An ISO timestamp (UTC in the stores) in the server's local time, to the minute."""
    from datetime import datetime

    try:
        return datetime.fromisoformat(iso).astimezone().strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return iso
