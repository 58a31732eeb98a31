"""Login state for the Streamlit app: the user, session and audit stores shared per server process.

The logged-in user lives in `st.session_state["user"]` (see ui.common.current_user); nothing else
in the app is reachable until it is set here. `check_login` runs first on every script run: it
re-reads the user from the store (a removed or locked user is logged out, a new role applies at once)
and resumes a login from the session cookie after a reload (see assistant/sessions.py, ui/session_routes.py).
"""

from __future__ import annotations

from urllib.parse import quote

import streamlit as st

from assistant.audit import AuditLog
from assistant.errors import AuthError
from assistant.sessions import COOKIE_NAME, SessionStore
from assistant.users import User, UserStore
from ui.common import get_settings

# Session keys that belong to one login; logout drops them all.
SESSION_KEYS = ("user", "history", "source_target", "cited_chunks", "session_id", "session_code")
COOKIE_ROUTE = "_dxa/session"  # relative, so it also works under a server.baseUrlPath


@st.cache_resource
def get_users() -> UserStore:
    return UserStore.from_settings(get_settings())


@st.cache_resource
def get_audit() -> AuditLog:
    return AuditLog.from_settings(get_settings())


@st.cache_resource
def get_sessions() -> SessionStore:
    return SessionStore.from_settings(get_settings())


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
    sid, code = get_sessions().start(user.name)
    _begin(user, sid)
    st.session_state["session_code"] = code  # the browser trades it for the HttpOnly cookie (cookie_fetch)
    get_audit().record_event(user.name, "login", f"session {sid}")
    return user


def _begin(user: User, sid: str) -> None:
    st.session_state["user"] = user
    st.session_state["history"] = []
    st.session_state["session_id"] = sid


def logout(*, record: bool = False) -> None:
    """End the session and revoke its cookie; `record` logs it (a user's own logout, not the reset inside login)."""
    user = st.session_state.get("user")
    sid = st.session_state.get("session_id")
    if record and user is not None:
        get_audit().record_event(user.name, "logout", f"session {sid or ''}")
    if sid:
        get_sessions().revoke(sid)
    for key in SESSION_KEYS:
        st.session_state.pop(key, None)


def check_login() -> User | None:
    """The logged-in user as the store has them now, or None (then the login page is all there is).

    Runs at the start of every script run. A session without a live row (revoked, expired), a user
    who was removed or whose name is locked, is logged out; otherwise the user is re-read, so a role
    change takes effect on the next click. With no user in this browser session, a valid cookie resumes one.
    """
    sessions = get_sessions()
    user = st.session_state.get("user")
    sid = st.session_state.get("session_id")
    if user is None:
        resumed = sessions.resume(st.context.cookies.get(COOKIE_NAME))
        if resumed is None:
            return None
        name, sid = resumed.user, resumed.id
    else:
        name = user.name
    users = get_users()
    fresh = users.get(name)
    if fresh is None or not sid or not sessions.is_active(sid) or users.locked_until(fresh.name) is not None:
        if user is not None:
            logout()
        elif sid:
            sessions.revoke(sid)
        return None
    if user is None:
        _begin(fresh, sid)
    else:
        st.session_state["user"] = fresh
    return fresh


def cookie_fetch() -> str | None:
    """Markdown for an invisible image whose fetch trades the one-time code for the session cookie.

    Shown on every run until the code is spent (or has run out), so a rerun cannot lose it."""
    sid, code = st.session_state.get("session_id"), st.session_state.get("session_code")
    if not sid or not code:
        return None
    if not get_sessions().code_pending(sid):
        st.session_state.pop("session_code", None)
        return None
    return f"![]({COOKIE_ROUTE}?code={quote(code)})"


__all__ = ["AuthError", "check_login", "cookie_fetch", "get_audit", "get_sessions", "get_users", "login", "logout"]
