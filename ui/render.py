"""Safe rendering of document text, user input and model output for the Streamlit pages (no streamlit here).

One rule for everything shown that did not come from our code (document text, titles, headings,
section paths, file names, user names and comments, model output): it is plain text, never markup.
- In an HTML block (st.markdown with unsafe_allow_html): `safe()` HTML-escapes it and turns every ASCII
  punctuation mark into a numeric entity, so neither HTML (`<script>`) nor Markdown (`[x](url)`, `**`,
  `$`) can take effect. Only the tags built here (`<mark>`, `<sup>`, `<span>`) are real markup.
- Anywhere Streamlit reads Markdown (st.caption / st.write / st.info… bodies, widget and expander
  labels, help texts): `md()` backslash-escapes every ASCII punctuation mark.
- Or st.text / st.code / st.dataframe, which never interpret anything.
Our own citation markers are the only [n] drawn as a badge (`CITE_CLASS`); a literal 「[1]」 in a
document or a title stays plain brackets.
"""

from __future__ import annotations

import re
import string
from collections.abc import Collection, Sequence
from typing import Any

from assistant.types import LEVEL_LABELS_JA, page_ref

_ENTITIES = {ch: f"&#{ord(ch)};" for ch in string.punctuation}
_MARKER = re.compile(r"\[(\d{1,3})\]")
# The extractive answerer writes each quoted sentence on its own line followed by " [n]": that
# line-final marker is its own; any other [n] on the line is part of the quoted document text.
_EXTRACTIVE_MARKER = re.compile(r"(?<=[ \t])\[(\d{1,3})\][ \t]*$", re.MULTILINE)
# A colon that could open an emoji or icon shortcode (`:smile:`, `:material/home:`): Streamlit
# expands those in the text after Markdown escapes are resolved, so a backslash does not stop them.
_SHORTCODE_COLON = re.compile(r":(?=[\w+/-])")
WORD_JOINER = "\u2060"
CITE_CLASS = "dxa-cite"
CITE_STYLE = "background:#1a5fb4;color:#fff;font-weight:600;font-size:0.75em;padding:0 4px;border-radius:8px"
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


def answer_html(
    text: str, unsupported: Sequence[str] = (), cited: Collection[int] = (), mode: str = "extractive"
) -> str:
    """The answer as HTML: our own [n] markers (numbers in `cited`) as badges, sentences no citation
    supports flagged ⚠, everything else escaped.

    Which [n] are ours: for an extractive answer only the marker the answerer put at the end of each
    line (the quoted sentence before it is document text, and a 「[1]」 in it stays plain); for a
    generated answer every [n] the model wrote that points to a citation.
    """
    ours = _our_markers(text, set(cited), mode)
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
        out.append(_with_markers(text, pos, start, ours))
        warned = _with_markers(text, start, end, ours)
        out.append(f'<span style="{WARN_STYLE}" title="根拠が確認できない文">⚠ {warned}</span>')
        pos = end
    out.append(_with_markers(text, pos, len(text), ours))
    return "".join(out)


def cite_badge(n: int) -> str:
    return f'<sup class="{CITE_CLASS}" style="{CITE_STYLE}" title="出典 {n}">&#91;{n}&#93;</sup>'


def _our_markers(text: str, cited: set[int], mode: str) -> dict[int, tuple[int, int]]:
    """Start offset -> (end offset, number) of every marker in `text` that the answerer produced."""
    pattern = _MARKER if mode == "llm" else _EXTRACTIVE_MARKER
    return {
        m.start(): (m.start() + len(m.group(1)) + 2, int(m.group(1)))
        for m in pattern.finditer(text)
        if int(m.group(1)) in cited
    }


def _with_markers(text: str, start: int, end: int, ours: dict[int, tuple[int, int]]) -> str:
    pieces, pos = [], start
    for at in sorted(a for a in ours if start <= a and ours[a][0] <= end):
        pieces.append(safe(text[pos:at]))
        pieces.append(cite_badge(ours[at][1]))
        pos = ours[at][0]
    pieces.append(safe(text[pos:end]))
    return "".join(pieces)


def level_label(level: str) -> str:
    return LEVEL_LABELS_JA.get(level, level)


def citation_label(c: dict[str, Any]) -> str:
    """「[1] 厚木市DX推進計画（2027年版） 12頁 ５ 計画の体系」: plain text, for expander titles and copies."""
    ref = page_ref(c.get("page"), c.get("page_label"), c.get("page_count"))
    page = f" {ref}" if ref else ""
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
            if c.get("source_url"):
                lines.append(f"    出典URL: {c['source_url']}")
    if mode:
        lines += ["", f"（回答方式: {MODE_LABELS_JA.get(mode, mode)}）"]
    return "\n".join(lines)


def md(text: object) -> str:
    """Untrusted text for anywhere Streamlit reads Markdown (captions, alerts, st.write, widget and
    expander labels, help): every ASCII punctuation mark backslash-escaped (so no link, image, HTML,
    `:red[]`, `$…$`, heading or list), shortcode colons broken by an invisible word joiner, one line."""
    flat = _SHORTCODE_COLON.sub(":" + WORD_JOINER, " ".join(str(text).splitlines()))
    return "".join("\\" + ch if ch in string.punctuation else ch for ch in flat)


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
