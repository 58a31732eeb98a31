"""監査ログ (admin): every answer with who asked, when, the citations and feedback; CSV export;
and the account events (logins, failed and locked logins, logouts, user administration)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import streamlit as st

from assistant.audit import EVENT_LABELS_JA
from ui.auth import get_audit
from ui.common import require_role
from ui.render import MODE_LABELS_JA, answer_as_text, local_time

require_role("admin")
audit = get_audit()
st.title("監査ログ")
st.caption("すべての質問と回答の記録です（追記のみで、変更・削除はできません）。")


def utc_bound(day: date) -> str:
    """Start of a local calendar day as a UTC ISO string, comparable with the stored timestamps."""
    local = datetime.combine(day, time.min).astimezone()
    return local.astimezone(UTC).isoformat(timespec="milliseconds")


c1, c2, c3 = st.columns([1, 1, 2])
users = ["（すべて）", *audit.users()]
who = c1.selectbox("ユーザー", users, key="audit_user")
today = date.today()
span = c2.date_input("期間", (today - timedelta(days=30), today), key="audit_dates", format="YYYY-MM-DD")
text = c3.text_input("質問・回答に含む語", key="audit_text")
start, end = (span[0], span[-1]) if isinstance(span, tuple | list) and span else (today, today)
runs = audit.query(
    user=None if who == users[0] else who,
    since=utc_bound(start),
    until=utc_bound(end + timedelta(days=1)),
    text=text.strip() or None,
    limit=5000,
)
feedback_ja = {"up": "👍", "down": "👎", "": ""}
st.caption(f"{len(runs)} 件")
st.dataframe(
    [
        {
            "記録番号": r.id,
            "日時": local_time(r.ts),
            "ユーザー": r.user,
            "質問": r.question,
            "回答": r.answer[:120],
            "方式": MODE_LABELS_JA.get(r.mode, r.mode),
            "出典数": len(r.citations),
            "評価": feedback_ja.get(r.feedback, r.feedback),
            "コメント": r.feedback_comment,
            "設定": r.settings_fingerprint,
            "所要(ms)": r.timings.get("total_ms"),
        }
        for r in runs
    ],
    hide_index=True,
    width="stretch",
)
st.download_button(
    "CSVをダウンロード",
    audit.to_csv(list(reversed(runs))),
    file_name=f"audit-{today:%Y%m%d}.csv",
    mime="text/csv",
    key="audit_csv",
    icon="⬇️",
)
if runs:
    chosen = st.selectbox("詳細を表示する記録", [r.id for r in runs], key="audit_detail")
    run = next(r for r in runs if r.id == chosen)
    st.code(
        answer_as_text(run.question, run.answer, run.citations, run.mode, run.notice), language=None, wrap_lines=True
    )
    st.json(
        {
            "retrieved": run.retrieved,
            "filters": run.filters,
            "timings_ms": run.timings,
            "settings_fingerprint": run.settings_fingerprint,
        },
        expanded=False,
    )

st.subheader("ログイン・ユーザー操作")
events = audit.events(since=utc_bound(start), until=utc_bound(end + timedelta(days=1)))
st.caption(f"{len(events)} 件（期間の指定に従います）")
st.dataframe(
    [
        {
            "日時": local_time(e.ts),
            "ユーザー": e.user,
            "操作": EVENT_LABELS_JA.get(e.kind, e.kind),
            "内容": e.detail,
        }
        for e in events
    ],
    hide_index=True,
    width="stretch",
    key="audit_events",
)

st.subheader("👎 の評価（評価用の事例候補）")
down = audit.list_feedback("down")
st.dataframe(
    [
        {
            "記録番号": f.run_id,
            "日時": local_time(f.ts),
            "ユーザー": f.user,
            "質問": f.run.question,
            "コメント": f.comment,
        }
        for f in down
    ],
    hide_index=True,
    width="stretch",
)
