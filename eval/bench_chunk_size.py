"""Choose the chunk size by measurement: the plan suite's retrieval and answer metrics per size.

For each `chunk_chars`, the bundled corpus is indexed into a fresh store and the bundled `plan`
suite is run through the product pipeline. Also prints the chunk count the 118-page PDF would get.

    python -m eval.bench_chunk_size [--sizes 200 300 400 600 800]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from assistant.config import Settings
from assistant.pipeline import Pipeline
from eval.bench_ingest import DEFAULT_PDF, machine
from eval.runner import run_suite
from eval.suite import load_suite
from ingest.chunk import chunk_document
from ingest.indexer import ingest_corpus
from ingest.loaders import load_document

METRICS = ("hit@5", "mrr@10", "containment", "token_f1", "citation_recall", "refusal_accuracy", "pass_rate")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[200, 300, 400, 600, 800])
    args = parser.parse_args()
    suite = load_suite("plan")
    base = Settings()
    pdf = load_document(DEFAULT_PDF, None, base.ingest) if DEFAULT_PDF.exists() else None
    print(f"machine: {machine()}; suite plan: {len(suite.cases)} cases\n")
    print(f"{'chars':>5} {'chunks':>6} {'pdf':>5} {'index s':>7} " + " ".join(f"{m:>16}" for m in METRICS))
    for size in args.sizes:
        with tempfile.TemporaryDirectory() as home:
            settings = Settings(home=Path(home))
            settings = settings.model_copy(update={"ingest": settings.ingest.model_copy(update={"chunk_chars": size})})
            # share the real embedding cache: vectors are keyed by content, so this only saves time
            (Path(home) / "cache").symlink_to(base.cache_dir, target_is_directory=True)
            pipeline = Pipeline(settings)
            t0 = time.perf_counter()
            ingest_corpus(pipeline.index, settings)
            index_s = time.perf_counter() - t0
            chunks = len(pipeline.index.chunk_ids())
            agg = run_suite(pipeline, suite).aggregate
        pdf_chunks = len(chunk_document(pdf, size)) if pdf else 0
        cells = " ".join(f"{agg.get(m) or 0:16.3f}" for m in METRICS)
        print(f"{size:5d} {chunks:6d} {pdf_chunks:5d} {index_s:7.1f} {cells}")


if __name__ == "__main__":
    main()
