"""Structure-aware chunking: heading paths as sections, sentence-boundary splits, exact pages.

A chunk starts at a heading (the heading line is part of it, so its words are searchable) and
otherwise grows sentence by sentence up to about `chunk_chars`. Chunks never span PDF pages, so a
citation's page is always exact; the heading path runs on across pages. Works on normalised blocks
(ingest/normalize.py) and on the loader's BlockFlags, never on the file format's name.
"""

from __future__ import annotations

import json
from bisect import bisect_left
from collections import Counter
from dataclasses import dataclass

from assistant.types import (
    FOOTNOTE_LINE,
    NOTES_AT_META,
    NOTES_META,
    NOTES_ONLY_META,
    PAGE_COUNT_META,
    PAGE_LABEL_META,
    PAGE_NOTES_META,
    SOURCES_META,
    Chunk,
    LoadedDocument,
    MetaValue,
    footnote_cited,
    make_chunk_id,
)
from ingest.digest import SPANS_META
from ingest.headings import HeadingStack, heading_label, parse_heading
from ingest.loaders import flags_for
from ingest.loaders.base import HEADINGS_META, BlockFlags
from ingest.normalize import _LEADER, CleanBlock, normalize_document

_SENT_END = "。！？!?"
NOTES_SECTION = "脚注"  # the section of a Markdown file's footnotes
_CLOSERS = "」』）)】〕"


@dataclass
class _Piece:
    start: int
    end: int
    section: str
    last_depth: int = -1  # depth of the last heading while the piece holds headings only
    has_body: bool = False


def _line_spans(text: str) -> list[tuple[int, int]]:
    spans, start = [], 0
    for k, ch in enumerate(text):
        if ch == "\n":
            spans.append((start, k + 1))
            start = k + 1
    if start < len(text):
        spans.append((start, len(text)))
    return spans


def _pieces(
    text: str,
    idx: list[int],
    raw: str,
    notes_at: int,
    stack: HeadingStack,
    styled: str | None,
    notes_section: str | None = None,
) -> list[_Piece]:
    """Split a block's normalised text at headings (and where its footnotes start).

    `styled` is the block's HEADINGS_META (headings its loader knows from styles): when given, those
    lines are the headings and numbering is not read as structure. `notes_section` files the footnotes
    (a Markdown file's, which belong to no section); without it they stay in the section where they begin
    (a PDF page's footnotes, under that page's section)."""
    pieces: list[_Piece] = []
    cur: _Piece | None = None
    marked = {int(at): int(depth) for at, depth in json.loads(styled)} if styled is not None else None
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
        if marked is not None:
            line_start = raw.rfind("\n", 0, idx[s]) + 1
            heading = (marked[line_start], heading_label(raw_line)) if line_start in marked else None
        elif (
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
            cur = _Piece(s, e, notes_section if notes_section is not None and s >= notes_at else stack.path)
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
    """Normalise and chunk a loaded document in one call (the indexer runs the two stages itself)."""
    flags = flags_for(doc.kind)
    return chunk_blocks(doc, normalize_document(doc, flags), flags, chunk_chars, overlap)


def chunk_blocks(
    doc: LoadedDocument, blocks: list[CleanBlock], flags: BlockFlags, chunk_chars: int = 400, overlap: int = 0
) -> list[Chunk]:
    """Chunks of a normalised document in reading order, with exact pages and heading-path sections."""
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

    stack = HeadingStack()
    for clean in blocks:
        block, text, idx = clean.block, clean.text, clean.idx
        if flags.records:  # a GeoPackage feature: one chunk, whole
            if text.strip():
                emit(block.page, str(block.meta.get("layer", "")), text.strip(), block.text.strip(), block.meta)
            continue
        base: dict[str, MetaValue] = {}
        if flags.page_furniture:
            base[PAGE_COUNT_META] = doc.pages or len(doc.blocks)
            if block.meta.get(PAGE_LABEL_META):
                base[PAGE_LABEL_META] = block.meta[PAGE_LABEL_META]
        spans = json.loads(str(block.meta[SPANS_META])) if SPANS_META in block.meta else None
        styled = str(block.meta[HEADINGS_META]) if HEADINGS_META in block.meta else None
        first, notes = len(chunks), set[int]()  # the page's chunks, and which of them hold its footnotes
        marked = NOTES_AT_META in block.meta  # a Markdown file's footnotes, cited by their markers only
        for piece in _pieces(text, idx, block.text, clean.notes_at, stack, styled, NOTES_SECTION if marked else None):
            for s, e in _pack(text, piece, chunk_chars, overlap):
                s, e = _trim(text, s, e)
                if s < e:
                    meta = dict(base)
                    if spans is not None:
                        meta[SOURCES_META] = json.dumps(_chunk_sources(spans, idx, s, e), ensure_ascii=False)
                    if s >= clean.notes_at:
                        notes.add(len(chunks) - first)
                        meta[NOTES_ONLY_META if marked else PAGE_NOTES_META] = True
                    emit(block.page, piece.section, text[s:e], block.text[idx[s] : idx[e - 1] + 1], meta)
        if notes:
            _link_notes(chunks[first:], notes, marked)
    return chunks


def _link_notes(page_chunks: list[Chunk], notes: set[int], marked: bool = False) -> None:
    """Record on each body chunk of a page (or of a Markdown file) the footnotes it cites and the chunk that
    holds each (NOTES_META); `marked`: only a marker (「[^1]」) cites."""
    holder: dict[int, str] = {}
    for i in sorted(notes):
        for m in FOOTNOTE_LINE.finditer(page_chunks[i].text):
            holder.setdefault(int(m.group(1)), page_chunks[i].chunk_id)
    for i, chunk in enumerate(page_chunks):
        if i in notes:
            continue
        cited = [[n, cid] for n, cid in sorted(holder.items()) if footnote_cited(n, chunk.text, marked)]
        if cited:
            chunk.meta[NOTES_META] = json.dumps(cited)


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
