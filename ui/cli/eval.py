"""`dxa eval run SUITE` / `dxa eval compare OLD NEW` / `dxa eval history`: answer-quality evaluation."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant.config import Settings
from ui.cli.base import pipeline_for, record_event
from ui.cli.output import emit_json, say

if TYPE_CHECKING:
    from eval.results import CaseResult, SuiteResult


def _summary(result: SuiteResult) -> list[str]:
    lines = [f"評価セット {result.suite}: {result.n_cases} 問（回答方式 {result.mode}）", ""]
    lines.append(f"{'指標':<26}{'値':>10}  閾値")
    wants = {t.metric: t for t in result.thresholds}
    for key, value in result.aggregate.items():
        shown = "–" if value is None else (f"{value:.0f}" if key.endswith("_ms") else f"{value:.3f}")
        t = wants.get(key)
        mark = "" if t is None else f"{t.want}  {'OK' if t.passed else 'NG 不合格'}"
        lines.append(f"{key:<26}{shown:>10}  {mark}")
    failed = result.failed_cases
    lines.append("")
    lines.append(f"不合格の設問 {len(failed)} / {result.n_cases}")
    for c in failed:
        lines.append(f"  {c.id}: {c.question} — {'; '.join(c.failures)}")
    return lines


def cmd_eval(args: argparse.Namespace, settings: Settings) -> int:
    from eval import runner

    if args.eval_action == "compare":
        diff = runner.compare(runner.load_result(Path(args.old)), runner.load_result(Path(args.new)))
        if args.json:
            emit_json(diff)
        else:
            for x in diff["metrics"]:
                say(
                    f"{'悪化' if x['change'] == 'regression' else '改善'}  {x['metric']:<24} "
                    f"{x['old']} → {x['new']} ({x['delta']:+})"
                )
            for x in diff["cases"]:
                say(f"{'悪化' if x['change'] == 'regression' else '改善'}  設問 {x['id']}: {x['question']}")
            say(f"悪化 {diff['regressions']} 件 / 改善 {diff['improvements']} 件")
        return 1 if diff["regressions"] and args.fail_on_regression else 0
    if args.eval_action == "history":
        entries = runner.read_history(settings, args.suite)
        if args.json:
            emit_json({"runs": [e.to_dict() for e in entries]})
        for e in [] if args.json else entries:
            a = e.aggregate
            say(
                f"{e.ts}  {e.suite:<10} {'合格' if e.passed else '不合格'}  hit@5={a.get('hit@5')} "
                f"containment={a.get('containment')} refusal_accuracy={a.get('refusal_accuracy')}  {e.dir}"
            )
        return 0

    from eval.suite import load_suite

    suite = load_suite(args.suite)
    pipeline = pipeline_for(settings)
    progress = None
    if not args.json and sys.stderr.isatty():

        def progress(i: int, n: int, case: CaseResult) -> None:
            print(f"\r{i}/{n} {case.id:<12}", end="" if i < n else "\n", file=sys.stderr, flush=True)

    result = runner.run_suite(pipeline, suite, judge=args.judge, progress=progress)
    out_dir = runner.write_result(result, settings, Path(args.out) if args.out else None)
    record_event(settings, "eval_run", f"{result.suite}: {'合格' if result.passed else '不合格'}（{out_dir}）")
    if args.json:
        data = result.to_dict()
        emit_json({"out": str(out_dir), **{k: data[k] for k in ("suite", "passed", "aggregate", "thresholds")}})
    else:
        say("\n".join(_summary(result)))
        say(f"\n結果: {out_dir / runner.RESULT_FILE}\nレポート: {out_dir / runner.REPORT_FILE}")
        if not result.passed:
            say("閾値を満たさない指標があります / a threshold failed", file=sys.stderr)
    return 0 if result.passed else 1


def add_parsers(sub: Any, common: argparse.ArgumentParser) -> None:
    """This module's sub-commands; those that open the index take `common` (--store) as a parent."""
    p = sub.add_parser("eval", help="回答品質の評価 / evaluation suites")
    actions = p.add_subparsers(dest="eval_action", required=True)
    r = actions.add_parser("run", parents=[common], help="評価セットを実行 / run a suite")
    r.add_argument("suite", help="YAML path or bundled name (e.g. plan)")
    r.add_argument("--out", help="output directory (default <home>/eval/<timestamp>-<suite>)")
    r.add_argument("--json", action="store_true", help="print the aggregate as JSON")
    r.add_argument("--judge", action="store_true", help="add llm_judge_* metrics (needs a configured LLM)")
    c = actions.add_parser("compare", parents=[common], help="2回の結果を比較 / compare two result.json")
    c.add_argument("old"), c.add_argument("new")
    c.add_argument("--json", action="store_true")
    c.add_argument("--fail-on-regression", action="store_true", help="exit 1 when anything regressed")
    h = actions.add_parser("history", parents=[common], help="実行履歴 / run history")
    h.add_argument("--suite")
    h.add_argument("--json", action="store_true")
