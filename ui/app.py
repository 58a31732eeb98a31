"""The Streamlit app: login first, then the pages the user's role allows.

Until someone logs in, the navigation holds only the login page, so no other page and no data is
reachable. Pages render; the pipeline does the work. Streamlit runs it through ../streamlit_app.py:
an entry script next to a `pages/` folder would switch Streamlit to its older pages-folder mode,
in which every file in ui/pages/ is reachable by URL without passing through this gate.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

import streamlit as st

from assistant.users import ROLE_LABELS_JA
from ui.auth import check_login, cookie_fetch, logout

PAGES = Path(__file__).resolve().parent / "pages"


def page(file: str, title: str, icon: str, *, default: bool = False) -> st.Page | None:
    """A page from ui/pages, or None when that file is not there (pages other teams add)."""
    path = PAGES / file
    return st.Page(str(path), title=title, icon=icon, default=default) if path.exists() else None


def build_navigation(user: object | None) -> dict[str, list[st.Page]]:
    if user is None:
        login = page("login.py", "ログイン", "🔐", default=True)
        assert login is not None
        return {"": [login]}
    work = [
        page("chat.py", "チャット", "💬", default=True),
        page("source.py", "出典表示", "📄"),
        page("map.py", "地図", "🗺️"),
        page("alignment.py", "整合表", "📊"),
        page("drafting.py", "起草支援", "✍️"),
        page("evaluation.py", "評価", "🧪"),
    ]
    sections = {"業務": [p for p in work if p is not None]}
    if getattr(user, "role", None) == "admin":
        admin = [
            page("documents.py", "資料管理", "📚"),
            page("audit_log.py", "監査ログ", "🧾"),
            page("users.py", "ユーザー管理", "👥"),
        ]
        sections["管理"] = [p for p in admin if p is not None]
    return sections


def requested_page() -> str:
    """The page named by the URL the browser asked for (the last path segment), or ""."""
    url = st.context.url or ""
    return urlparse(url).path.rstrip("/").rsplit("/", 1)[-1]


def main() -> None:
    st.set_page_config(page_title="厚木市DX推進計画 策定支援", page_icon="📘", layout="wide")
    user = check_login()  # re-read from the store on every run; resumes a login from the session cookie
    if user is None and "next_page" not in st.session_state:
        st.session_state["next_page"] = requested_page()  # a typed URL or a reload: go there after login
    sections = build_navigation(user)
    nav = st.navigation(sections)
    if user is not None:
        wanted = st.session_state.pop("next_page", "")
        target = [p for pages in sections.values() for p in pages if wanted and p.url_path == wanted]
        if target and target[0].url_path != nav.url_path:  # only pages this role has
            st.switch_page(target[0])
        with st.sidebar:
            st.caption(f"ログイン中: {user.name}（{ROLE_LABELS_JA.get(user.role, user.role)}）")
            if st.button("ログアウト", key="logout", icon="🚪"):
                logout(record=True)
                st.rerun()
            fetch = cookie_fetch()
            if fetch:
                st.markdown(fetch)
    nav.run()


if __name__ == "__main__":  # `streamlit run ui/app.py` still works; prefer streamlit_app.py
    main()
