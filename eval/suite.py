"""Evaluation suites: YAML files of questions with expected strings, reference answers and gold sources.

The format is documented in eval/README.md. `load_suite` validates everything and names the file and
the case id in every error, so a typo in a suite fails loudly instead of scoring 0 silently.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from assistant.config import REPO_ROOT
from assistant.errors import DXAError, NotFoundError
from eval.metrics import METRICS

SUITES_DIR = REPO_ROOT / "eval" / "suites"
KINDS = ("fact", "paraphrase", "list", "unanswerable", "alignment")


# Thresholds may be set on any metric of eval.metrics.REGISTRY (its aggregate value).
class SuiteError(DXAError):
    """A suite file is missing or malformed; the message names the file and the case."""


@dataclass(frozen=True)
class GoldSource:
    """Where the answer is: a document plus (optionally) a section prefix, a page or a quote."""

    doc_id: str
    section: str | None = None
    page: int | None = None
    quote: str | None = None

    def label(self) -> str:
        where = self.section or (f"p.{self.page}" if self.page is not None else "") or (self.quote or "")
        return f"{self.doc_id}:{where[:30]}" if where else self.doc_id


@dataclass(frozen=True)
class Threshold:
    metric: str
    min: float | None = None
    max: float | None = None

    def passes(self, value: float | None) -> bool:
        if value is None:
            return False
        if self.min is not None and value < self.min:
            return False
        return not (self.max is not None and value > self.max)

    def describe(self) -> str:
        return " ".join(
            p
            for p in (
                f">= {self.min}" if self.min is not None else "",
                f"<= {self.max}" if self.max is not None else "",
            )
            if p
        )


@dataclass(frozen=True)
class Case:
    id: str
    question: str
    kind: str = "fact"
    expected: tuple[str, ...] = ()
    reference: str = ""
    gold: tuple[GoldSource, ...] = ()
    tags: tuple[str, ...] = ()

    @property
    def answerable(self) -> bool:
        return self.kind != "unanswerable"


@dataclass(frozen=True)
class Suite:
    name: str
    description: str
    cases: tuple[Case, ...]
    thresholds: tuple[Threshold, ...] = ()
    path: Path | None = None
    corpus: tuple[str, ...] = field(default=())  # extra files/dirs to ingest (e.g. the JSQuAD passages)


def resolve_suite_path(name_or_path: str | Path) -> Path:
    """A path as given, or a bundled suite name (`plan` → eval/suites/plan.yaml)."""
    p = Path(name_or_path)
    if p.suffix in (".yaml", ".yml") or p.exists():
        if not p.exists():
            raise NotFoundError(
                f"suite file not found: {p}",
                message_ja=f"評価セットのファイルがありません: {p}",
                hint="check the path or use a bundled name (dxa eval run plan)",
                hint_ja="パスを確認するか、同梱の名前（例: plan）を指定してください",
            )
        return p
    bundled = SUITES_DIR / f"{name_or_path}.yaml"
    if not bundled.exists():
        names = ", ".join(bundled_suites()) or "-"
        raise NotFoundError(
            f"no such suite: {name_or_path} (bundled: {names})",
            message_ja=f"評価セット {name_or_path} が見つかりません（同梱: {names}）",
            hint="give a YAML path or a bundled name",
            hint_ja="YAMLファイルのパスか同梱の名前を指定してください",
        )
    return bundled


def bundled_suites() -> list[str]:
    return sorted(p.stem for p in SUITES_DIR.glob("*.yaml"))


def load_suite(name_or_path: str | Path) -> Suite:
    path = resolve_suite_path(name_or_path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise _err(path, None, f"invalid YAML: {exc}", f"YAMLの書式が正しくありません: {exc}") from exc
    return parse_suite(data, path)


def parse_suite(data: Any, path: Path) -> Suite:
    if not isinstance(data, dict):
        raise _err(
            path, None, "top level must be a mapping", "最上位は name/description/cases を持つ辞書にしてください"
        )
    unknown = set(data) - {"name", "description", "thresholds", "cases", "corpus"}
    if unknown:
        raise _err(path, None, f"unknown keys {sorted(unknown)}", f"不明なキー {sorted(unknown)}")
    name = data.get("name") or path.stem
    cases_raw = data.get("cases")
    if not isinstance(cases_raw, list) or not cases_raw:
        raise _err(path, None, "'cases' must be a non-empty list", "cases に1件以上の設問を並べてください")
    cases: list[Case] = []
    seen: set[str] = set()
    for i, raw in enumerate(cases_raw):
        case = _parse_case(raw, path, i)
        if case.id in seen:
            raise _err(path, case.id, "duplicate case id", "設問IDが重複しています")
        seen.add(case.id)
        cases.append(case)
    corpus = data.get("corpus") or []
    if not isinstance(corpus, list) or not all(isinstance(c, str) for c in corpus):
        raise _err(path, None, "'corpus' must be a list of paths", "corpus はパスのリストにしてください")
    return Suite(
        name=str(name),
        description=str(data.get("description") or ""),
        cases=tuple(cases),
        thresholds=_parse_thresholds(data.get("thresholds") or {}, path),
        path=path,
        corpus=tuple(str((path.parent / c).resolve()) for c in corpus),
    )


def _parse_thresholds(raw: Any, path: Path) -> tuple[Threshold, ...]:
    if not isinstance(raw, dict):
        raise _err(path, None, "'thresholds' must be a mapping metric → value", "thresholds は 指標: 値 の辞書です")
    out = []
    for metric, spec in raw.items():
        if metric not in METRICS:
            raise _err(
                path,
                None,
                f"unknown metric in thresholds: {metric} (known: {', '.join(METRICS)})",
                f"thresholds の指標名 {metric} が不明です",
            )
        if isinstance(spec, bool) or not isinstance(spec, int | float | dict):
            raise _err(
                path,
                None,
                f"threshold {metric}: give a number or {{min: x}} / {{max: x}}",
                f"閾値 {metric} は数値か {{min: x}} / {{max: x}} で指定してください",
            )
        if isinstance(spec, dict):
            if not spec or set(spec) - {"min", "max"} or not all(isinstance(v, int | float) for v in spec.values()):
                raise _err(
                    path, None, f"threshold {metric}: only numeric min/max allowed", f"閾値 {metric} の書式が不正です"
                )
            out.append(Threshold(metric, min=spec.get("min"), max=spec.get("max")))
        elif METRICS[metric].direction == "lower":  # a bare number is the bound on the worse side
            out.append(Threshold(metric, max=float(spec)))
        else:
            out.append(Threshold(metric, min=float(spec)))
    return tuple(out)


def _parse_case(raw: Any, path: Path, index: int) -> Case:
    if not isinstance(raw, dict):
        raise _err(path, f"#{index + 1}", "each case must be a mapping", "設問は辞書で書いてください")
    cid = raw.get("id")
    if not isinstance(cid, str | int) or str(cid).strip() == "":
        raise _err(path, f"#{index + 1}", "case without 'id'", "設問に id がありません")
    cid = str(cid)
    unknown = set(raw) - {"id", "question", "kind", "expected", "reference", "gold", "tags", "note"}
    if unknown:
        raise _err(path, cid, f"unknown keys {sorted(unknown)}", f"不明なキー {sorted(unknown)}")
    question = raw.get("question")
    if not isinstance(question, str) or not question.strip():
        raise _err(path, cid, "'question' is missing or empty", "question（質問文）がありません")
    kind = raw.get("kind", "fact")
    if kind not in KINDS:
        raise _err(path, cid, f"kind must be one of {KINDS}, not {kind!r}", f"kind は {'/'.join(KINDS)} のいずれかです")
    expected = _str_list(raw.get("expected"), path, cid, "expected")
    reference = raw.get("reference") or ""
    if not isinstance(reference, str):
        raise _err(path, cid, "'reference' must be a string", "reference は文字列にしてください")
    gold = tuple(_parse_gold(g, path, cid) for g in (raw.get("gold") or []))
    if kind == "unanswerable":
        if expected or gold:
            raise _err(
                path,
                cid,
                "an unanswerable case has no expected strings or gold sources",
                "回答不能の設問に expected / gold は書けません",
            )
    elif not (expected or reference or gold):
        raise _err(path, cid, "give expected, reference or gold", "expected・reference・gold のいずれかが必要です")
    return Case(
        id=cid,
        question=question.strip(),
        kind=kind,
        expected=expected,
        reference=reference.strip(),
        gold=gold,
        tags=_str_list(raw.get("tags"), path, cid, "tags"),
    )


def _parse_gold(raw: Any, path: Path, cid: str) -> GoldSource:
    if not isinstance(raw, dict) or not isinstance(raw.get("doc_id"), str):
        raise _err(path, cid, "each gold source needs a doc_id", "gold の各要素に doc_id が必要です")
    unknown = set(raw) - {"doc_id", "section", "page", "quote"}
    if unknown:
        raise _err(path, cid, f"unknown gold keys {sorted(unknown)}", f"gold の不明なキー {sorted(unknown)}")
    page = raw.get("page")
    if page is not None and (isinstance(page, bool) or not isinstance(page, int)):
        raise _err(path, cid, "gold page must be an integer", "gold の page は整数です")
    for key in ("section", "quote"):
        if raw.get(key) is not None and not isinstance(raw[key], str):
            raise _err(path, cid, f"gold {key} must be a string", f"gold の {key} は文字列です")
    return GoldSource(doc_id=raw["doc_id"], section=raw.get("section"), page=page, quote=raw.get("quote"))


def _str_list(value: Any, path: Path, cid: str, key: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str | int) and str(v).strip() for v in value):
        raise _err(path, cid, f"'{key}' must be a list of non-empty strings", f"{key} は空でない文字列のリストです")
    return tuple(str(v) for v in value)


def _err(path: Path, case_id: str | None, message: str, message_ja: str) -> SuiteError:
    where = f"{path}" + (f" [case {case_id}]" if case_id else "")
    where_ja = f"{path}" + (f"（設問 {case_id}）" if case_id else "")
    return SuiteError(
        f"{where}: {message}",
        message_ja=f"{where_ja}: {message_ja}",
        hint="fix the suite file (format: eval/README.md)",
        hint_ja="評価セットのファイルを修正してください（書式は eval/README.md）",
    )


def dump_case(case: Case) -> dict[str, Any]:
    """A case as YAML-ready data (for the UI's 👎 → draft case flow)."""
    out: dict[str, Any] = {"id": case.id, "question": case.question, "kind": case.kind}
    if case.expected:
        out["expected"] = list(case.expected)
    if case.reference:
        out["reference"] = case.reference
    if case.gold:
        out["gold"] = [{k: v for k, v in g.__dict__.items() if v is not None} for g in case.gold]
    if case.tags:
        out["tags"] = list(case.tags)
    return out
