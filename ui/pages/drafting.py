"""起草支援: a cited draft for a plan section, editable, with a citation check and docx/md downloads.

assistant.draft builds and checks the draft; the page renders. Document text is shown as plain
text (st.text_area / st.text), never as HTML.
"""

from __future__ import annotations

import streamlit as st

from assistant.draft import check_draft, make_draft
from assistant.errors import DXAError
from assistant.export import draft_docx, draft_markdown
from ui.activity import record_admin_event
from ui.common import get_pipeline, require_role
from ui.render import md

require_role()
pipeline = get_pipeline()

st.title("起草支援")
st.caption("国・県・市の資料から出典付きの原稿（案）を作ります。各文の [n] は下の出典一覧の番号です。")

with st.form("draft_form"):
    title = st.text_input("節の見出し", value="行政事務のＤＸ")
    intent = st.text_input("書きたい内容", value="「行政事務のＤＸ」の施策の方向性")
    style = st.radio(
        "文体",
        ["dearu", "desumasu"],
        horizontal=True,
        index=0 if pipeline.settings.answer.style == "dearu" else 1,
        format_func=lambda s: "である調" if s == "dearu" else "ですます調",
    )
    llm_ready = pipeline.settings.llm.configured
    use_llm = st.checkbox(
        "生成AIで文章化する",
        value=llm_ready,
        disabled=not llm_ready,
        help="未設定の場合は、出典の文と記入欄からなる骨子を作ります。",
    )
    submitted = st.form_submit_button("原稿（案）を作成", type="primary")

if submitted:
    if not title.strip():
        st.error("節の見出しを入力してください。")
        st.stop()
    try:
        with st.spinner("資料を検索して原稿を作成しています…"):
            draft = make_draft(pipeline, title.strip(), intent.strip(), style, use_llm=use_llm)
    except DXAError as exc:
        st.error(md(exc.user_message("ja")))
        st.stop()
    record_admin_event("draft", f"{draft.title}（{draft.mode}）")
    st.session_state["draft"] = draft
    st.session_state["draft_text"] = draft_markdown(draft)
    st.session_state.pop("draft_check", None)

draft = st.session_state.get("draft")
if draft is None:
    st.stop()
if draft.notice:
    st.warning(draft.notice)
if draft.unsupported:
    st.warning("根拠が確認できない文があります: " + md(" / ".join(draft.unsupported)))

st.subheader("原稿（編集できます）")
st.caption("【要記入：…】の箇所を書き換えてください。文末の [n] を残すと、出典との照合ができます。")
edited = st.text_area("原稿", key="draft_text", height=480, label_visibility="collapsed")

if st.button("出典チェック", help="編集後の各文が、[n] の出典で裏付けられているかを確認します。"):
    st.session_state["draft_check"] = check_draft(edited, pipeline)
result = st.session_state.get("draft_check")
if result is not None:
    if not result.unsupported and not result.unknown_markers:
        st.success(f"{result.sentences} 文を確認しました。すべての文に出典の裏付けがあります。")
    for n in result.unknown_markers:
        st.error(f"出典一覧にない番号です: [{n}]")
    if result.unsupported:
        st.error(
            f"出典で裏付けられない文が {len(result.unsupported)} 件あります（出典の番号がないか、出典に書かれていない内容です）。"
        )
        for s in result.unsupported:
            st.text(f"⚠ {s}")

body = edited.split("\n## 出典")[0]
c1, c2 = st.columns(2)
c1.download_button(
    "Word（.docx）で保存",
    draft_docx(draft, body),
    f"{draft.title}.docx",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    on_click=record_admin_event,
    args=("export", f"{draft.title}.docx"),
)
c2.download_button(
    "Markdown で保存",
    edited,
    f"{draft.title}.md",
    "text/markdown",
    on_click=record_admin_event,
    args=("export", f"{draft.title}.md"),
)
