"""ユーザー管理 (admin): add and remove the users who may log in, and lift login lock-outs."""

from __future__ import annotations

import streamlit as st

from assistant.errors import DXAError
from assistant.users import MIN_PASSWORD_CHARS, ROLE_LABELS_JA, ROLES
from ui.auth import get_audit, get_users
from ui.common import require_role
from ui.render import local_time, md

me = require_role("admin")
store = get_users()
st.title("ユーザー管理")
table = st.empty()  # filled at the end, so it shows additions and removals made on this run

st.subheader("ユーザーを追加")
with st.form("add_user", clear_on_submit=True):
    c1, c2 = st.columns(2)
    name = c1.text_input("ユーザー名", key="new_name")
    role = c2.selectbox("役割", ROLES, format_func=lambda r: ROLE_LABELS_JA[r], key="new_role")
    c3, c4 = st.columns(2)
    password = c3.text_input(f"パスワード（{MIN_PASSWORD_CHARS}文字以上）", type="password", key="new_password")
    again = c4.text_input("パスワード（確認）", type="password", key="new_password2")
    if st.form_submit_button("追加", type="primary"):
        if password != again:
            st.error("パスワードが一致しません。")
        else:
            try:
                user = store.add(name, password, role)
            except DXAError as exc:
                st.error(md(exc.user_message("ja")))
            else:
                get_audit().record_event(me.name, "user_add", f"{user.name}（{ROLE_LABELS_JA[user.role]}）")
                st.success(f"追加しました: {md(user.name)}（{ROLE_LABELS_JA[user.role]}）")

others = [u.name for u in store.list() if u.name != me.name]
st.subheader("ユーザーを削除")
if not others:
    st.caption("削除できるユーザーはいません（自分自身は削除できません）。")
else:
    target = st.selectbox("ユーザー", others, key="remove_name")
    confirm = st.checkbox(f"「{md(target)}」を削除する", key="remove_confirm")
    if st.button("削除", key="remove_user", disabled=not confirm, icon="🗑️"):
        try:
            store.remove(target)
        except DXAError as exc:
            st.error(md(exc.user_message("ja")))
        else:
            get_audit().record_event(me.name, "user_remove", target)
            st.success(f"削除しました: {md(target)}")
            st.rerun()

locked = [u.name for u in store.list() if store.locked_until(u.name) is not None]
if locked:
    st.subheader("ロックの解除")
    st.caption("ログインの失敗が続いたユーザー名は一定時間ロックされます。本人確認のうえ解除してください。")
    who = st.selectbox("ロック中のユーザー", locked, key="unlock_name")
    if st.button("ロックを解除", key="unlock_user", icon="🔓"):
        store.unlock(who)
        get_audit().record_event(me.name, "user_unlock", who)
        st.success(f"ロックを解除しました: {md(who)}")
        st.rerun()

table.dataframe(
    [
        {
            "ユーザー名": u.name,
            "役割": ROLE_LABELS_JA[u.role],
            "登録日時": local_time(u.created_at),
            "状態": "ロック中" if u.name in locked else "",
        }
        for u in store.list()
    ],
    hide_index=True,
    width="stretch",
)
