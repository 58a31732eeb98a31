"""New eval cases from 👎 feedback: turn a logged answer into a draft case, and save it into a suite.

The 評価 page calls these; the audit log (assistant/audit.py) supplies the feedback entries.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from assistant.config import Settings
from eval.suite import SUITES_DIR, SuiteError, bundled_suites, parse_suite


def user_suites_dir(settings: Settings) -> Path:
    return settings.home / "eval" / "suites"


def suite_choices(settings: Settings) -> dict[str, Path]:
    """Label → path: the bundled suites and the ones staff saved under <home>/eval/suites."""
    out = {name: SUITES_DIR / f"{name}.yaml" for name in bundled_suites()}
    for p in sorted(user_suites_dir(settings).glob("*.yaml")):
        out[f"{p.stem}（保存済み）"] = p
    return out


def _get(obj: Any, key: str, default: Any = None) -> Any:
    return obj.get(key, default) if isinstance(obj, dict) else getattr(obj, key, default)


def feedback_fields(entry: Any) -> dict[str, Any]:
    """question / answer / citations / comment / run id from a feedback entry (object or dict, run nested or flat)."""
    run = _get(entry, "run") or entry
    return {
        "run_id": _get(entry, "run_id") or _get(run, "id"),
        "question": _get(run, "question", "") or "",
        "answer": _get(run, "answer", "") or "",
        "citations": list(_get(run, "citations", []) or []),
        "comment": _get(entry, "comment", "") or "",
        "user": _get(entry, "user", "") or "",
    }


def draft_case(entry: Any) -> dict[str, Any]:
    """A draft case (YAML-ready): the question, gold sources from the cited passages, the comment as a note.

    Expected strings are left for the admin to fill in: a 👎 says the answer was wrong, not what is right.
    """
    f = feedback_fields(entry)
    gold = []
    for c in f["citations"]:
        doc_id, section = _get(c, "doc_id"), _get(c, "section")
        if doc_id and {"doc_id": doc_id, "section": section} not in gold:
            gold.append({"doc_id": doc_id, "section": section} if section else {"doc_id": doc_id})
    return {
        "id": f"fb-{f['run_id']}" if f["run_id"] is not None else "fb-new",
        "question": f["question"],
        "kind": "fact",
        "expected": [],
        "gold": gold,
        "tags": ["feedback"],
        "note": f["comment"],
    }


def append_case(path: Path, case: dict[str, Any], *, name: str | None = None) -> Path:
    """Add one case to a suite file (created when missing) after validating the result; comments survive."""
    case = {k: v for k, v in case.items() if v not in (None, "", [], ())}
    block = yaml.safe_dump([case], allow_unicode=True, sort_keys=False)
    if path.exists():
        text = path.read_text(encoding="utf-8")
        new_text = text + ("" if text.endswith("\n") else "\n") + block
        before = parse_suite(yaml.safe_load(text), path)
        try:
            after = parse_suite(yaml.safe_load(new_text), path)
        except (SuiteError, yaml.YAMLError):
            after = None
        if after is None or len(after.cases) != len(before.cases) + 1:
            # `cases` is not the last key: rewrite the data (comments are lost, the content is kept)
            data = yaml.safe_load(text)
            data["cases"].append(case)
            new_text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
    else:
        stem = name or path.stem
        data = {"name": stem, "description": "👎 フィードバックから作成した設問", "cases": [case]}
        new_text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
    parse_suite(yaml.safe_load(new_text), path)  # raises SuiteError naming the file and case
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".yaml.tmp")
    tmp.write_text(new_text, encoding="utf-8")
    tmp.replace(path)
    return path


def safe_suite_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "-", name).strip("-") or "feedback"
