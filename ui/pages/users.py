"""ユーザー管理 (admin): add and remove the users who may log in, reset passwords, change roles and lift
login lock-outs. Every change goes to the audit log. A message that must outlive `st.rerun()` is kept
in session_state ("users_flash") and shown on the next run."""

from __future__ import annotations

import streamlit as st

from assistant.audit_export import to_jst
from assistant.errors import DXAError
from assistant.users import MIN_PASSWORD_CHARS, ROLE_LABELS_JA, ROLES
from ui.auth import get_audit, get_users
from ui.common import require_role
from ui.render import md

FLASH = "users_flash"
me = require_role("admin")
store = get_users()
st.title("ユーザー管理")
if flash := st.session_state.pop(FLASH, None):
    st.success(md(flash))
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
            st.session_state[FLASH] = f"削除しました: {target}"
            st.rerun()

everyone = [u.name for u in store.list()]
st.subheader("パスワードの再設定")
with st.form("reset_password", clear_on_submit=True):
    r1, r2, r3 = st.columns(3)
    reset_name = r1.selectbox("ユーザー", everyone, key="reset_name")
    new_pw = r2.text_input(f"新しいパスワード（{MIN_PASSWORD_CHARS}文字以上）", type="password", key="reset_password")
    new_pw2 = r3.text_input("新しいパスワード（確認）", type="password", key="reset_password2")
    if st.form_submit_button("再設定", icon="🔑"):
        if new_pw != new_pw2:
            st.error("パスワードが一致しません。")
        else:
            try:
                store.set_password(reset_name, new_pw)
            except DXAError as exc:
                st.error(md(exc.user_message("ja")))
            else:
                get_audit().record_event(me.name, "user_passwd", f"{reset_name}（管理者による再設定）")
                # the store ends every session of that user (assistant/sessions.py), this one too when it is mine
                ended = (
                    "この画面も次の操作でログアウトします"
                    if reset_name == me.name
                    else "ログイン中のセッションは終了します"
                )
                st.success(f"パスワードを再設定しました: {md(reset_name)}（ロックも解除され、{ended}）")

st.subheader("役割の変更")
by_name = {u.name: u for u in store.list() if u.name != me.name}
if not by_name:
    st.caption("役割を変更できるユーザーはいません（自分自身の役割は変更できません）。")
else:
    g1, g2 = st.columns(2)
    role_name = g1.selectbox("ユーザー", list(by_name), key="role_name")
    current = by_name[role_name].role
    new_role = g2.selectbox(
        "新しい役割", ROLES, index=ROLES.index(current), format_func=lambda r: ROLE_LABELS_JA[r], key="role_new"
    )
    if st.button("役割を変更", key="role_change", disabled=new_role == current, icon="🔁"):
        try:
            user = store.set_role(role_name, new_role)
        except DXAError as exc:
            st.error(md(exc.user_message("ja")))
        else:
            change = f"{user.name}: {ROLE_LABELS_JA[current]} → {ROLE_LABELS_JA[user.role]}"
            get_audit().record_event(me.name, "user_role", change)
            st.session_state[FLASH] = f"役割を変更しました: {change}"
            st.rerun()

locked = [u.name for u in store.list() if store.locked_until(u.name) is not None]
if locked:
    st.subheader("ロックの解除")
    st.caption("ログインの失敗が続いたユーザー名は一定時間ロックされます。本人確認のうえ解除してください。")
    who = st.selectbox("ロック中のユーザー", locked, key="unlock_name")
    if st.button("ロックを解除", key="unlock_user", icon="🔓"):
        store.unlock(who)
        get_audit().record_event(me.name, "user_unlock", who)
        st.session_state[FLASH] = f"ロックを解除しました: {who}"
        st.rerun()

table.dataframe(
    [
        {
            "ユーザー名": u.name,
            "役割": ROLE_LABELS_JA[u.role],
            "登録日時": to_jst(u.created_at),
            "状態": "ロック中" if u.name in locked else "",
        }
        for u in store.list()
    ],
    hide_index=True,
    width="stretch",
)
