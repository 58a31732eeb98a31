"""Refusal on a pooled, varied set of questions, cross-validated: does a rule hold on questions it was not fit on?

Pools: the refusal calibration sets and the plan suite (over the bundled corpus) and staffqa dev (over the
bundled corpus, the 118-page PDF and the four guidebooks: the store eval.bench_staffqa builds). For every
question the answerer's refusal signals are computed; then the configured rule, and rules re-fit on k−1
folds (stratified by pool, folds by question id), are scored on the held-out fold. Prints refusal recall
and false refusals per pool.

    python -m eval.refusal_pool [--staffqa-store DIR] [--folds 5] [--dump FILE]
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import yaml

from assistant.answer.extractive import blend_support, refuses
from assistant.config import REPO_ROOT, Settings
from assistant.pipeline import Pipeline
from assistant.sparse import query_tokens
from eval.bench_staffqa import BENCH, fold_of, load_cases
from ingest.indexer import ingest_corpus

CALIBRATION = REPO_ROOT / "eval" / "calibration"


@dataclass
class Signals:
    pool: str
    id: str
    question: str
    answerable: bool
    lexical: float
    dense: float
    missing_focus: bool
    oov: float = 0.0  # share of the question's content words that no indexed chunk contains
    token_cover: float = 0.0  # IDF-weighted share of its content words found in one of the top passages


def pools() -> dict[str, list[tuple[str, str, bool]]]:
    """(id, question, answerable) per pool over the bundled corpus."""
    out: dict[str, list[tuple[str, str, bool]]] = {}
    for name in ("refusal", "refusal_detail"):
        rows = [json.loads(line) for line in (CALIBRATION / f"{name}.jsonl").read_text("utf-8").splitlines() if line]
        out[name] = [(r["id"], r["question"], bool(r["answerable"])) for r in rows]
    suite = yaml.safe_load((REPO_ROOT / "eval" / "suites" / "plan.yaml").read_text("utf-8"))
    out["plan"] = [(c["id"], c["question"], c.get("kind") != "unanswerable") for c in suite["cases"]]
    return out


def _content(tokens: Sequence[str]) -> list[str]:
    """Words that can carry content: two characters or more, not only kana-less symbols or hiragana."""
    return [t for t in dict.fromkeys(tokens) if len(t) >= 2 and not re.fullmatch(r"[\u3041-\u309f]+", t)]


def signals(pipeline: Pipeline, pool: str, items: Sequence[tuple[str, str, bool]]) -> list[Signals]:
    ex = pipeline.extractive
    tokenizer = pipeline.index.tokenizers["sudachi"]
    bm25 = pipeline.index.sparse_indexes()["sudachi"]
    n = max(len(bm25), 1)
    out = []
    for qid, question, answerable in items:
        hits = pipeline.search(question).hits
        parts = ex.support_parts(question, hits)
        words = _content(query_tokens(tokenizer, question))
        dfs = {w: bm25.df(w) for w in words}
        seen: set[str] = set()
        for h in hits[:5]:
            seen |= set(tokenizer.tokenize(f"{h.chunk.section}\n{h.chunk.text}"))
        idf = {w: math.log(1 + n / (1 + d)) for w, d in dfs.items()}
        total = sum(idf.values())
        out.append(
            Signals(
                pool,
                qid,
                question,
                answerable,
                parts[0],
                parts[1],
                ex.missing_focus(question, hits) is not None,
                oov=sum(d == 0 for d in dfs.values()) / len(words) if words else 0.0,
                token_cover=sum(idf[w] for w in words if w in seen) / total if total else 0.0,
            )
        )
    return out


Rule = Callable[[Signals], bool]


def tally(rows: Sequence[Signals], rule: Rule) -> dict[str, float]:
    ans = [r for r in rows if r.answerable]
    una = [r for r in rows if not r.answerable]
    return {
        "n": len(rows),
        "refusal_recall": sum(rule(r) for r in una) / len(una) if una else float("nan"),
        "false_refusals": sum(rule(r) for r in ans) / len(ans) if ans else float("nan"),
        "accuracy": sum(rule(r) != r.answerable for r in rows) / len(rows) if rows else float("nan"),
    }


def configured_rule(settings: Settings) -> Rule:
    a = settings.answer
    return lambda r: refuses(
        blend_support(r.lexical, r.dense, a.support_lexical_weight),
        "x" if r.missing_focus else None,
        a.refusal_threshold,
        a.focus_support,
    )


def grid_rule(train: Sequence[Signals]) -> tuple[Rule, dict[str, float]]:
    """Fit (threshold, focus bar, dense floor) on `train`: balanced accuracy, the lowest bars among equals."""
    best: tuple[float, dict[str, float]] | None = None
    for t, f, w in itertools.product(
        [x / 100 for x in range(30, 81, 2)], [x / 100 for x in range(50, 101, 5)], [0.0, 0.25, 0.5]
    ):
        if f < t:
            continue
        params = {"threshold": t, "focus_support": f, "lexical_weight": w}
        rule = _rule(params)
        s = tally(train, rule)
        bal = (s["refusal_recall"] + 1 - s["false_refusals"]) / 2
        key = bal - 0.001 * t
        if best is None or key > best[0]:
            best = (key, params)
    assert best is not None
    return _rule(best[1]), best[1]


def _rule(p: dict[str, float]) -> Rule:
    w = p["lexical_weight"]

    def rule(r: Signals) -> bool:
        support = blend_support(r.lexical, r.dense, w)
        return support < p["threshold"] or (r.missing_focus and support < p["focus_support"])

    return rule


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--staffqa-store", type=Path, help="the store eval.bench_staffqa built")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--dump", type=Path, help="write every question's signals here (JSON)")
    parser.add_argument("--load", type=Path, help="read the signals from a --dump instead of computing them")
    args = parser.parse_args()
    settings = Settings()
    if args.load:
        rows = [Signals(**r) for r in json.loads(args.load.read_text("utf-8"))]
    else:
        rows = []
        bundled = settings.with_store(settings.home / "bench" / "bundled")
        pipeline = Pipeline(bundled)
        ingest_corpus(pipeline.index, bundled)
        for name, items in pools().items():
            rows += signals(pipeline, name, items)
        store = args.staffqa_store or settings.home / "bench" / "staffqa"
        if (BENCH / "dev.jsonl").exists() and store.exists():
            cases = load_cases([BENCH / "dev.jsonl"])
            rows += signals(
                Pipeline(settings.with_store(store)), "staffqa", [(c.id, c.question, c.answerable) for c in cases]
            )
    if args.dump:
        args.dump.write_text(json.dumps([asdict(r) for r in rows], ensure_ascii=False, indent=1), "utf-8")
    names = sorted({r.pool for r in rows})

    def report(title: str, judged: dict[str, list[tuple[Signals, bool]]]) -> None:
        print(f"\n{title}")
        print(f"{'pool':<16}{'n':>5}{'refusal recall':>16}{'false refusals':>16}")
        for name in [*names, "all"]:
            got = [x for n, xs in judged.items() if name in (n, "all") for x in xs]
            una = [refused for r, refused in got if not r.answerable]
            ans = [refused for r, refused in got if r.answerable]
            rec = f"{sum(una) / len(una):.3f} ({len(una)})" if una else "—"
            fr = f"{sum(ans) / len(ans):.3f} ({len(ans)})" if ans else "—"
            print(f"{name:<16}{len(got):>5}{rec:>16}{fr:>16}")

    rule = configured_rule(settings)
    report("configured rule (all questions)", {n: [(r, rule(r)) for r in rows if r.pool == n] for n in names})
    judged: dict[str, list[tuple[Signals, bool]]] = {n: [] for n in names}
    for k in range(args.folds):
        train = [r for r in rows if fold_of(r.id, args.folds) != k]
        fitted, params = grid_rule(train)
        print(f"fold {k}: fitted {params}")
        for r in rows:
            if fold_of(r.id, args.folds) == k:
                judged[r.pool].append((r, fitted(r)))
    report(f"re-fit on {args.folds - 1} folds, scored on the held-out fold", judged)
    _, params = grid_rule(rows)
    print(f"\nfit on everything: {params}")


if __name__ == "__main__":
    main()
