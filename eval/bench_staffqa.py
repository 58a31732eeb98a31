"""Staff-style question benchmark (../shared/bench/staffqa), run through the CLI contract.

One store holds the bundled corpus, the 118-page 重点計画 PDF and the four GIF guidebooks (the
distractors matter). The questions go through `dxa search --queries … --json` and
`dxa ask --questions … --json`, the very commands a script or the kept-apart half would use, and
the dialogues' second turns carry the first turn as `history`. Prints hit@5, page_hit@5,
section_hit@5, containment of the answer strings in the answer text (strict, and lenient for dates
written both ways), refusal recall, false refusals and the median answer length, overall and by
kind, style and document.

    python -m eval.bench_staffqa [PATH …] [--store DIR] [--folds N --fold I] [--json OUT]

PATH defaults to dev.jsonl and dialogues_dev.jsonl in ../shared/bench/staffqa. `--folds N --fold I`
keeps only the questions whose id hashes into fold I of N (stable), for cross-validation: tune on
the other folds, report this one. Nothing happens (exit 0) when ../shared is not there.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import statistics
import subprocess
import sys
import tempfile
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assistant.config import REPO_ROOT, Settings

SHARED = REPO_ROOT.parent / "shared"
BENCH = SHARED / "bench" / "staffqa"
REAL = SHARED / "corpus" / "real"
# The staffqa `doc` keys and the file each names (see the staffqa README).
DOC_FILES = {
    "juten2023": "juten-keikaku-2023/20230609_policies_priority_outline_05.pdf",
    "gif410": "gif-guidebooks/410_overview.md",
    "gif465": "gif-guidebooks/465-1_guidebook_datamanagement_intro.md",
    "gif466": "gif-guidebooks/466-1_guidebook_human_resource.md",
    "gif492": "gif-guidebooks/492-1_appendix_rules.md",
}
CITY_FILE = "atsugi-dx-plan-policy-2027-2032.txt"
REFUSAL = "資料に該当する記述が見当たりません。"
# Markup and bookkeeping an answer must not show (issue: clean answers): HTML tags, Markdown heading / quote
# marks at a line start, table pipes, bold, URLs and percent-encoded ones, digest source markers.
MARKUP = re.compile(r"〔出典\d*|https?://|www\.|%[0-9A-Fa-f]{2}|^\s*[#>]|\||\*\*|<\s*/?\s*[A-Za-z][^<>\n]*>", re.M)


def norm(text: str) -> str:
    """The staffqa normalisation: NFKC, all whitespace removed."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


def variants(answer: str) -> list[str]:
    """The answer string, and for the lenient score each side of a combined date 「2025年度(令和7年度)」."""
    a = norm(answer)
    out = [a]
    m = re.fullmatch(r"(.+?)\((.+?)\)(.*)", a)
    if m and re.search(r"\d", m.group(1)) and re.search(r"\d", m.group(2)):
        out += [m.group(1) + m.group(3), m.group(2) + m.group(3)]
    return out


def found_share(answers: Sequence[str], text: str, match: str, *, lenient: bool = False) -> float:
    """`match: any` → 1.0 when one string occurs; `match: all` → the share of strings that occur."""
    if not answers:
        return 0.0
    hay = norm(text)
    hits = [any(v in hay for v in (variants(a) if lenient else [norm(a)])) for a in answers]
    return float(any(hits)) if match == "any" else sum(hits) / len(hits)


def fold_of(qid: str, folds: int) -> int:
    """A stable fold number for a question id (sha1, not Python's salted hash)."""
    return int(hashlib.sha1(qid.encode()).hexdigest(), 16) % folds


@dataclass
class Case:
    """One question to ask (a single-turn row, or the last turn of a dialogue with its history)."""

    id: str
    question: str
    answers: list[str]
    match: str
    kind: str
    style: str
    doc: str
    gold_pages: list[int] = field(default_factory=list)
    gold_sections: list[str] = field(default_factory=list)
    history: list[dict[str, str]] = field(default_factory=list)

    @property
    def answerable(self) -> bool:
        return bool(self.answers)


def load_cases(paths: Iterable[Path]) -> list[Case]:
    """Single-turn rows as they are; each dialogue becomes its first turn and its second (with history)."""
    cases: list[Case] = []
    for path in paths:
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            row = json.loads(line)
            if "turns" in row:
                cases.extend(_dialogue_cases(row))
                continue
            sections = row.get("gold_section") or []
            cases.append(
                Case(
                    id=row["id"],
                    question=row["question"],
                    answers=list(row.get("answers") or []),
                    match=row.get("match", "any"),
                    kind=row.get("kind", "?"),
                    style=row.get("style", "?"),
                    doc=row.get("doc", "?"),
                    gold_pages=list(row.get("gold_pages") or []),
                    gold_sections=[sections] if isinstance(sections, str) else list(sections),
                )
            )
    return cases


