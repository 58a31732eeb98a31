"""The Streamlit app: login first, then the pages the user's role allows.

Until someone logs in, the navigation holds only the login page, so no other page and no data is
reachable. The login page also answers at every other page's URL (hidden aliases), so a typed URL
or a reload of /audit_log shows the login form there and, once logged in, that page when the role
has it (the chat page otherwise). Pages render; the pipeline does the work. Streamlit runs it
through ../streamlit_app.py: an entry script next to a `pages/` folder would switch Streamlit to its
older pages-folder mode, in which every file in ui/pages/ is reachable by URL without passing through this gate.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from assistant.private import use_private_umask
from assistant.users import ROLE_LABELS_JA, User
from ui.auth import check_login, cookie_fetch, logout
from ui.render import md

PAGES = Path(__file__).resolve().parent / "pages"
# (file, title, icon): the work pages everyone has, then the admin pages. The first is the default.
WORK_PAGES = [
    ("chat.py", "チャット", "💬"),
    ("source.py", "出典表示", "📄"),
    ("map.py", "地図", "🗺️"),
    ("alignment.py", "整合表", "📊"),
    ("drafting.py", "起草支援", "✍️"),
    ("evaluation.py", "評価", "🧪"),
]
ADMIN_PAGES = [
    ("documents.py", "資料管理", "📚"),
    ("audit_log.py", "監査ログ", "🧾"),
    ("users.py", "ユーザー管理", "👥"),
]


def page(file: str, title: str, icon: str, *, default: bool = False) -> st.Page | None:
    """A page from ui/pages, or None when that file is not there (pages other teams add)."""
    path = PAGES / file
    return st.Page(str(path), title=title, icon=icon, default=default) if path.exists() else None


def build_navigation(user: User | None) -> dict[str, list[st.Page]]:
    if user is None:
        login = str(PAGES / "login.py")
        # Same url_path (hence the same page id) as the real page: after login the app stays on it.
        aliases = [
            st.Page(login, title="ログイン", url_path=Path(file).stem, visibility="hidden")
            for file, _, _ in WORK_PAGES + ADMIN_PAGES
            if (PAGES / file).exists()
        ]
        return {"": [st.Page(login, title="ログイン", icon="🔐", default=True), *aliases]}
    work = [page(*spec, default=i == 0) for i, spec in enumerate(WORK_PAGES)]
    sections = {"業務": [p for p in work if p is not None]}
    if user.role == "admin":
        sections["管理"] = [p for p in (page(*spec) for spec in ADMIN_PAGES) if p is not None]
    return sections


def main() -> None:
    use_private_umask()  # files and directories written under DXA_HOME: 0600 / 0700
    st.set_page_config(page_title="厚木市DX推進計画 策定支援", page_icon="📘", layout="wide")
    user = check_login()  # re-read from the store on every run; resumes a login from the session cookie
    nav = st.navigation(build_navigation(user))
    if user is not None:
        with st.sidebar:
            st.caption(f"ログイン中: {md(user.name)}（{ROLE_LABELS_JA.get(user.role, user.role)}）")
            if st.button("ログアウト", key="logout", icon="🚪"):
                logout(record=True)
                st.rerun()
            fetch = cookie_fetch()
            if fetch:
                st.markdown(fetch)
    nav.run()


if __name__ == "__main__":  # `streamlit run ui/app.py` still works; prefer streamlit_app.py
    main()
