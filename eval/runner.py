"""Run a suite through the very same Pipeline the UI uses; score, check thresholds, keep a history.

`run_suite(pipeline, load_suite("plan"))` gives a SuiteResult (eval/results.py); `write_result` stores
result.json and report.html and appends a line to <home>/eval/history.jsonl (what the 評価 page charts).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from assistant.config import Settings
from assistant.pipeline import Pipeline
from eval import metrics as m
from eval.results import CITATION_KEYS, RETRIEVED_KEYS, CaseResult, HistoryEntry, SuiteResult, ThresholdCheck
from eval.suite import Case, Suite

log = logging.getLogger(__name__)
RETRIEVE_K = 10  # passages searched for the retrieval metrics (hit@5, mrr@10, ndcg@10)
RESULT_FILE, REPORT_FILE, HISTORY_FILE = "result.json", "report.html", "history.jsonl"
# The keys every result carries (the README and the UI rely on them).
AGGREGATE_KEYS = tuple(k for k in m.METRICS if not k.startswith("llm_judge_"))
EVAL_USER = "eval"  # who asked, in the run log: eval runs are kept apart from staff questions


def eval_home(settings: Settings) -> Path:
    return settings.home / "eval"


def ensure_indexed(pipeline: Pipeline, suite: Suite | None = None) -> list[str]:
    """Index the suite's own corpus files if it names any, else the bundled corpus when the store is empty."""
    from ingest.indexer import ingest_corpus, ingest_paths

    messages = []
    if suite and suite.corpus:  # a suite with its own passages (e.g. JSQuAD) is scored on those alone
        results = ingest_paths(pipeline.index, pipeline.settings, [Path(p) for p in suite.corpus])
        messages += [r.message for r in results if not r.ok]
    elif not pipeline.index.documents():
        results = ingest_corpus(pipeline.index, pipeline.settings)
        messages += [r.message for r in results if not r.ok]
    return messages


def run_case(pipeline: Pipeline, case: Case, *, judge: Any = None, session: str = "") -> CaseResult:
    """Search and ask one case (the run is logged as user EVAL_USER) and score it."""
    hits = pipeline.search(case.question, k=RETRIEVE_K).hits
    ranked = [h.chunk for h in hits]
    t0 = time.perf_counter()
    answer = pipeline.ask(case.question, user=EVAL_USER, session=session)
    latency_ms = (time.perf_counter() - t0) * 1000
    refused = m.is_refusal(answer.refused, answer.answer)
    passages = {c.n: c.chunk.text for c in answer.citations}
    inputs = m.CaseInputs(
        case=case,
        ranked=ranked,
        cited=[c.chunk for c in answer.citations],
        citations=[(c.n, c.chunk.text) for c in answer.citations],
        answer=answer.answer,
        refused=refused,
    )
    scores = m.case_scores(inputs)
    bad, claims = (0, 0) if refused else m.unsupported(answer.answer, passages)
    scores["refusal_correct"] = 1.0 if m.refusal_correct(refused, case.answerable) else 0.0
    failures = []
    if case.answerable and refused:
        failures.append("回答すべき質問で回答を控えた")
    if not case.answerable and not refused:
        failures.append("回答不能の質問に回答した")
    if case.answerable and not refused and case.expected:
        missing = [e for e in case.expected if m.norm(e) not in m.norm(m.answer_body(answer.answer))]
        if missing:
            failures.append("回答に含まれない: " + "、".join(missing))
    if case.gold and not scores["hit@5"]:
        failures.append("正解の出典が検索上位5件にない")
    labels = m.gold_labels(ranked, case.gold)
    result = CaseResult(
        id=case.id,
        kind=case.kind,
        tags=list(case.tags),
        question=case.question,
        expected=list(case.expected),
        reference=case.reference,
        gold=[g.label() for g in case.gold],
        answer=answer.answer,
        run_id=answer.run_id,
        mode=answer.mode,
        refused=refused,
        support=round(answer.support, 4),
        notice=answer.notice,
        citations=[_pick(c.to_dict(), CITATION_KEYS) for c in answer.citations],
        retrieved=[
            {"rank": i, **_pick(h.to_dict(), RETRIEVED_KEYS), "gold": label}
            for i, (h, label) in enumerate(zip(hits, labels, strict=True), start=1)
        ],
        metrics={k: (round(v, 4) if v is not None else None) for k, v in scores.items()},
        unsupported=(bad, claims),
        latency_ms=round(latency_ms, 1),
        passed=not failures,
        failures=failures,
    )
    if judge is not None and not refused:
        result.metrics.update(judge.score(case.question, answer.answer, [c.chunk.text for c in answer.citations]))
    return result