def _dialogue_cases(row: dict[str, Any]) -> list[Case]:
    out: list[Case] = []
    history: list[dict[str, str]] = []
    for t, turn in enumerate(row["turns"], start=1):
        section = turn.get("gold_section") or []
        out.append(
            Case(
                id=f"{row['id']}#t{t}",
                question=turn["question"],
                answers=list(turn.get("answers") or []),
                match=turn.get("match", "all"),
                kind="dialogue_turn2" if t > 1 else "dialogue_turn1",
                style="dialogue",
                doc=turn.get("doc", "?"),
                gold_pages=list(turn.get("gold_pages") or []),
                gold_sections=[section] if isinstance(section, str) else list(section),
                history=list(history),
            )
        )
        # The next turn's history holds this question; its answer is filled in after asking.
        history = [*history, {"question": turn["question"], "answer": ""}]
    return out


@dataclass
class Scored:
    """Per-question scores; None where a measure does not apply."""

    case: Case
    hit5: float | None
    page_hit5: float | None
    section_hit5: float | None
    strict: float | None
    lenient: float | None
    refused: bool
    notice: bool
    answer_chars: int
    markup: bool = False  # the answer text shows markup or bookkeeping (MARKUP)


def score(case: Case, hits: list[dict[str, Any]], answer: dict[str, Any], doc_ids: dict[str, str]) -> Scored:
    """Score one question from the CLI's search hits and answer (the README's JSON contract)."""
    top = hits[:5]
    refused = bool(answer.get("refused"))
    text = "" if refused else answer.get("answer", "")
    hit5 = page_hit5 = section_hit5 = strict = lenient = None
    if case.answerable:
        hit5 = found_share(case.answers, "\n".join(h["text"] for h in top), case.match)
        strict = found_share(case.answers, text, case.match)
        lenient = found_share(case.answers, text, case.match, lenient=True)
        if case.gold_pages:
            pdf = doc_ids.get("juten2023")
            page_hit5 = float(any(h["doc_id"] == pdf and h["page"] in case.gold_pages for h in top))
        if case.gold_sections:
            wanted = [norm(s) for s in case.gold_sections]
            section_hit5 = sum(any(w in norm(h.get("section") or "") for h in top) for w in wanted) / len(wanted)
    return Scored(
        case=case,
        hit5=hit5,
        page_hit5=page_hit5,
        section_hit5=section_hit5,
        strict=strict,
        lenient=lenient,
        refused=refused,
        notice=bool(answer.get("notice")),
        answer_chars=0 if refused else len(text),
        markup=bool(MARKUP.search(text)),
    )


def _mean(xs: Iterable[float | None]) -> float | None:
    vals = [x for x in xs if x is not None]
    return sum(vals) / len(vals) if vals else None


def summary(rows: Sequence[Scored]) -> dict[str, Any]:
    """The aggregate measures over some scored questions."""
    answerable = [r for r in rows if r.case.answerable]
    unanswerable = [r for r in rows if not r.case.answerable]
    lengths = [r.answer_chars for r in answerable if not r.refused]
    return {
        "n": len(rows),
        "hit@5": _mean(r.hit5 for r in answerable),
        "page_hit@5": _mean(r.page_hit5 for r in answerable),
        "section_hit@5": _mean(r.section_hit5 for r in answerable),
        "containment": _mean(r.strict for r in answerable),
        "containment_lenient": _mean(r.lenient for r in answerable),
        "refusal_recall": _mean(float(r.refused) for r in unanswerable),
        "refused_or_notice": _mean(float(r.refused or r.notice) for r in unanswerable),
        "false_refusals": _mean(float(r.refused) for r in answerable),
        "median_answer_chars": statistics.median(lengths) if lengths else None,
        "markup": _mean(float(r.markup) for r in rows if not r.refused),
    }


COLUMNS = (
    "n",
    "hit@5",
    "page_hit@5",
    "section_hit@5",
    "containment",
    "containment_lenient",
    "refusal_recall",
    "refused_or_notice",
    "false_refusals",
    "median_answer_chars",
    "markup",
)


SHORT = {
    "section_hit@5": "sect@5",
    "containment": "cont",
    "containment_lenient": "cont_len",
    "refusal_recall": "ref_rec",
    "refused_or_notice": "ref|note",
    "false_refusals": "false_ref",
    "median_answer_chars": "med_chars",
}


def table(groups: dict[str, Sequence[Scored]]) -> str:
    head = f"{'group':<28}" + "".join(f"{SHORT.get(c, c):>11}" for c in COLUMNS)
    lines = [head]
    for name, rows in groups.items():
        s = summary(rows)
        cells = "".join(
            f"{'—' if s[c] is None else (f'{s[c]:.3f}' if isinstance(s[c], float) else s[c]):>11}" for c in COLUMNS
        )
        lines.append(f"{name:<28}{cells}")
    return "\n".join(lines)


