"""Streamlit entry point (`dxa ui`). Pages render; the pipeline does the work."""

from __future__ import annotations

import streamlit as st

from assistant.config import Settings
from assistant.pipeline import Pipeline

st.set_page_config(page_title="厚木市DX推進計画 策定支援", page_icon="📘", layout="wide")


@st.cache_resource
def get_pipeline() -> Pipeline:
    return Pipeline(Settings())


st.title("厚木市DX推進計画 策定支援アシスタント")
docs = get_pipeline().index.documents()
st.caption(f"索引済みの文書: {len(docs)} 件")
st.dataframe(
    [{"文書": d.title, "区分": d.level, "版": d.edition, "頁": d.pages, "チャンク": d.chunks} for d in docs],
    hide_index=True,
)
