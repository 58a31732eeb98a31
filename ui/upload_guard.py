"""No file reaches the server before login: Streamlit's upload endpoint (PUT /_stcore/upload_file/
<session>/<file>) takes a file for any live session, the login page's too, and keeps it in memory.

The endpoint asks `Runtime.is_active_session(session_id)` before it reads any of the body, and that
is its only caller in the Streamlit we pin (tests/ui/test_upload_guard.py fails when that changes).
We answer "no" unless the session has a logged-in user, so the PUT gets a 400 and nothing is read
or held. This module is the one place that knows these Streamlit internals; it imports nothing of ours.
"""

from __future__ import annotations

import logging
from typing import Any

from streamlit.runtime import Runtime

log = logging.getLogger(__name__)
USER_KEY = "user"  # the session-state key ui.auth.login sets (ui.common.current_user reads it)
_streamlit_check = Runtime.is_active_session


def session_has_user(runtime: Runtime, session_id: str) -> bool:
    """The session is live and someone is logged in on it."""
    info: Any = runtime._session_mgr.get_active_session_info(session_id)
    if info is None:
        return False
    try:
        return info.session.session_state[USER_KEY] is not None
    except (KeyError, AttributeError):
        return False


def _upload_allowed(self: Runtime, session_id: str) -> bool:
    if not _streamlit_check(self, session_id):
        return False
    if session_has_user(self, session_id):
        return True
    log.warning("upload refused: session %s has no logged-in user", session_id[:8])
    return False


def install() -> None:
    """Gate uploads on login for every Runtime of this process (idempotent)."""
    Runtime.is_active_session = _upload_allowed  # type: ignore[method-assign]


def installed() -> bool:
    return Runtime.is_active_session is _upload_allowed
