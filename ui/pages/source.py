"""出典表示: the cited page of a PDF (as an image, when poppler is installed) or the surrounding text.

The quote is highlighted in the page's extracted text. Document text is escaped before any
highlighting markup is added, so HTML or Markdown in a document is shown, never executed.
"""

from __future__ import annotations

import streamlit as st

from assistant.types import chunk_page_label, page_ref
from ui.common import get_pipeline, require_role
from ui.render import block, highlight, level_label, render_pdf_page, safe

require_role()
pipeline = get_pipeline()
st.title("出典表示")

docs = pipeline.index.documents()
if not docs:
    st.info("索引に文書がありません。")
    st.stop()
target = st.session_state.get("source_target") or {}
ids = [d.doc_id for d in docs]
by_id = {d.doc_id: d for d in docs}
default = ids.index(target["doc_id"]) if target.get("doc_id") in by_id else 0
doc_id = st.selectbox(
    "文書",
    ids,
    index=default,
    key="src_doc",
    format_func=lambda i: f"〔{level_label(by_id[i].level)}〕{by_id[i].title}",
)
record = by_id[doc_id]
quote = target.get("quote", "") if target.get("doc_id") == doc_id else ""
chunks = pipeline.index.document_chunks(doc_id)
facts = [f"区分: {level_label(record.level)}", f"版: {record.edition or '-'}", f"チャンク: {record.chunks}"]
facts += [f"頁数: {record.pages}"] if record.pages else []
facts += [f"発行: {record.publisher}"] if record.publisher else []
st.markdown(block(safe(" ／ ".join(facts)), "font-size:0.9em;color:#555"), unsafe_allow_html=True)
if quote:
    st.markdown(block("引用: " + highlight(quote, quote)), unsafe_allow_html=True)


@st.cache_data(max_entries=64, show_spinner=False)
def page_image(path: str, sha256: str, page: int) -> bytes | None:
    return render_pdf_page(path, page)


if record.kind == "pdf" and record.pages:
    start = int(target.get("page") or 1) if target.get("doc_id") == doc_id else 1
    page = st.number_input("頁", min_value=1, max_value=record.pages, value=min(start, record.pages), key="src_page")
    left, right = st.columns(2)
    with left:
        image = page_image(record.path, record.sha256, int(page))
        label = next((chunk_page_label(c) for c in chunks if c.page == page and chunk_page_label(c)), None)
        st.caption(page_ref(int(page), label, record.pages))
        if image:
            st.image(image, caption=f"{page_ref(int(page), label, record.pages)}（PDFの表示）", width="stretch")
        else:
            st.info(
                "PDFの画像を表示できません（poppler-utils が未導入か、ファイルがありません）。右の抽出テキストをご覧ください。"
            )
    with right:
        st.markdown("**抽出テキスト**（引用箇所を強調）")
        text = "\n".join(c.text for c in chunks if c.page == page)
        st.markdown(
            block(highlight(text, quote) if text else safe("（この頁には索引された本文がありません）")),
            unsafe_allow_html=True,
        )
else:
    positions = {c.chunk_id: i for i, c in enumerate(chunks)}
    centre = positions.get(target.get("chunk_id", ""), 0) if target.get("doc_id") == doc_id else 0
    span = st.slider("前後に表示するチャンク数", 0, 5, 2, key="src_span")
    lo, hi = max(0, centre - span), min(len(chunks), centre + span + 1)
    st.caption(f"チャンク {lo + 1}〜{hi} / {len(chunks)}")
    for c in chunks[lo:hi]:
        style = (
            "border-left:4px solid #f0b400;padding-left:8px;margin:8px 0"
            if c.chunk_id == target.get("chunk_id")
            else "border-left:4px solid #ddd;padding-left:8px;margin:8px 0;color:#444"
        )
        head = safe(c.section) + "<br>" if c.section else ""
        body = highlight(c.text, quote) if c.chunk_id == target.get("chunk_id") else safe(c.text)
        st.markdown(
            block(f'<span style="font-size:0.8em;color:#777">{head}</span>{body}', style), unsafe_allow_html=True
        )