def _pick(data: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    return {k: data[k] for k in keys}


def check_thresholds(suite: Suite, agg: dict[str, float | None]) -> list[ThresholdCheck]:
    return [
        ThresholdCheck(t.metric, t.describe(), agg.get(t.metric), t.passes(agg.get(t.metric))) for t in suite.thresholds
    ]


def run_suite(
    pipeline: Pipeline,
    suite: Suite,
    *,
    judge: bool = False,
    progress: Callable[[int, int, CaseResult], None] | None = None,
) -> SuiteResult:
    """Every case through Pipeline.search + Pipeline.ask; per-case results, aggregate, threshold checks."""
    ensure_indexed(pipeline, suite)
    judge_obj = None
    if judge and pipeline.use_llm():
        from eval.judge import LLMJudge

        judge_obj = LLMJudge(pipeline.require_model())
    started = datetime.now(UTC)
    cases = []
    for i, case in enumerate(suite.cases, start=1):
        cases.append(run_case(pipeline, case, judge=judge_obj, session=f"eval:{suite.name}"))
        if progress:
            progress(i, len(suite.cases), cases[-1])
    agg = m.aggregate_scores(cases)
    return SuiteResult(
        suite=suite.name,
        description=suite.description,
        suite_path=str(suite.path) if suite.path else "",
        started_at=started.isoformat(timespec="seconds"),
        settings_fingerprint=pipeline.settings.fingerprint(),
        mode="llm" if pipeline.use_llm() else "extractive",
        aggregate=agg,
        thresholds=check_thresholds(suite, agg),
        cases=cases,
    )


def write_result(result: SuiteResult, settings: Settings, out_dir: Path | None = None) -> Path:
    """result.json and report.html into out_dir (default <home>/eval/<timestamp>), plus a history line."""
    from eval.report import render_html

    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    out_dir = out_dir or eval_home(settings) / f"{stamp}-{result.suite}"
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / RESULT_FILE).write_text(json.dumps(result.to_dict(), ensure_ascii=False, indent=1), encoding="utf-8")
    (out_dir / REPORT_FILE).write_text(render_html(result), encoding="utf-8")
    entry = result.history_entry(str(out_dir.resolve()))
    eval_home(settings).mkdir(parents=True, exist_ok=True)
    with (eval_home(settings) / HISTORY_FILE).open("a", encoding="utf-8") as f:
        f.write(json.dumps(entry.to_dict(), ensure_ascii=False) + "\n")
    return out_dir


def read_history(settings: Settings, suite: str | None = None) -> list[HistoryEntry]:
    """The run history (oldest first); malformed lines are skipped with a warning."""
    path = eval_home(settings) / HISTORY_FILE
    if not path.exists():
        return []
    out = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            entry = HistoryEntry.from_dict(json.loads(line))
        except (json.JSONDecodeError, AttributeError, TypeError, ValueError):
            log.warning("%s:%d: skipping malformed history line", path, n)
            continue
        if suite is None or entry.suite == suite:
            out.append(entry)
    return out


def load_result(path: Path) -> SuiteResult:
    """A result.json (or the directory holding one), old files included."""
    if path.is_dir():
        path = path / RESULT_FILE
    return SuiteResult.from_dict(json.loads(path.read_text(encoding="utf-8")))


def compare(old: SuiteResult, new: SuiteResult, tolerance: float = 1e-9) -> dict[str, Any]:
    """Per metric and per case: what got worse (regressions) and what got better (improvements)."""
    metrics: list[dict[str, Any]] = []
    for key in sorted(set(old.aggregate) | set(new.aggregate), key=_metric_order):
        a, b = old.aggregate.get(key), new.aggregate.get(key)
        if a is None or b is None or abs(b - a) <= tolerance:
            continue
        better = (b < a) if key in m.LOWER_IS_BETTER else (b > a)
        metrics.append(
            {
                "metric": key,
                "old": a,
                "new": b,
                "delta": round(b - a, 4),
                "change": "improvement" if better else "regression",
            }
        )
    old_cases = {c.id: c for c in old.cases}
    cases = []
    for c in new.cases:
        before = old_cases.get(c.id)
        if before is None or before.passed == c.passed:
            continue
        cases.append(
            {
                "id": c.id,
                "question": c.question,
                "change": "improvement" if c.passed else "regression",
                "failures": c.failures,
            }
        )
    return {
        "metrics": metrics,
        "cases": cases,
        "regressions": sum(1 for x in metrics + cases if x["change"] == "regression"),
        "improvements": sum(1 for x in metrics + cases if x["change"] == "improvement"),
        "added": sorted({c.id for c in new.cases} - set(old_cases)),
        "removed": sorted(set(old_cases) - {c.id for c in new.cases}),
    }


def _metric_order(key: str) -> int:
    return AGGREGATE_KEYS.index(key) if key in AGGREGATE_KEYS else len(AGGREGATE_KEYS)
