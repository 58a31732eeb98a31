"""監査ログ (admin): every answer with who asked, when, the citations and feedback; CSV export;
the events (logins, user administration, admin actions) filterable by kind and user; a warning
when the log's hash chain is broken or a table or trigger is missing. Times are JST."""

from __future__ import annotations

from datetime import datetime, timedelta

import streamlit as st

from assistant.audit import EVENT_LABELS_JA
from assistant.audit_export import JST, jst_day_start, to_jst
from ui.activity import record_admin_event
from ui.auth import get_audit
from ui.common import require_role
from ui.render import MODE_LABELS_JA, answer_as_text

require_role("admin")
audit = get_audit()
st.title("監査ログ")
st.caption(
    "すべての質問と回答、ログインと管理操作の記録です（追記のみで、変更・削除はできません）。日時は日本時間です。"
)

check = audit.verify()
if not check.ok:
    st.error(
        "監査ログの改ざんまたは欠損を検出しました（ハッシュ連鎖の不一致、テーブル・トリガーの欠落など）。"
        "記録が正しいとは限りません。システム管理者に連絡し、`dxa audit verify` で詳細を確認してください。"
    )
    more = f"\n…ほか {check.more} 件" if check.more else ""
    st.code("\n".join(p.line("ja") for p in check.problems) + more, language=None, wrap_lines=True)
    if check.missing_tables:  # nothing below can be read; the app recreates them when it restarts
        st.stop()
else:
    st.caption(f"ハッシュ連鎖を確認しました（{check.entries} 件、改ざんなし）。")

c1, c2, c3 = st.columns([1, 1, 2])
users = ["（すべて）", *audit.users()]
who = c1.selectbox("ユーザー", users, key="audit_user")
today = datetime.now(JST).date()
span = c2.date_input("期間", (today - timedelta(days=30), today), key="audit_dates", format="YYYY-MM-DD")
text = c3.text_input("質問・回答に含む語", key="audit_text")
start, end = (span[0], span[-1]) if isinstance(span, tuple | list) and span else (today, today)
runs = audit.query(
    user=None if who == users[0] else who,
    since=jst_day_start(start),
    until=jst_day_start(end + timedelta(days=1)),
    text=text.strip() or None,
    limit=5000,
)
feedback_ja = {"up": "👍", "down": "👎", "": ""}
st.caption(f"{len(runs)} 件")
st.dataframe(
    [
        {
            "記録番号": r.id,
            "日時": to_jst(r.ts),
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
    on_click=record_admin_event,
    args=("export", f"監査ログ（質問と回答）CSV {len(runs)} 件"),
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

st.subheader("ログイン・管理操作")
e1, e2 = st.columns([2, 1])
kinds = e1.multiselect(
    "操作の種類", list(EVENT_LABELS_JA), format_func=EVENT_LABELS_JA.__getitem__, key="audit_event_kinds"
)
event_users = ["（すべて）", *audit.event_users()]
event_user = e2.selectbox("操作したユーザー", event_users, key="audit_event_user")
events = audit.events(
    since=jst_day_start(start),
    until=jst_day_start(end + timedelta(days=1)),
    kinds=kinds,
    user=None if event_user == event_users[0] else event_user,
)
st.caption(f"{len(events)} 件（期間の指定に従います。空欄の種類はすべて）")
st.dataframe(
    [
        {
            "日時": to_jst(e.ts),
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
st.download_button(
    "操作の記録をCSVでダウンロード",
    audit.events_csv(list(reversed(events))),
    file_name=f"audit-events-{today:%Y%m%d}.csv",
    mime="text/csv",
    key="audit_events_csv",
    icon="⬇️",
    on_click=record_admin_event,
    args=("export", f"監査ログ（操作）CSV {len(events)} 件"),
)

st.subheader("👎 の評価（評価用の事例候補）")
down = audit.list_feedback("down")
st.dataframe(
    [
        {
            "記録番号": f.run_id,
            "日時": to_jst(f.ts),
            "ユーザー": f.user,
            "質問": f.run.question,
            "コメント": f.comment,
        }
        for f in down
    ],
    hide_index=True,
    width="stretch",
)
