"""チャット: ask the plans, see every citation in context, copy the answer, give 👍/👎.

Every answer goes through `ask_logged`, so it is appended to the audit log; the conversation is kept
per session and can be restored from the log.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from assistant.audit import RunRecord, ask_logged
from assistant.errors import DXAError
from assistant.followup import Turn
from assistant.retrieve import Filters
from assistant.types import page_ref
from ingest.normalize import original_span
from ui.auth import get_audit
from ui.common import get_pipeline, require_role
from ui.render import (
    MODE_LABELS_JA,
    answer_as_text,
    answer_html,
    block,
    citation_label,
    highlight,
    level_label,
    local_time,
    md,
    safe,
)

SOURCE_PAGE = str(Path(__file__).with_name("source.py"))
CONTEXT_TURNS = 3  # earlier turns passed with a question, so 「じゃあ県は？」 is read against them

user = require_role()
pipeline = get_pipeline()
audit = get_audit()
history: list[RunRecord] = st.session_state.setdefault("history", [])

st.title("チャット")
st.caption("厚木市・神奈川県・国の計画から、出典付きで回答します。回答は監査ログに記録されます。")

# -- filters and options -----------------------------------------------------------------------
docs = pipeline.index.documents()
titles = {d.doc_id: d.title for d in docs}
with st.sidebar:
    st.subheader("検索の範囲")
    levels = st.multiselect(
        "区分", ["city", "prefecture", "national"], format_func=level_label, key="f_levels", placeholder="すべて"
    )
    doc_options = [d.doc_id for d in docs if not levels or d.level in levels]
    doc_ids = st.multiselect(
        "文書", doc_options, format_func=lambda i: titles.get(i, i), key="f_docs", placeholder="すべて"
    )
    llm_ready = pipeline.settings.llm.configured
    modes = ["auto", "llm", "extractive"] if llm_ready else ["extractive"]
    mode = st.radio(
        "回答方式",
        modes,
        key="f_mode",
        format_func=lambda m: {"auto": "自動（生成AI・失敗時は資料抜粋）", **MODE_LABELS_JA}[m],
    )
    if not llm_ready:
        st.caption("生成AIは設定されていないため、資料からの抜粋で回答します。")
    st.divider()
    if st.button("過去の会話を読み込む", key="restore", help="監査ログから自分の直近20件を読み込みます"):
        history[:] = list(reversed(audit.query(user=user.name, limit=20)))
    if st.button("会話をクリア", key="clear"):
        history.clear()


def show_citation(run: RunRecord, c: dict) -> None:
    with st.expander(md(citation_label(c))):
        meta = [f"文書: {c['title']}", f"区分: {level_label(c['level'])}"]
        meta += [f"版: {c['edition']}"] if c.get("edition") else []
        meta += [f"頁: {page_ref(c['page'], c.get('page_label'), c.get('page_count'))}"] if c.get("page") else []
        meta += [f"節: {c['section']}"] if c.get("section") else []
        meta += [f"出典URL: {c['source_url']}"] if c.get("source_url") else []
        st.markdown(block(safe(" ／ ".join(meta)), "font-size:0.85em;color:#555"), unsafe_allow_html=True)
        chunks = pipeline.index.get_chunks([c["chunk_id"]])
        if chunks:
            chunk = chunks[0]
            st.markdown(
                block(highlight(chunk.text, c["quote"]), "border-left:3px solid #ccc;padding-left:8px"),
                unsafe_allow_html=True,
            )
            raw = original_span(chunk.original, c["quote"]) if chunk.original else None
            if raw and raw.strip() != c["quote"]:
                st.markdown(block("原文での表記: " + safe(raw), "font-size:0.85em;color:#555"), unsafe_allow_html=True)
        else:
            st.markdown(block(highlight(c["quote"], c["quote"])), unsafe_allow_html=True)
            st.caption("この資料は索引から削除または更新されたため、前後の文脈は表示できません。")
        if chunks and st.button("出典を開く", key=f"open-{run.id}-{c['n']}", icon="📄"):
            st.session_state["source_target"] = {
                "doc_id": c["doc_id"],
                "chunk_id": c["chunk_id"],
                "page": c.get("page"),
                "quote": c["quote"],
            }
            st.switch_page(SOURCE_PAGE)


def show_feedback(run: RunRecord) -> None:
    if run.feedback:
        label = "👍 役に立った" if run.feedback == "up" else "👎 役に立たなかった"
        st.caption(f"評価済み: {label}" + (f"（{md(run.feedback_comment)}）" if run.feedback_comment else ""))
        return
    cols = st.columns([4, 1, 1], vertical_alignment="bottom")
    comment = cols[0].text_input("コメント（任意）", key=f"comment-{run.id}", placeholder="誤りや不足があれば")
    for col, kind, label in ((cols[1], "up", "👍 役に立った"), (cols[2], "down", "👎 役に立たない")):
        if col.button(label, key=f"{kind}-{run.id}", width="stretch"):
            audit.add_feedback(run.id, user.name, kind, comment)
            run.feedback, run.feedback_comment = kind, comment.strip()
            st.toast("評価を記録しました。ありがとうございます。")
            st.rerun()


def show_run(run: RunRecord) -> None:
    with st.chat_message("user"):
        st.markdown(block(safe(run.question)), unsafe_allow_html=True)
    with st.chat_message("assistant"):
        st.caption(f"回答方式: {MODE_LABELS_JA.get(run.mode, run.mode)} ／ {local_time(run.ts)} ／ 記録番号 {run.id}")
        resolved = run.filters.get("resolved_question")
        if resolved:
            st.markdown(
                block("前の質問を踏まえた解釈: " + safe(resolved), "font-size:0.85em;color:#555"),
                unsafe_allow_html=True,
            )
        if run.notice:
            st.markdown(
                block("⚠ " + safe(run.notice), "background:#fff4e5;padding:6px 10px;border-radius:6px"),
                unsafe_allow_html=True,
            )
        cited = [int(c["n"]) for c in run.citations]
        st.markdown(block(answer_html(run.answer, run.unsupported, cited, run.mode)), unsafe_allow_html=True)
        if run.unsupported:
            st.caption(f"⚠ 印の文（{len(run.unsupported)} 件）は、引用した資料で根拠を確認できませんでした。")
        if run.citations:
            st.markdown("**出典**")
            for c in run.citations:
                show_citation(run, c)
        text = answer_as_text(run.question, run.answer, run.citations, run.mode, run.notice)
        with st.expander("回答を出典付きのテキストでコピー"):
            st.code(text, language=None, wrap_lines=True)
            st.download_button(
                "テキストを保存", text, file_name=f"answer-{run.id}.txt", mime="text/plain", key=f"dl-{run.id}"
            )
        show_feedback(run)


for run in history:
    show_run(run)

question = st.chat_input("質問を入力してください（例: 計画の期間はいつからいつまでですか）")
if question and question.strip():
    with st.chat_message("user"):
        st.markdown(block(safe(question)), unsafe_allow_html=True)
    with st.chat_message("assistant"):
        placeholder = st.empty()
        streamed: list[str] = []

        def on_token(token: str) -> None:
            streamed.append(token)
            placeholder.markdown(block(safe("".join(streamed)) + " ▌"), unsafe_allow_html=True)

        filters = Filters(levels=tuple(levels), doc_ids=tuple(doc_ids))
        try:
            with st.spinner("資料を検索して回答を作成しています…"):
                answer, run_id = ask_logged(
                    pipeline,
                    audit,
                    user.name,
                    question.strip(),
                    filters,
                    mode=None if mode == "auto" else mode,
                    on_token=on_token if pipeline.use_llm(None if mode == "auto" else mode) else None,
                    session=st.session_state.get("session_id", ""),
                    # the conversation is part of the question: the last few turns resolve a follow-up
                    history=[Turn(r.question, r.answer) for r in history[-CONTEXT_TURNS:]],
                )
        except DXAError as exc:
            placeholder.empty()
            st.error(md(exc.user_message("ja")))
            st.stop()
    record = audit.get(run_id)
    if record is not None:
        history.append(record)
        st.session_state["cited_chunks"] = [c["chunk_id"] for c in record.citations]
    st.rerun()
