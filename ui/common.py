"""Shared pieces of the Streamlit pages: the one pipeline per server process, the logged-in user.

Pages call the pipeline and render; no logic lives in a page.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from assistant.config import Settings
from assistant.pipeline import Pipeline


@st.cache_resource
def get_settings() -> Settings:
    return Settings()


@st.cache_resource
def get_pipeline() -> Pipeline:
    return Pipeline(get_settings())


def current_user() -> Any | None:
    """The logged-in user (has .name and .role), or None."""
    return st.session_state.get("user")


def require_role(*roles: str) -> Any:
    """Stop the page unless someone is logged in (and, when given, has one of `roles`)."""
    user = current_user()
    if user is None:
        st.error("ログインしてください。")
        st.stop()
    if roles and user.role not in roles:
        st.error("この画面を利用する権限がありません。")
        st.stop()
    return user
