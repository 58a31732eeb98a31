"""Our own data types. Nothing from chromadb or LangChain leaks through these."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

Level = Literal["city", "prefecture", "national", "other"]
LEVELS: tuple[Level, ...] = ("city", "prefecture", "national", "other")
LEVEL_LABELS_JA: dict[str, str] = {"city": "市", "prefecture": "県", "national": "国", "other": "その他"}

MetaValue = str | int | float | bool


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
    """A unit of raw extracted text: one PDF page, one text file, or one GeoPackage feature/row."""

    text: str
    page: int | None = None  # 1-based physical PDF page; None for text and GeoPackage
    meta: dict[str, MetaValue] = field(default_factory=dict)


@dataclass(frozen=True)
class LoadedDocument:
    """A file read by a loader, before normalisation and chunking."""

    source: SourceInfo
    path: Path
    sha256: str
    kind: Literal["pdf", "text", "gpkg"]
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


@dataclass(frozen=True)
class Citation:
    n: int
    chunk: Chunk
    quote: str  # always an exact substring of chunk.text (verified)
    score: float


@dataclass
class Answer:
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