def by(rows: Sequence[Scored], attr: str) -> dict[str, list[Scored]]:
    out: dict[str, list[Scored]] = defaultdict(list)
    for r in rows:
        out[f"{attr}={getattr(r.case, attr)}"].append(r)
    return dict(sorted(out.items()))


class Cli:
    """`dxa` through its JSON contract, on one store."""

    def __init__(self, store: Path) -> None:
        self.store = store

    def run(self, *args: str, stdin: str | None = None) -> str:
        cmd = [sys.executable, "-m", "ui.cli", *args, "--store", str(self.store)]
        done = subprocess.run(cmd, input=stdin, capture_output=True, text=True, cwd=REPO_ROOT)
        if done.returncode not in (0, 1):
            raise SystemExit(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stderr[-2000:]}")
        return done.stdout

    def batch(self, command: str, key: str, items: list[dict[str, Any]], *extra: str) -> dict[str, dict[str, Any]]:
        with tempfile.NamedTemporaryFile("w", suffix=".jsonl", encoding="utf-8", delete=False) as f:
            for item in items:
                f.write(json.dumps(item, ensure_ascii=False) + "\n")
        flag = "--queries" if command == "search" else "--questions"
        out = self.run(command, flag, f.name, "--json", *extra)
        Path(f.name).unlink()
        return {obj["id"]: obj for obj in map(json.loads, filter(None, out.splitlines()))}


def build_store(cli: Cli) -> dict[str, str]:
    """Index the bundled corpus, the PDF and the guidebooks (unchanged files are skipped); staffqa doc → doc_id."""
    cli.run("ingest", "--corpus")
    cli.run("ingest", *(str(REAL / f) for f in DOC_FILES.values()))
    status = json.loads(cli.run("status", "--json"))["documents"]
    by_name = {Path(d["path"]).name: d["doc_id"] for d in status if d.get("path")}
    ids = {key: by_name[Path(f).name] for key, f in DOC_FILES.items() if Path(f).name in by_name}
    city = [d["doc_id"] for d in status if d.get("path", "").endswith(CITY_FILE)]
    if city:
        ids["city"] = city[0]
    return ids


def run_cases(cli: Cli, cases: list[Case], doc_ids: dict[str, str]) -> list[Scored]:
    """Search and ask every case; dialogue turns go after the turn they follow, with its answer as history."""
    answers: dict[str, dict[str, Any]] = {}
    rounds = sorted({len(c.history) for c in cases})
    for depth in rounds:
        batch = [c for c in cases if len(c.history) == depth]
        for c in batch:
            for h, turn in enumerate(c.history, start=1):
                turn["answer"] = answers.get(f"{c.id.split('#')[0]}#t{h}", {}).get("answer", "")
        asked = [{"id": c.id, "question": c.question, **({"history": c.history} if c.history else {})} for c in batch]
        answers.update(cli.batch("ask", "question", asked))
    # a follow-up is searched as the stand-alone question `dxa ask` resolved it to
    queries = [{"id": c.id, "query": answers[c.id].get("resolved_question") or c.question} for c in cases]
    searched = cli.batch("search", "query", queries, "-k", "5")
    return [score(c, searched[c.id]["hits"], answers[c.id], doc_ids) for c in cases]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("paths", nargs="*", type=Path)
    parser.add_argument("--store", type=Path, help="index directory (default <DXA_HOME>/bench/staffqa)")
    parser.add_argument("--folds", type=int, default=1)
    parser.add_argument("--fold", type=int, default=0)
    parser.add_argument("--json", type=Path, help="also write per-question scores here")
    args = parser.parse_args(argv)
    paths = args.paths or [BENCH / "dev.jsonl", BENCH / "dialogues_dev.jsonl"]
    if not all(p.exists() for p in paths) or not REAL.exists():
        print(f"staffqa material not found ({', '.join(map(str, paths))}): nothing to do")
        return 0
    from eval.bench_ingest import machine

    settings = Settings()
    store = args.store or settings.home / "bench" / "staffqa"
    cases = [c for c in load_cases(paths) if fold_of(c.id.split("#")[0], args.folds) == args.fold]
    cli = Cli(store)
    doc_ids = build_store(cli)
    rows = run_cases(cli, cases, doc_ids)
    print(f"machine: {machine()}")
    print(f"store: {store}; questions: {len(rows)} (fold {args.fold} of {args.folds}); documents: {doc_ids}\n")
    print(table({"all": rows}))
    for attr in ("kind", "style", "doc"):
        print()
        print(table(by(rows, attr)))
    if args.json:
        args.json.write_text(
            json.dumps(
                [
                    {"id": r.case.id, "kind": r.case.kind, "style": r.case.style, "doc": r.case.doc}
                    | {
                        k: getattr(r, k)
                        for k in ("hit5", "page_hit5", "section_hit5", "strict", "lenient", "refused", "markup")
                    }
                    for r in rows
                ],
                ensure_ascii=False,
                indent=1,
            ),
            encoding="utf-8",
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
