"""Admin actions done in the app go to the audit log with the logged-in user and the time.

Pages call `record_admin_event(kind, detail)` after an action, or pass it as a download button's
`on_click` (with `args=(kind, detail)`) so that an export is recorded when it is downloaded.
"""

from __future__ import annotations

from ui.auth import get_audit
from ui.common import current_user


def record_admin_event(kind: str, detail: str = "") -> None:
    """Append `kind` (one of assistant.audit.EVENT_LABELS_JA) for the logged-in user."""
    user = current_user()
    get_audit().record_event(user.name if user is not None else "(未ログイン)", kind, detail)
