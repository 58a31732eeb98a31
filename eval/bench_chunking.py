"""Chunk statistics per chunk size on the real 重点計画 PDF and the 厚木市 policy text.

Run: python -m eval.bench_chunking [--sizes 200 300 400 600 800]
`build_chunks(doc, size)` is importable so retrieval quality per size can be measured the same way.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from assistant.types import Block, Chunk, LoadedDocument, SourceInfo
from ingest.chunk import chunk_document

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
ATSUGI = SHARED / "corpus/atsugi/atsugi-dx-plan-policy-2027-2032.txt"
JUTEN = SHARED / "corpus/real/juten-keikaku-2023/20230609_policies_priority_outline_05.pdf"
SIZES = (200, 300, 400, 600, 800)


def load_bench_documents() -> list[LoadedDocument]:
    """The two real benchmark documents (the PDF read page by page with pypdf, as the loader does)."""
    from pypdf import PdfReader

    docs = []
    if ATSUGI.exists():
        docs.append(
            LoadedDocument(
                SourceInfo("atsugi-dx-policy", "厚木市DX推進計画 策定方針", "city"),
                ATSUGI,
                "",
                "text",
                (Block(ATSUGI.read_text(encoding="utf-8")),),
            )
        )
    if JUTEN.exists():
        pages = [p.extract_text() for p in PdfReader(JUTEN).pages]
        docs.append(
            LoadedDocument(
                SourceInfo("juten-2023", "デジタル社会の実現に向けた重点計画", "national"),
                JUTEN,
                "",
                "pdf",
                tuple(Block(t, page=i + 1) for i, t in enumerate(pages)),
                pages=len(pages),
            )
        )
    return docs


def build_chunks(doc: LoadedDocument, chunk_chars: int, overlap: int = 0) -> list[Chunk]:
    """The chunks the pipeline would index for `doc` at this size."""
    return chunk_document(doc, chunk_chars, overlap)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    ap.add_argument("--overlap", type=int, default=0)
    args = ap.parse_args()
    docs = load_bench_documents()
    if not docs:
        raise SystemExit(f"no benchmark documents under {SHARED}")
    print(f"{'document':<20} {'size':>5} {'chunks':>6} {'mean':>6} {'median':>6} {'max':>5} {'<50ch':>5} {'ms':>6}")
    for doc in docs:
        for size in args.sizes:
            t0 = time.perf_counter()
            chunks = build_chunks(doc, size, args.overlap)
            ms = (time.perf_counter() - t0) * 1000
            lens = [len(c.text) for c in chunks]
            print(
                f"{doc.source.doc_id:<20} {size:>5} {len(chunks):>6} {statistics.mean(lens):>6.0f} "
                f"{statistics.median(lens):>6.0f} {max(lens):>5} {sum(n < 50 for n in lens):>5} {ms:>6.0f}"
            )


if __name__ == "__main__":
    main()
