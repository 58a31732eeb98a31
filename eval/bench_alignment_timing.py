"""How long the alignment matrix (整合表) takes: cold build, from the in-memory cache, from the disk cache.

The store should hold the bundled corpus plus the 118-page 重点計画 2023 PDF (about 270 rows):
    dxa ingest --corpus --store DIR
    dxa ingest /work/shared/corpus/real/juten-keikaku-2023/20230609_policies_priority_outline_05.pdf --store DIR
    python -m eval.bench_alignment_timing --store DIR
Loading the pipeline (the embedding model) is timed separately: the 整合表 page and `dxa align`
already hold a loaded pipeline when the matrix is asked for.
"""

from __future__ import annotations

import argparse
import os
import platform
import time

from assistant.align import build_matrix
from assistant.align import matrix as matrix_module
from assistant.config import Settings
from assistant.pipeline import Pipeline


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--store", required=True)
    args = parser.parse_args()
    t0 = time.perf_counter()
    pipeline = Pipeline(Settings().with_store(args.store))
    pipeline.index.generation()  # opens the index (and loads the embedding model)
    load = time.perf_counter() - t0
    t1 = time.perf_counter()
    m = build_matrix(pipeline, use_llm=False, cache=False)
    cold = time.perf_counter() - t1
    build_matrix(pipeline, use_llm=False)  # fills both caches
    t2 = time.perf_counter()
    build_matrix(pipeline, use_llm=False)
    memory = time.perf_counter() - t2
    matrix_module._CACHE.clear()
    t3 = time.perf_counter()
    build_matrix(pipeline, use_llm=False)
    disk = time.perf_counter() - t3
    docs = len({r.item.doc_id for r in m.rows})
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs (shared), {platform.python_version()}"
    )
    print(f"rows: {len(m.rows)} items from {docs} documents x {len(m.city_sections)} city passages")
    print(f"pipeline load (model, index): {load:.1f} s")
    print(f"matrix, cold build: {cold:.2f} s   (target <= 30 s: {'met' if cold <= 30 else 'NOT met'})")
    print(f"matrix, in-memory cache: {memory * 1000:.1f} ms   from disk cache: {disk * 1000:.1f} ms")


if __name__ == "__main__":
    main()
