"""Structure-aware chunking: heading paths as sections, sentence-boundary splits, exact pages.

A chunk starts at a heading (the heading line is part of it, so its words are searchable) and
otherwise grows sentence by sentence up to about `chunk_chars`. Chunks never span PDF pages, so a
citation's page is always exact; the heading path runs on across pages.
"""

from __future__ import annotations

import json
import re
from bisect import bisect_left
from collections import Counter
from dataclasses import dataclass, field

from assistant.types import (
    PAGE_COUNT_META,
    PAGE_LABEL_META,
    SOURCES_META,
    Chunk,
    LoadedDocument,
    MetaValue,
    make_chunk_id,
)
from ingest.digest import SPANS_META
from ingest.normalize import _LEADER, clean_page_parts, find_noise_lines, fold_char, is_japanese, normalize_text

SECTION_SEP = " > "
_SENT_END = "。！？!?"
_CLOSERS = "」』）)】〕"
_KANJI_NUM = "一二三四五六七八九十百"

# (depth, pattern on the folded line); the pattern's end is where the title begins. Outermost first.
_SCHEMES: list[tuple[int, re.Pattern[str]]] = [
    (1, re.compile(rf"^第[\d{_KANJI_NUM}]+[部編]\s*")),
    (2, re.compile(rf"^第[\d{_KANJI_NUM}]+章\s*")),
    (3, re.compile(rf"^第[\d{_KANJI_NUM}]+節\s*")),
    (3, re.compile(r"^第\d+-\d+\s+")),  # 第３-２ 各分野における基本的な施策
    (12, re.compile(rf"^第[\d{_KANJI_NUM}]+条\s*")),  # articles: innermost, so a list of 条 nests
    (2, re.compile(r"^第\d+\s+")),  # 第１ 安全・安心で便利な…
    (6, re.compile(r"^\d{1,2}\.\d{1,2}\.\d{1,2}\.?\s+")),
    (7, re.compile(r"^\d{1,2}\.\d{1,2}\.?\s*\(\d{1,2}\)\s*")),  # 3.1 (2)
    (5, re.compile(r"^\d{1,2}\.\d{1,2}\.?\s+")),
    (4, re.compile(r"^\d{1,2}(?:\.\s*|\s+)")),  # １ 計画策定の趣旨 / １．マイナンバーカード
    (7, re.compile(r"^\(\d{1,2}\)\s*")),
    (8, re.compile(r"^[\u2460-\u2473\u3251-\u325f\u32b1-\u32bf]\s*")),
    (9, re.compile(r"^[ア-ン]\s+")),
    (10, re.compile(r"^\([ア-ン]\)\s*")),
    (11, re.compile(r"^\(?[ⅰ-ⅻ]\)?\.?\s+")),
]
_MARKDOWN = re.compile(r"^(#{1,6})\s*(\S.*)$")
_COMMENT = re.compile(r"<!--.*?-->")
_NEW_MARK = re.compile(r"\s*[(（]?新規[)）]?$")
_MAX_TITLE = 50


def _label(line: str) -> str:
    """The heading as printed: whitespace collapsed and stripped, trailing 新規 removed."""
    text = " ".join(_COMMENT.sub("", line).split())
    return _NEW_MARK.sub("", text).strip()


def parse_heading(line: str) -> tuple[int, str] | None:
    """(depth, label) when `line` is a heading of a known Japanese or Markdown scheme, else None."""
    raw = line.strip()
    if not raw or "\n" in raw:
        return None
    folded = " ".join("".join(fold_char(c) for c in _COMMENT.sub("", raw)).split())
    m = _MARKDOWN.match(folded)
    if m:
        return len(m.group(1)), _label(raw.lstrip("#"))
    if len(folded) > _MAX_TITLE + 12 or "。" in folded:
        return None
    for depth, pattern in _SCHEMES:
        m = pattern.match(folded)
        if not m:
            continue
        title = _NEW_MARK.sub("", folded[m.end() :])
        if (
            not title
            or len(title) > _MAX_TITLE
            or not any(is_japanese(c) for c in title)
            or title[-1] in "、,，(（「"
            or title[0] in "年月日度%％、。)）"
            or ("、" in title and len(title) > 25)  # a wrapped sentence line, not a title
        ):
            return None
        return depth, _label(raw)
    return None


