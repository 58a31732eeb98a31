"""`dxa user add|remove|list|passwd|role|unlock`: manage the local users who may log in to the UI."""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import Any

from assistant.audit import AuditLog
from assistant.config import Settings
from assistant.sessions import SessionStore
from assistant.users import ROLE_LABELS_JA, ROLES, UserStore
from ui.cli.base import cli_user
from ui.cli.output import emit_json


def read_password(prompt: str = "パスワード / password: ") -> str:
    """`getpass` on a terminal (asked twice); otherwise one line from stdin, for scripts."""
    if sys.stdin.isatty():
        first = getpass.getpass(prompt)
        if getpass.getpass("もう一度 / again: ") != first:
            raise SystemExit("パスワードが一致しません / passwords differ")
        return first
    return sys.stdin.readline().rstrip("\r\n")


def cmd_user(args: argparse.Namespace, settings: Settings) -> int:
    store = UserStore.from_settings(settings)
    audit = AuditLog.from_settings(settings)
    who = cli_user()
    if args.action == "add":
        user = store.add(args.name, read_password(), args.role)
        audit.record_event(who, "user_add", f"{user.name}（{ROLE_LABELS_JA[user.role]}）")
        print(f"登録しました: {user.name}（{ROLE_LABELS_JA[user.role]}）")
    elif args.action == "remove":
        store.remove(args.name)
        audit.record_event(who, "user_remove", args.name)
        print(f"削除しました: {args.name}")
    elif args.action == "passwd":
        SessionStore.from_settings(settings)  # its schema ends the user's sessions when the password changes
        store.set_password(args.name, read_password("新しいパスワード / new password: "))
        audit.record_event(who, "user_passwd", args.name)
        print(f"パスワードを変更しました: {args.name}（ログイン中のセッションは終了します）")
    elif args.action == "role":
        user = store.set_role(args.name, args.role)
        audit.record_event(who, "user_role", f"{user.name} → {ROLE_LABELS_JA[user.role]}")
        print(f"役割を変更しました: {user.name}（{ROLE_LABELS_JA[user.role]}）")
    elif args.action == "unlock":
        cleared = store.unlock(args.name)
        if cleared:
            audit.record_event(who, "user_unlock", args.name)
        print(f"ロックを解除しました: {args.name}" if cleared else f"ロックされていません: {args.name}")
    else:
        users = store.list()
        if args.json:
            emit_json(
                {
                    "users": [
                        {
                            "name": u.name,
                            "role": u.role,
                            "created_at": u.created_at,
                            "locked": store.locked_until(u.name) is not None,
                        }
                        for u in users
                    ]
                }
            )
        else:
            for u in users:
                lock = "  locked / ロック中" if store.locked_until(u.name) is not None else ""
                print(f"{u.name:<24} {u.role:<6} {u.created_at}{lock}")
    return 0


def add_parsers(sub: Any, common: argparse.ArgumentParser) -> None:
    """This module's sub-commands; those that open the index take `common` (--store) as a parent."""
    p = sub.add_parser("user", help="ユーザー管理 / manage UI users")
    actions = p.add_subparsers(dest="action", required=True)
    a = actions.add_parser("add", help="ユーザーを登録（パスワードは標準入力） / add a user (password from stdin)")
    a.add_argument("name")
    a.add_argument("--role", choices=ROLES, default="staff")
    actions.add_parser("remove", help="ユーザーを削除 / remove a user").add_argument("name")
    actions.add_parser("passwd", help="パスワードを変更 / change a password").add_argument("name")
    r = actions.add_parser("role", help="役割を変更 / change a role")
    r.add_argument("name")
    r.add_argument("role", choices=ROLES)
    actions.add_parser("unlock", help="ログイン失敗によるロックを解除 / clear a login lock-out").add_argument("name")
    p_list = actions.add_parser("list", help="ユーザー一覧 / list users")
    p_list.add_argument("--json", action="store_true")
