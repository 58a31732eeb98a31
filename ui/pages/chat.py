"""チャット: ask the plans, see every citation in context, copy the answer, give 👍/👎.

Every answer comes from `pipeline.ask(..., user=...)`, which appends it to the run log; the page renders
the Answer it got. The conversation is kept per session and can be restored from the run log.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import streamlit as st

from assistant.audit_store import now_iso
from assistant.errors import DXAError
from assistant.followup import Turn
from assistant.retrieve import Filters
from assistant.runlog import citation_dicts
from assistant.types import Answer, Citation, page_ref
from ingest.normalize import original_span
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
# one entry per answer: {"answer": Answer (with run_id), "ts": ISO time, "feedback": "up"|"down"|"", "comment": str}
history: list[dict[str, Any]] = st.session_state.setdefault("history", [])

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
        history[:] = [
            {"answer": r.to_answer(), "ts": r.ts, "feedback": r.feedback, "comment": r.feedback_comment}
            for r in reversed(pipeline.run_log.query(user=user.name, limit=20))
        ]
    if st.button("会話をクリア", key="clear"):
        history.clear()


def show_citation(run_id: int | None, c: Citation, label: str) -> None:
    ch = c.chunk
    with st.expander(md(label)):
        meta = [f"文書: {ch.title}", f"区分: {level_label(ch.level)}"]
        meta += [f"版: {ch.edition}"] if ch.edition else []
        meta += [f"頁: {page_ref(ch.page, c.page_label, c.page_count)}"] if ch.page else []
        meta += [f"節: {ch.section}"] if ch.section else []
        meta += [f"出典URL: {c.source_url}"] if c.source_url else []
        st.markdown(block(safe(" ／ ".join(meta)), "font-size:0.85em;color:#555"), unsafe_allow_html=True)
        chunks = pipeline.index.get_chunks([ch.chunk_id])
        if chunks:
            chunk = chunks[0]
            st.markdown(
                block(highlight(chunk.text, c.quote), "border-left:3px solid #ccc;padding-left:8px"),
                unsafe_allow_html=True,
            )
            raw = original_span(chunk.original, c.quote) if chunk.original else None
            if raw and raw.strip() != c.quote:
                st.markdown(block("原文での表記: " + safe(raw), "font-size:0.85em;color:#555"), unsafe_allow_html=True)
        else:
            st.markdown(block(highlight(c.quote, c.quote)), unsafe_allow_html=True)
            st.caption("この資料は索引から削除または更新されたため、前後の文脈は表示できません。")
        if chunks and st.button("出典を開く", key=f"open-{run_id}-{c.n}", icon="📄"):
            st.session_state["source_target"] = {
                "doc_id": ch.doc_id,
                "chunk_id": ch.chunk_id,
                "page": ch.page,
                "quote": c.quote,
            }
            st.switch_page(SOURCE_PAGE)


def show_feedback(entry: dict[str, Any]) -> None:
    run_id = entry["answer"].run_id
    if entry["feedback"]:
        label = "👍 役に立った" if entry["feedback"] == "up" else "👎 役に立たなかった"
        st.caption(f"評価済み: {label}" + (f"（{md(entry['comment'])}）" if entry["comment"] else ""))
        return
    if run_id is None:
        return
    cols = st.columns([4, 1, 1], vertical_alignment="bottom")
    comment = cols[0].text_input("コメント（任意）", key=f"comment-{run_id}", placeholder="誤りや不足があれば")
    for col, kind, label in ((cols[1], "up", "👍 役に立った"), (cols[2], "down", "👎 役に立たない")):
        if col.button(label, key=f"{kind}-{run_id}", width="stretch"):
            pipeline.run_log.add_feedback(run_id, user.name, kind, comment)
            entry["feedback"], entry["comment"] = kind, comment.strip()
            st.toast("評価を記録しました。ありがとうございます。")
            st.rerun()


def show_answer(entry: dict[str, Any]) -> None:
    answer: Answer = entry["answer"]
    run_id = answer.run_id
    with st.chat_message("user"):
        st.markdown(block(safe(answer.question)), unsafe_allow_html=True)
    with st.chat_message("assistant"):
        st.caption(
            f"回答方式: {MODE_LABELS_JA.get(answer.mode, answer.mode)} ／ {local_time(entry['ts'])} ／ 記録番号 {run_id}"
        )
        if answer.resolved_question and answer.resolved_question != answer.question:
            st.markdown(
                block("前の質問を踏まえた解釈: " + safe(answer.resolved_question), "font-size:0.85em;color:#555"),
                unsafe_allow_html=True,
            )
        if answer.notice:
            st.markdown(
                block("⚠ " + safe(answer.notice), "background:#fff4e5;padding:6px 10px;border-radius:6px"),
                unsafe_allow_html=True,
            )
        cited = [c.n for c in answer.citations]
        st.markdown(block(answer_html(answer.answer, answer.unsupported, cited, answer.mode)), unsafe_allow_html=True)
        if answer.unsupported:
            st.caption(f"⚠ 印の文（{len(answer.unsupported)} 件）は、引用した資料で根拠を確認できませんでした。")
        if answer.citations:
            st.markdown("**出典**")
        plain = citation_dicts(answer)  # what the label and the copyable text are made of
        for c, d in zip(answer.citations, plain, strict=True):
            show_citation(run_id, c, citation_label(d))
        text = answer_as_text(answer.question, answer.answer, plain, answer.mode, answer.notice)
        with st.expander("回答を出典付きのテキストでコピー"):
            st.code(text, language=None, wrap_lines=True)
            st.download_button(
                "テキストを保存", text, file_name=f"answer-{run_id}.txt", mime="text/plain", key=f"dl-{run_id}"
            )
        show_feedback(entry)


for entry in history:
    show_answer(entry)

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
                answer = pipeline.ask(
                    question.strip(),
                    filters,
                    mode=None if mode == "auto" else mode,
                    on_token=on_token if pipeline.use_llm(None if mode == "auto" else mode) else None,
                    # the conversation is part of the question: the last few turns resolve a follow-up
                    history=[Turn(e["answer"].question, e["answer"].answer) for e in history[-CONTEXT_TURNS:]],
                    user=user.name,
                    session=st.session_state.get("session_id", ""),
                )
        except DXAError as exc:
            placeholder.empty()
            st.error(md(exc.user_message("ja")))
            st.stop()
    history.append({"answer": answer, "ts": now_iso(), "feedback": "", "comment": ""})
    st.session_state["cited_chunks"] = [c.chunk.chunk_id for c in answer.citations]
    st.rerun()