@dataclass
class _Piece:
    start: int
    end: int
    section: str
    last_depth: int = -1  # depth of the last heading while the piece holds headings only
    has_body: bool = False


@dataclass
class _Stack:
    items: list[tuple[int, str]] = field(default_factory=list)

    def push(self, depth: int, label: str) -> None:
        while self.items and self.items[-1][0] >= depth:
            self.items.pop()
        self.items.append((depth, label))

    @property
    def path(self) -> str:
        return SECTION_SEP.join(label for _, label in self.items)


def _line_spans(text: str) -> list[tuple[int, int]]:
    spans, start = [], 0
    for k, ch in enumerate(text):
        if ch == "\n":
            spans.append((start, k + 1))
            start = k + 1
    if start < len(text):
        spans.append((start, len(text)))
    return spans


def _pieces(text: str, idx: list[int], raw: str, notes_at: int, stack: _Stack) -> list[_Piece]:
    """Split a block's normalised text at headings (and where its footnotes start)."""
    pieces: list[_Piece] = []
    cur: _Piece | None = None
    # A table-of-contents page lists headings (some wrapped, without a leader): they are not structure.
    toc_page = sum(1 for ln in raw.split("\n") if _LEADER.search(ln)) >= 3
    for s, e in _line_spans(text):
        content = text[s:e].strip()
        if not content:
            if cur:
                cur.end = e
            continue
        # The whole raw line(s): a TOC entry's dot leader lies after the last normalised character.
        line_end = raw.find("\n", idx[e - 1])
        raw_line = raw[raw.rfind("\n", 0, idx[s]) + 1 : len(raw) if line_end < 0 else line_end]
        heading = None
        if (
            s < notes_at and not toc_page and not _LEADER.search(raw_line)
        ):  # TOC entries are not the document's structure
            heading = parse_heading(raw_line)
        if heading:
            depth, label = heading
            new = cur is None or cur.has_body or depth <= cur.last_depth
            stack.push(depth, label)
            if new:
                cur = _Piece(s, e, stack.path, depth)
                pieces.append(cur)
            else:
                assert cur is not None
                cur.end, cur.section, cur.last_depth = e, stack.path, depth
            continue
        if cur is None or (s >= notes_at and cur.start < notes_at):
            cur = _Piece(s, e, stack.path)
            pieces.append(cur)
        cur.end, cur.has_body = e, True
    return pieces


