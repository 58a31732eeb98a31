"""Our own data types. Nothing from chromadb or LangChain leaks through these."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

Level = Literal["city", "prefecture", "national", "other"]
LEVELS: tuple[Level, ...] = ("city", "prefecture", "national", "other")
LEVEL_LABELS_JA: dict[str, str] = {"city": "市", "prefecture": "県", "national": "国", "other": "その他"}

MetaValue = str | int | float | bool

# Chunk.meta keys written by ingest and read by citations.
PAGE_LABEL_META = "page_label"  # the printed page number of a PDF chunk's page ("100"), when known
PAGE_COUNT_META = "page_count"  # physical pages of the chunk's PDF
NOTES_META = "notes"  # JSON [[number, chunk_id], …]: the footnotes a chunk cites and the chunks that hold them
NOTES_AT_META = "notes_at"  # offset into a Markdown block's text where its footnote definitions begin
NOTES_ONLY_META = "notes_only"  # a chunk of a Markdown file's footnotes: linked from the chunks citing them, no support
PAGE_NOTES_META = "page_notes"  # a chunk of a PDF page's footnotes (numbered notes only): cited by number, no support
SOURCES_META = "sources"  # JSON [[start, end, [url, …]], …]: offsets into chunk.text and their source URLs


@dataclass(frozen=True)
class SourceInfo:
    """Who published a document and which edition it is (one manifest entry)."""

    doc_id: str
    title: str
    level: Level = "other"
    edition: str = ""
    publisher: str = ""
    date: str = ""
    url: str = ""
    licence: str = ""
    unofficial: bool = False


@dataclass(frozen=True)
class Block:
    """A unit of raw extracted text: one PDF page, one text file or Word document, or one GeoPackage feature/row."""

    text: str
    page: int | None = None  # 1-based physical PDF page; None for text and GeoPackage
    meta: dict[str, MetaValue] = field(default_factory=dict)


@dataclass(frozen=True)
class LoadedDocument:
    """A file read by a loader, before normalisation and chunking."""

    source: SourceInfo
    path: Path
    sha256: str
    kind: str  # the loader's kind: "pdf", "text", "markdown", "gpkg", "docx" (ingest/loaders)
    blocks: tuple[Block, ...]
    pages: int | None = None  # physical page count for PDFs


@dataclass(frozen=True)
class Chunk:
    """A retrievable passage with everything a citation needs."""

    chunk_id: str
    doc_id: str
    title: str
    level: Level
    edition: str
    page: int | None
    section: str  # e.g. "５ 計画の体系 > (2) 地域社会のＤＸ"
    text: str  # normalised text: what is searched, shown and quoted
    original: str  # the raw extracted span the text came from
    ordinal: int  # position of the chunk within its document
    meta: dict[str, MetaValue] = field(default_factory=dict)


# A line of a page's footnotes: 「117 2015年(平成27年)1月21日…決定」 (the number, then the note).
FOOTNOTE_LINE = re.compile(r"^(\d{1,3})[ \u3000]+\S", re.M)


def footnote_cited(number: int, text: str, marked: bool = False) -> bool:
    """`text` cites footnote `number` (「…ロードマップ」117に基づき」), not a quantity (「約50の資格」「117件」「第3条」
    「2021年」); NOTES_META records the footnotes a chunk cites. `marked`: the text marks its references
    (Markdown's 「デジタル手続法[^1]」), and only a marker cites."""
    if marked:
        return f"[^{number}]" in text
    return bool(re.search(rf"(?<=[^\d\s.,:/\-(（約第計全各毎延])({number})(?=[^\d{_UNITS}.,:/]|$)", text))


_UNITS = "年月日度%％人件回名社校倍億万千兆円か箇ヶ個点項条号歳割"  # after a number they make it a quantity


def make_chunk_id(doc_id: str, page: int | None, text: str, occurrence: int = 0) -> str:
    """Stable id from document, page and content: re-ingesting the same file yields the same ids."""
    digest = hashlib.sha1(f"{doc_id}\x1f{page}\x1f{occurrence}\x1f{text}".encode()).hexdigest()[:16]
    return f"{doc_id}:{digest}"


@dataclass(frozen=True)
class DocumentRecord:
    """What the index knows about an ingested document (`dxa status`)."""

    doc_id: str
    title: str
    level: Level
    edition: str
    path: str
    sha256: str
    pages: int | None
    chunks: int
    ingested_at: str
    kind: str = ""
    publisher: str = ""
    url: str = ""
    unofficial: bool = False


@dataclass(frozen=True)
class Hit:
    """A retrieved chunk with its fused score and rank."""

    chunk: Chunk
    score: float
    rank: int = 0
    scores: dict[str, float] = field(default_factory=dict)  # per retriever, for diagnostics

    def to_dict(self) -> dict[str, Any]:
        """The hit as `dxa search --json` writes it (README "JSON contract"; keys in that order)."""
        c = self.chunk
        return {
            "rank": self.rank,
            "chunk_id": c.chunk_id,
            "doc_id": c.doc_id,
            "title": c.title,
            "level": c.level,
            "edition": c.edition,
            "page": c.page,
            "page_label": chunk_page_label(c),
            "section": c.section,
            "text": c.text,
            "score": round(self.score, 6),
        }


@dataclass(frozen=True)
class Citation:
    """A numbered quote from one chunk, as an answer, a draft or a 整合表 row cites it."""

    n: int
    chunk: Chunk
    quote: str  # always an exact substring of chunk.text (verified)
    score: float

    @property
    def page_label(self) -> str | None:
        return chunk_page_label(self.chunk)

    @property
    def page_count(self) -> int | None:
        value = self.chunk.meta.get(PAGE_COUNT_META)
        return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else None

    @property
    def source_url(self) -> str | None:
        """The URL the quoted statement comes from (our digests record one per sentence), else None."""
        return quote_source_url(self.chunk, self.quote)

    def to_dict(self) -> dict[str, Any]:
        """The one JSON form of a citation (`dxa ask --json`, the run log): enough to show it without the index."""
        c = self.chunk
        return {
            "n": self.n,
            "chunk_id": c.chunk_id,
            "doc_id": c.doc_id,
            "title": c.title,
            "level": c.level,
            "edition": c.edition,
            "page": c.page,
            "page_label": self.page_label,
            "page_count": self.page_count,
            "section": c.section,
            "quote": self.quote,
            "source_url": self.source_url,
            "score": round(self.score, 6),
        }


def chunk_page_label(chunk: Chunk) -> str | None:
    label = chunk.meta.get(PAGE_LABEL_META)
    return str(label) if label not in (None, "") else None


def quote_source_url(chunk: Chunk, quote: str) -> str | None:
    """The first source URL of the recorded span that overlaps the quote the most."""
    raw = chunk.meta.get(SOURCES_META)
    at = chunk.text.find(quote) if quote else -1
    if not isinstance(raw, str) or at < 0:
        return None
    try:
        spans = json.loads(raw)
    except ValueError:
        return None
    best, best_overlap = None, 0
    for start, end, urls in spans:
        overlap = min(end, at + len(quote)) - max(start, at)
        if overlap > best_overlap and urls:
            best, best_overlap = str(urls[0]), overlap
    return best


def page_ref(page: int | None, page_label: str | None = None, page_count: int | None = None) -> str:
    """「p.100（PDF 105/118頁）」 with a printed page number, else 「PDF 105/118頁」; "" for text."""
    if not page:
        return ""
    physical = f"PDF {page}/{page_count}頁" if page_count else f"PDF {page}頁"
    return f"p.{page_label}（{physical}）" if page_label else physical


def summed_timings(timings: Iterable[Mapping[str, float]]) -> dict[str, float]:
    """Stage timings of several runs (a message's parts) added up key by key."""
    out: dict[str, float] = {}
    for t in timings:
        for key, ms in t.items():
            out[key] = out.get(key, 0.0) + ms
    return out


@dataclass
class Answer:
    """A cited answer to one question, with what the run record and the UI need about how it came about."""

    question: str
    answer: str
    mode: Literal["extractive", "llm"]
    refused: bool
    citations: list[Citation]
    timings_ms: dict[str, float] = field(default_factory=dict)
    notice: str = ""  # e.g. LLM fallback notice shown to the user
    unsupported: list[str] = field(default_factory=list)  # answer sentences no citation supports
    support: float = 0.0  # how well the retrieved passages cover the question (refusal signal)
    retrieved: list[str] = field(default_factory=list)  # chunk ids retrieved for this answer (run record)
    resolved_question: str = ""  # the stand-alone form of a follow-up (= question when it is none)
    run_id: int | None = None  # the run log entry of this answer, when it was recorded

    def to_dict(self) -> dict[str, Any]:
        """The answer as `dxa ask --json` writes it (README "JSON contract"); notice/unsupported/run_id only when set."""
        out: dict[str, Any] = {
            "question": self.question,
            "resolved_question": self.resolved_question or self.question,
            "answer": self.answer,
            "mode": self.mode,
            "refused": self.refused,
            "citations": [c.to_dict() for c in self.citations],
            "timings_ms": {k: round(v, 1) for k, v in self.timings_ms.items()},
        }
        if self.notice:
            out["notice"] = self.notice
        if self.unsupported:
            out["unsupported"] = self.unsupported
        if self.run_id is not None:
            out["run_id"] = self.run_id
        return out
