"""Eval results as our own types: one CaseResult per case, one SuiteResult per run, one HistoryEntry
per line of the run history.

`to_dict()` writes result.json (and the history line) in the format it has always had, and
`from_dict()` reads one back, old files included: a key that is missing takes its default, so
`dxa eval compare` works on any result.json the runner ever wrote.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# result.json keeps these citation and retrieved-passage keys (a projection of Citation.to_dict / Hit.to_dict)
CITATION_KEYS = ("n", "doc_id", "level", "section", "page", "chunk_id", "quote")
RETRIEVED_KEYS = ("doc_id", "section", "chunk_id")


@dataclass
class CaseResult:
    """One case through Pipeline.search + Pipeline.ask: the answer, its citations, scores and failures."""

    id: str
    question: str
    kind: str = "fact"
    tags: list[str] = field(default_factory=list)
    expected: list[str] = field(default_factory=list)
    reference: str = ""
    gold: list[str] = field(default_factory=list)  # GoldSource.label() of each gold source
    answer: str = ""
    run_id: int | None = None  # the run log entry of the answer (user "eval")
    mode: str = ""
    refused: bool = False
    support: float = 0.0
    notice: str = ""
    citations: list[dict[str, Any]] = field(default_factory=list)  # CITATION_KEYS of Citation.to_dict()
    retrieved: list[dict[str, Any]] = field(default_factory=list)  # rank, RETRIEVED_KEYS, gold label
    metrics: dict[str, float | None] = field(default_factory=dict)  # per-case metrics that apply
    unsupported: tuple[int, int] = (0, 0)  # (unsupported claim sentences, claim sentences)
    latency_ms: float = 0.0
    passed: bool = False
    failures: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The case as result.json stores it (`run_id` only when the run was logged: older files lack it)."""
        out: dict[str, Any] = {
            "id": self.id,
            "kind": self.kind,
            "tags": list(self.tags),
            "question": self.question,
            "expected": list(self.expected),
            "reference": self.reference,
            "gold": list(self.gold),
            "answer": self.answer,
            "mode": self.mode,
            "refused": self.refused,
            "support": self.support,
            "notice": self.notice,
            "citations": [dict(c) for c in self.citations],
            "retrieved": [dict(r) for r in self.retrieved],
            "metrics": dict(self.metrics),
            "unsupported": list(self.unsupported),
            "latency_ms": self.latency_ms,
            "passed": self.passed,
            "failures": list(self.failures),
        }
        if self.run_id is not None:
            out["run_id"] = self.run_id
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CaseResult:
        """A case read back from result.json; keys an older file lacks take their defaults."""
        bad, claims = (list(data.get("unsupported") or []) + [0, 0])[:2]
        return cls(
            id=str(data["id"]),
            question=str(data.get("question", "")),
            kind=str(data.get("kind", "fact")),
            tags=list(data.get("tags", [])),
            expected=list(data.get("expected", [])),
            reference=str(data.get("reference", "")),
            gold=list(data.get("gold", [])),
            answer=str(data.get("answer", "")),
            run_id=data.get("run_id"),
            mode=str(data.get("mode", "")),
            refused=bool(data.get("refused", False)),
            support=data.get("support", 0.0),
            notice=str(data.get("notice", "")),
            citations=list(data.get("citations", [])),
            retrieved=list(data.get("retrieved", [])),
            metrics=dict(data.get("metrics", {})),
            unsupported=(int(bad), int(claims)),
            latency_ms=data.get("latency_ms", 0.0),
            passed=bool(data.get("passed", False)),
            failures=list(data.get("failures", [])),
        )


@dataclass(frozen=True)
class ThresholdCheck:
    """A suite threshold against the run's aggregate value."""

    metric: str
    want: str  # e.g. ">= 0.8"
    value: float | None
    passed: bool

    def to_dict(self) -> dict[str, Any]:
        return {"metric": self.metric, "want": self.want, "value": self.value, "passed": self.passed}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ThresholdCheck:
        return cls(str(data["metric"]), str(data.get("want", "")), data.get("value"), bool(data.get("passed")))


@dataclass
class SuiteResult:
    """A whole run: the cases, the aggregate metrics, the threshold checks and what it ran with."""

    suite: str
    cases: list[CaseResult] = field(default_factory=list)
    aggregate: dict[str, float | None] = field(default_factory=dict)
    thresholds: list[ThresholdCheck] = field(default_factory=list)
    description: str = ""
    suite_path: str = ""
    started_at: str = ""
    settings_fingerprint: str = ""
    mode: str = ""

    @property
    def n_cases(self) -> int:
        return len(self.cases)

    @property
    def passed(self) -> bool:
        """Every threshold met (a suite without thresholds passes)."""
        return all(t.passed for t in self.thresholds)

    @property
    def failed_cases(self) -> list[CaseResult]:
        return [c for c in self.cases if not c.passed]

    def to_dict(self) -> dict[str, Any]:
        """result.json."""
        return {
            "suite": self.suite,
            "description": self.description,
            "suite_path": self.suite_path,
            "started_at": self.started_at,
            "settings_fingerprint": self.settings_fingerprint,
            "mode": self.mode,
            "n_cases": self.n_cases,
            "aggregate": dict(self.aggregate),
            "thresholds": [t.to_dict() for t in self.thresholds],
            "passed": self.passed,
            "cases": [c.to_dict() for c in self.cases],
        }

    def history_entry(self, run_dir: str) -> HistoryEntry:
        """The line history.jsonl keeps for this run (what the 評価 page charts)."""
        return HistoryEntry(
            ts=self.started_at,
            suite=self.suite,
            dir=run_dir,
            passed=self.passed,
            n_cases=self.n_cases,
            mode=self.mode,
            settings_fingerprint=self.settings_fingerprint,
            aggregate=dict(self.aggregate),
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SuiteResult:
        """A result.json read back; keys an older (or hand-written) file lacks take their defaults."""
        return cls(
            suite=str(data.get("suite", "")),
            cases=[CaseResult.from_dict(c) for c in data.get("cases", [])],
            aggregate=dict(data.get("aggregate", {})),
            thresholds=[ThresholdCheck.from_dict(t) for t in data.get("thresholds", [])],
            description=str(data.get("description", "")),
            suite_path=str(data.get("suite_path", "")),
            started_at=str(data.get("started_at", "")),
            settings_fingerprint=str(data.get("settings_fingerprint", "")),
            mode=str(data.get("mode", "")),
        )


@dataclass(frozen=True)
class HistoryEntry:
    """One line of <home>/eval/history.jsonl: a past run's verdict and aggregate, and where its files are."""

    ts: str
    suite: str
    dir: str
    passed: bool
    n_cases: int
    mode: str = ""
    settings_fingerprint: str = ""
    aggregate: dict[str, float | None] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "ts": self.ts,
            "suite": self.suite,
            "dir": self.dir,
            "passed": self.passed,
            "n_cases": self.n_cases,
            "mode": self.mode,
            "settings_fingerprint": self.settings_fingerprint,
            "aggregate": dict(self.aggregate),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> HistoryEntry:
        return cls(
            ts=str(data.get("ts", "")),
            suite=str(data.get("suite", "")),
            dir=str(data.get("dir", "")),
            passed=bool(data.get("passed", False)),
            n_cases=int(data.get("n_cases", 0)),
            mode=str(data.get("mode", "")),
            settings_fingerprint=str(data.get("settings_fingerprint", "")),
            aggregate=dict(data.get("aggregate", {})),
        )