def _units(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Sentence units in text[start:end]: up to 。！？ (with closing brackets) or a newline."""
    units, s, k = [], start, start
    while k < end:
        ch = text[k]
        if ch == "\n" or ch in _SENT_END:
            k += 1
            while k < end and text[k] in _CLOSERS:
                k += 1
            units.append((s, k))
            s = k
        else:
            k += 1
    if s < end:
        units.append((s, end))
    return units


def _split_long(text: str, s: int, e: int, size: int) -> list[tuple[int, int]]:
    """A sentence longer than ~2×size, cut near `size` after a 、 where one is close."""
    out = []
    while e - s > size * 3 // 2:
        cut = s + size
        comma = text.rfind("、", s + size // 2, cut)
        cut = comma + 1 if comma >= 0 else cut
        out.append((s, cut))
        s = cut
    out.append((s, e))
    return out


def _pack(text: str, piece: _Piece, size: int, overlap: int) -> list[tuple[int, int]]:
    units: list[tuple[int, int]] = []
    for s, e in _units(text, piece.start, piece.end):
        units.extend(_split_long(text, s, e, size) if e - s > 2 * size else [(s, e)])
    spans: list[tuple[int, int]] = []
    first = 0  # index of the first unit of the current chunk
    for k in range(1, len(units) + 1):
        if k == len(units) or units[k][1] - units[first][0] > size:
            spans.append((units[first][0], units[k - 1][1]))
            if k == len(units):
                break
            nxt = k
            while overlap and nxt - 1 > first and units[k][0] - units[nxt - 1][0] <= overlap:
                nxt -= 1
            first = nxt
    return spans


def _trim(text: str, s: int, e: int) -> tuple[int, int]:
    while s < e and text[s].isspace():
        s += 1
    while e > s and text[e - 1].isspace():
        e -= 1
    return s, e


def chunk_document(doc: LoadedDocument, chunk_chars: int = 400, overlap: int = 0) -> list[Chunk]:
    """Chunks of a loaded document in reading order, with exact pages and heading-path sections."""
    src = doc.source
    chunks: list[Chunk] = []
    seen: Counter[tuple[int | None, str]] = Counter()

    def emit(
        page: int | None, section: str, text: str, original: str, meta: dict[str, MetaValue] | None = None
    ) -> None:
        occurrence = seen[(page, text)]
        seen[(page, text)] += 1
        chunks.append(
            Chunk(
                chunk_id=make_chunk_id(src.doc_id, page, text, occurrence),
                doc_id=src.doc_id,
                title=src.title,
                level=src.level,
                edition=src.edition,
                page=page,
                section=section,
                text=text,
                original=original,
                ordinal=len(chunks),
                meta=dict(meta or {}),
            )
        )

    noise = find_noise_lines([b.text for b in doc.blocks]) if doc.kind == "pdf" else set()
    stack = _Stack()
    for block in doc.blocks:
        if "layer" in block.meta:  # a GeoPackage feature: one chunk, whole
            # Lines of a feature are fields ("名称: …"), never a sentence wrapped by a layout.
            text = "\n".join(t for t in (normalize_text(ln)[0] for ln in block.text.splitlines()) if t)
            if text.strip():
                emit(block.page, str(block.meta["layer"]), text.strip(), block.text.strip(), block.meta)
            continue
        if doc.kind == "pdf":
            text, idx, notes_at = clean_page_parts(block.text, noise)
        else:
            text, idx = normalize_text(block.text)
            notes_at = len(text)
        base: dict[str, MetaValue] = {}
        if doc.kind == "pdf":
            base[PAGE_COUNT_META] = doc.pages or len(doc.blocks)
            if block.meta.get(PAGE_LABEL_META):
                base[PAGE_LABEL_META] = block.meta[PAGE_LABEL_META]
        spans = json.loads(str(block.meta[SPANS_META])) if SPANS_META in block.meta else None
        for piece in _pieces(text, idx, block.text, notes_at, stack):
            for s, e in _pack(text, piece, chunk_chars, overlap):
                s, e = _trim(text, s, e)
                if s < e:
                    meta = dict(base)
                    if spans is not None:
                        meta[SOURCES_META] = json.dumps(_chunk_sources(spans, idx, s, e), ensure_ascii=False)
                    emit(block.page, piece.section, text[s:e], block.text[idx[s] : idx[e - 1] + 1], meta)
    return chunks


def _chunk_sources(spans: list[list], idx: list[int], s: int, e: int) -> list[list]:  # type: ignore[type-arg]
    """The block's source spans (raw offsets) that fall in chunk text[s:e], as offsets into the chunk."""
    raw_s, raw_e = idx[s], idx[e - 1] + 1
    out = []
    for start, end, urls in spans:
        lo, hi = max(start, raw_s), min(end, raw_e)
        if lo >= hi or not urls:
            continue
        ns, ne = bisect_left(idx, lo, s, e) - s, bisect_left(idx, hi, s, e) - s
        if ns < ne:
            out.append([ns, ne, urls])
    return out
