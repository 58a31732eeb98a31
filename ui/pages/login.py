"""ログイン: the only page shown until someone is logged in."""

from __future__ import annotations

import streamlit as st

from assistant.errors import AuthError
from ui.auth import get_users, login
from ui.render import md

st.title("厚木市DX推進計画 策定支援アシスタント")
st.subheader("ログイン")
if get_users().count() == 0:
    st.warning(
        "ユーザーが登録されていません。管理者がサーバーで "
        "`dxa user add 名前 --role admin` を実行して最初の管理者を作成してください。"
    )
with st.form("login"):
    name = st.text_input("ユーザー名", key="login_name")
    password = st.text_input("パスワード", type="password", key="login_password")
    submitted = st.form_submit_button("ログイン", type="primary")
if submitted:
    try:
        login(name, password)
    except AuthError as exc:
        st.error(md(exc.user_message("ja")))
    else:
        st.rerun()
