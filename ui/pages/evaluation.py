"""評価 (admin, staff): run an evaluation suite, follow the metrics over time, look into failed cases,
and (admin) turn 👎 feedback from the chat into new cases. The work is done in eval/; this page renders."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from eval import runner
from eval.drafts import append_case, draft_case, feedback_fields, safe_suite_name, suite_choices, user_suites_dir
from eval.metrics import METRICS
from eval.results import CaseResult, SuiteResult
from eval.suite import load_suite
from ui.activity import record_admin_event
from ui.common import get_pipeline, get_settings, require_role
from ui.render import md

user = require_role("admin", "staff")
settings = get_settings()
st.title("評価")
st.caption("評価セットの質問を、チャットと同じ仕組みで回答させて品質を測ります。")

TREND_METRICS = [
    "hit@5",
    "mrr@10",
    "containment",
    "token_f1",
    "citation_precision",
    "citation_recall",
    "unsupported_rate",
    "refusal_accuracy",
]


def metric_name(key: str) -> str:
    return METRICS[key].label_ja if key in METRICS else key


def show_aggregate(result: SuiteResult) -> None:
    agg = result.aggregate
    for start in range(0, len(TREND_METRICS), 4):
        for col, key in zip(st.columns(4), TREND_METRICS[start : start + 4], strict=False):
            value = agg.get(key)
            metric = METRICS[key]
            col.metric(metric.label_ja, "–" if value is None else f"{value:.3f}", help=metric.help_ja)
            col.caption(f"{metric.help_ja}（{key}）")
    p95 = agg.get("latency_p95_ms")
    st.caption(f"{metric_name('latency_p95_ms')}: {p95:.0f} ms" if p95 is not None else "")
    if result.thresholds:
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        "指標": f"{metric_name(t.metric)}（{t.metric}）",
                        "条件": t.want,
                        "値": t.value,
                        "判定": "合格" if t.passed else "不合格",
                    }
                    for t in result.thresholds
                ]
            ),
            hide_index=True,
        )


def show_downloads(run_dir: Path, key: str) -> None:
    """The run's HTML report and result.json as downloads (the files lie on the server)."""
    stem = run_dir.name
    c1, c2 = st.columns(2)
    for col, name, label, mime in (
        (c1, runner.REPORT_FILE, "HTMLレポートを保存", "text/html"),
        (c2, runner.RESULT_FILE, "結果（JSON）を保存", "application/json"),
    ):
        path = run_dir / name
        if path.is_file():
            col.download_button(
                label,
                path.read_bytes(),
                f"{stem}-{name}",
                mime,
                key=f"{key}-{name}",
                icon=":material/download:",
                on_click="ignore",
            )


def show_failed(result: SuiteResult) -> None:
    failed = result.failed_cases
    st.write(f"不合格 {len(failed)} / {result.n_cases} 問")
    for c in failed:
        with st.expander(md(f"{c.id}: {c.question}")):
            st.markdown("**不合格の理由**")
            for reason in c.failures:
                st.text(f"- {reason}")
            st.markdown("**回答**")
            st.text(c.answer)
            for x in c.citations:
                st.caption(md(f"[{x['n']}] {x['doc_id']} {x['section']}「{x['quote']}」"))
            if c.expected:
                st.caption("期待する語句: " + md("、".join(c.expected)))
            if c.gold:
                st.caption("正解の出典: " + md("、".join(c.gold)))


run_tab, history_tab, feedback_tab = st.tabs(["実行", "履歴", "👎 から設問を作成"])

with run_tab:
    choices = suite_choices(settings)
    if not choices:
        st.info("評価セットがありません。")
    else:
        label = st.selectbox("評価セット", list(choices), key="eval_suite")
        try:
            suite = load_suite(choices[label])
        except Exception as exc:  # a malformed suite file: show what is wrong and where
            st.error(md(getattr(exc, "message_ja", str(exc))))
            suite = None
        if suite is not None:
            st.caption(f"{md(suite.description)}（{len(suite.cases)} 問）")
            if st.button("評価を実行", type="primary", key="eval_run"):
                bar = st.progress(0.0, text="実行中…")

                def progress(i: int, n: int, case: CaseResult) -> None:
                    bar.progress(i / n, text=f"{i}/{n} {md(case.id)}")

                with st.spinner("評価を実行しています…"):
                    result = runner.run_suite(get_pipeline(), suite, progress=progress)
                    out_dir = runner.write_result(result, settings)
                record_admin_event("eval_run", f"{result.suite}: {'合格' if result.passed else '不合格'}（{out_dir}）")
                bar.empty()
                st.session_state["eval_last"] = result
                st.session_state["eval_last_dir"] = str(out_dir)
                if result.passed:
                    st.success("すべての閾値を満たしました。")
                else:
                    st.warning("閾値を満たさない指標があります。")
        last = st.session_state.get("eval_last")
        if last:
            show_downloads(Path(st.session_state["eval_last_dir"]), "eval_last")
            show_aggregate(last)
            show_failed(last)

