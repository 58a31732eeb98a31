"""The loader registry: which loader reads a file, the supported suffixes, and each format's block flags.

To add a format, write a module with a class that satisfies `Loader` (ingest/loaders/base.py) and add
one line to LOADERS. Content decides before the name (a PDF named .txt is read as a PDF); a file whose
content no loader claims is read by the loader its suffix names.
"""

from __future__ import annotations

from pathlib import Path

from assistant.config import IngestSettings
from assistant.types import LoadedDocument, SourceInfo
from ingest.loaders.base import MIB, SNIFF_BYTES, BlockFlags, Loader, ingest_error, read_bytes, sha256_file
from ingest.loaders.docx import DocxLoader
from ingest.loaders.gpkg import GeoPackageLoader
from ingest.loaders.pdf import PdfLoader
from ingest.loaders.text import MarkdownLoader, TextLoader

LOADERS: tuple[Loader, ...] = (
    PdfLoader(),
    TextLoader(),
    MarkdownLoader(),
    GeoPackageLoader(),
    DocxLoader(),
)

SUPPORTED_SUFFIXES: frozenset[str] = frozenset(s for loader in LOADERS for s in loader.suffixes)
FORMATS_JA = "・".join(loader.label_ja for loader in LOADERS)  # e.g. for the upload form

__all__ = [
    "LOADERS",
    "MIB",
    "SUPPORTED_SUFFIXES",
    "FORMATS_JA",
    "BlockFlags",
    "Loader",
    "flags_for",
    "ingest_error",
    "load_document",
    "loader_for",
    "sha256_file",
]


def loader_for(path: Path) -> Loader:
    """The loader for `path`: the first whose sniff claims its content, else the one its suffix names."""
    suffix = path.suffix.lower()
    head = read_bytes(path, SNIFF_BYTES)
    for loader in LOADERS:
        if loader.sniff(path, head):
            return loader
    for loader in LOADERS:
        if suffix in loader.suffixes:
            return loader
    raise ingest_error(
        path,
        "unsupported",
        suffix=suffix or "no suffix",
        suffix_ja=suffix or "拡張子なし",
        formats=", ".join(loader.label for loader in LOADERS),
        formats_ja="、".join(loader.label_ja for loader in LOADERS),
    )


def flags_for(kind: str) -> BlockFlags:
    """The block flags of the loader that produces documents of `kind` (LoadedDocument.kind)."""
    for loader in LOADERS:
        if loader.kind == kind:
            return loader.flags
    raise KeyError(f"no loader for documents of kind {kind!r}")


def load_document(path: Path, source: SourceInfo | None, settings: IngestSettings) -> LoadedDocument:
    """Read `path` into raw blocks; `source` None takes the title from the file (the indexer assigns the id)."""
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise ingest_error(path, "no_access", why=exc.strerror) from exc
    if not path.is_file():
        raise ingest_error(path, "not_file")
    # Size comes from the directory entry: an oversized file is refused before a byte of it is read.
    if size > settings.max_file_mib * MIB:
        raise ingest_error(path, "too_big", mib=size / MIB, limit=settings.max_file_mib)
    loader = loader_for(path)
    if size == 0:
        raise ingest_error(path, "zero_bytes")
    return loader.load(path, source, settings)
