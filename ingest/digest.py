"""Our own digests (corpus/*/…-digest.md): the text that is indexed, and the source URL of every sentence.

A digest is Markdown written for people: each sentence ends in 〔出典N〕, pointing into the numbered
list under "## 出典" at the end, and lines starting with ">" are editorial notes (what is not
confirmed, how to read the digest). None of that bookkeeping may be searched or quoted as an answer,
so the indexed text keeps the headings and the content sentences only, with the markers removed; the
URLs of each sentence's sources travel beside it as character spans (see `DigestText.spans`).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

_MARKER = re.compile(r"〔出典(\d+)〕")
_SOURCES_HEADING = re.compile(r"^##\s*出典\s*$", re.M)
_SOURCE_ENTRY = re.compile(r"^(\d+)\.\s+(.+)$")
_URL = re.compile(r"https?://[^\s（）()<>「」]+")
_HEADING = re.compile(r"^(#{1,6})\s")
_SENTENCE_END = "。！？"
_CLOSERS = "」』）)】〕"

SPANS_META = "source_spans"  # Block meta: JSON [[start, end, [url, …]], …] over the block's text


@dataclass(frozen=True)
class DigestText:
    """The indexable text of a digest and, per stretch of it, the URLs its statement comes from."""

    text: str
    spans: list[tuple[int, int, list[str]]] = field(default_factory=list)
    sources: dict[int, list[str]] = field(default_factory=dict)

    def spans_json(self) -> str:
        return json.dumps([[s, e, urls] for s, e, urls in self.spans], ensure_ascii=False)


def is_digest(text: str) -> bool:
    """A digest carries 〔出典N〕 markers and the "## 出典" list they point into."""
    return bool(_MARKER.search(text)) and bool(_SOURCES_HEADING.search(text))


def source_list(text: str) -> dict[int, list[str]]:
    """The "## 出典" list: source number → the URLs of that entry, in order."""
    m = _SOURCES_HEADING.search(text)
    out: dict[int, list[str]] = {}
    if m is None:
        return out
    for line in text[m.end() :].splitlines():
        entry = _SOURCE_ENTRY.match(line.strip())
        if entry:
            out[int(entry.group(1))] = _URL.findall(entry.group(2))
    return out


def prepare_digest(text: str) -> DigestText:
    """Drop notes and the source list, strip the markers, and record each statement's source URLs."""
    sources = source_list(text)
    m = _SOURCES_HEADING.search(text)
    body = text[: m.start()] if m else text
    lines = _drop_empty_sections([ln for ln in body.split("\n") if not ln.lstrip().startswith(">")])
    kept: list[str] = []
    for line in lines:  # a removed note leaves no run of blank lines behind
        if line.strip() or (kept and kept[-1].strip()):
            kept.append(line)
    out: list[str] = []
    spans: list[tuple[int, int, list[str]]] = []
    pos = 0
    for line in kept:
        clean, line_spans = _strip_line(line, sources)
        spans += [(pos + s, pos + e, urls) for s, e, urls in line_spans]
        out.append(clean)
        pos += len(clean) + 1
    return DigestText(text="\n".join(out).rstrip("\n") + "\n", spans=spans, sources=sources)


def _drop_empty_sections(lines: list[str]) -> list[str]:
    """A heading whose section became empty (it held notes only) is removed: nothing under it to find."""
    keep = [True] * len(lines)
    for i, line in enumerate(lines):
        h = _HEADING.match(line)
        if not h:
            continue
        depth = len(h.group(1))
        for nxt in lines[i + 1 :]:
            if not nxt.strip():
                continue
            n = _HEADING.match(nxt)
            if n and len(n.group(1)) <= depth:
                keep[i] = False
            break
        else:
            keep[i] = False
    return [ln for ln, k in zip(lines, keep, strict=True) if k]


def _strip_line(line: str, sources: dict[int, list[str]]) -> tuple[str, list[tuple[int, int, list[str]]]]:
    """The line without markers, and for each marker run the stretch it vouches for: from the start of
    its sentence (or the previous marker within it) to the sentence end that follows the marker."""
    out: list[str] = []
    spans: list[tuple[int, int, list[str]]] = []
    start = prev = 0  # where the current stretch, and the sentence before it, begin in the output
    pending: list[str] | None = None  # URLs of a marker run waiting for its sentence end
    k = 0
    while k < len(line):
        m = _MARKER.match(line, k)
        if m:
            urls: list[str] = []
            while m:
                urls += [u for u in sources.get(int(m.group(1)), []) if u not in urls]
                k = m.end()
                m = _MARKER.match(line, k)
            if pending is None and not "".join(out[start:]).strip() and prev < start:
                spans.append((prev, start, urls))  # "…です。」〔出典3〕": the run follows its sentence's end
                continue
            if pending is not None:  # two runs in one sentence: close the first at the second
                spans.append((start, len(out), pending))
                start = len(out)
            pending = urls
            continue
        ch = line[k]
        out.append(ch)
        k += 1
        if ch in _SENTENCE_END:
            while k < len(line) and line[k] in _CLOSERS and not _MARKER.match(line, k):
                out.append(line[k])
                k += 1
            if pending is not None:
                spans.append((start, len(out), pending))
                pending = None
            prev, start = start, len(out)
        elif ch in "、，" and pending is not None:  # "…となり〔出典2〕、…": the run vouches up to here
            spans.append((start, len(out), pending))
            pending = None
            start = len(out)
    if pending is not None:
        spans.append((start, len(out), pending))
    return "".join(out), spans