with history_tab:
    history = runner.read_history(settings)
    if not history:
        st.info("まだ評価の実行履歴がありません。")
    else:
        suites = sorted({h.suite for h in history})
        name = st.selectbox("評価セット", suites, key="eval_hist_suite")
        runs = [h for h in history if h.suite == name]
        frame = pd.DataFrame([{"日時": h.ts, **{k: h.aggregate.get(k) for k in TREND_METRICS}} for h in runs])
        shown = st.multiselect(
            "指標",
            TREND_METRICS,
            default=["hit@5", "containment", "refusal_accuracy"],
            format_func=metric_name,
            key="eval_hist_metrics",
        )
        if shown:
            st.line_chart(frame.set_index("日時")[shown].rename(columns=metric_name))
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        "日時": h.ts,
                        "判定": "合格" if h.passed else "不合格",
                        "問数": h.n_cases,
                        "方式": h.mode,
                        metric_name("pass_rate"): h.aggregate.get("pass_rate"),
                    }
                    for h in reversed(runs)
                ]
            ),
            hide_index=True,
        )
        by_dir = {h.dir: h for h in runs}
        pick = st.selectbox(
            "詳しく見る実行",
            [h.dir for h in reversed(runs)],
            key="eval_hist_pick",
            format_func=lambda d: f"{by_dir[d].ts}（{'合格' if by_dir[d].passed else '不合格'}）",
        )
        try:
            picked = runner.load_result(Path(pick))
            show_downloads(Path(pick), "eval_hist")
            show_failed(picked)
        except (OSError, ValueError, KeyError, TypeError):
            st.warning("この実行の結果ファイルを読めませんでした。")

with feedback_tab:
    if user.role != "admin":
        st.info("👎 から設問を作成できるのは管理者だけです。")
    else:
        entries = get_pipeline().run_log.list_feedback(kind="down")
        if not entries:
            st.info("👎 の付いた回答はまだありません。")
        else:
            labels = {f"{feedback_fields(e)['question']}（{feedback_fields(e)['user']}）": e for e in reversed(entries)}
            picked = labels[st.selectbox("👎 の付いた回答", list(labels), key="fb_pick")]
            fields, draft = feedback_fields(picked), draft_case(picked)
            st.text(fields["answer"])
            if fields["comment"]:
                st.caption(f"コメント: {md(fields['comment'])}")
            with st.form("fb_case"):
                case_id = st.text_input("設問ID", draft["id"])
                question = st.text_input("質問", draft["question"])
                kind = st.selectbox("種類", ["fact", "paraphrase", "list", "unanswerable", "alignment"])
                expected = st.text_area("回答に含まれるべき語句（1行に1つ）")
                gold = st.text_area(
                    "正解の出典（1行に「文書ID | 節」）",
                    "\n".join(f"{g['doc_id']} | {g.get('section', '')}" for g in draft["gold"]),
                )
                target = st.text_input("保存先の評価セット名", "feedback")
                if st.form_submit_button("評価セットに保存"):
                    case = {
                        "id": case_id.strip(),
                        "question": question.strip(),
                        "kind": kind,
                        "expected": [line.strip() for line in expected.splitlines() if line.strip()],
                        "gold": [
                            {"doc_id": d.strip(), **({"section": s.strip()} if s.strip() else {})}
                            for d, _, s in (line.partition("|") for line in gold.splitlines())
                            if d.strip()
                        ]
                        if kind != "unanswerable"
                        else [],
                        "tags": ["feedback"],
                        "note": fields["comment"],
                    }
                    if kind == "unanswerable":
                        case["expected"] = []
                    path = user_suites_dir(settings) / f"{safe_suite_name(target)}.yaml"
                    try:
                        append_case(path, case)
                        record_admin_event("eval_case_add", f"{case['id']} → {path.name}")
                        st.success(f"保存しました: {md(path)}")
                    except Exception as exc:  # SuiteError: tell the admin what to fix
                        st.error(md(getattr(exc, "message_ja", str(exc))))
