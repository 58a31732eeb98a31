"""Login state for the Streamlit app: the user store and audit log shared per server process.

The logged-in user lives in `st.session_state["user"]` (see ui.common.current_user); nothing else
in the app is reachable until it is set here.
"""

from __future__ import annotations

import secrets

import streamlit as st

from assistant.audit import AuditLog
from assistant.errors import AuthError
from assistant.users import User, UserStore
from ui.common import get_settings

# Session keys that belong to one login; logout drops them all.
SESSION_KEYS = ("user", "history", "source_target", "cited_chunks", "session_id")


@st.cache_resource
def get_users() -> UserStore:
    return UserStore.from_settings(get_settings())


@st.cache_resource
def get_audit() -> AuditLog:
    return AuditLog.from_settings(get_settings())


def login(name: str, password: str) -> User:
    """Verify and start a session; raises AuthError (shown in Japanese by the login page).

    Every attempt goes to the audit log: a login, a failed one, or one refused because the name is locked."""
    users = get_users()
    typed = name.strip()[:64]
    was_locked = users.locked_until(name) is not None
    try:
        user = users.verify(name, password)
    except AuthError:
        if was_locked:
            get_audit().record_event(typed, "login_locked")
        else:
            now_locked = users.locked_until(name) is not None
            get_audit().record_event(typed, "login_failed", "このユーザー名をロックしました" if now_locked else "")
        raise
    logout()
    st.session_state["user"] = user
    st.session_state["history"] = []

    st.session_state["session_id"] = secrets.token_hex(8)
    get_audit().record_event(user.name, "login", f"session {st.session_state['session_id']}")
    return user


def logout(*, record: bool = False) -> None:
    """End the session; `record` logs it (a user's own logout, not the reset inside login)."""
    user = st.session_state.get("user")
    if record and user is not None:
        get_audit().record_event(user.name, "logout", f"session {st.session_state.get('session_id', '')}")
    for key in SESSION_KEYS:
        st.session_state.pop(key, None)


__all__ = ["AuthError", "get_audit", "get_users", "login", "logout"]
