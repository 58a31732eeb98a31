"""`dxa audit verify`: check the audit log's hash chain, tables and triggers without changing the log."""

from __future__ import annotations

import argparse
from typing import Any

from assistant.audit_chain import verify
from assistant.config import Settings
from ui.cli.output import emit_json


def cmd_audit(args: argparse.Namespace, settings: Settings) -> int:
    path = settings.home / "audit.sqlite"
    report = verify(path)
    if args.json:
        emit_json(
            {
                "ok": report.ok,
                "path": str(path),
                "entries": report.entries,
                "head": report.head,
                "problems": [{"where": p.where, "ja": p.what_ja, "en": p.what_en} for p in report.problems],
                "more": report.more,
            }
        )
    elif report.ok:
        print(f"監査ログは改ざんされていません / audit log intact: {path}")
        print(f"  記録 {report.entries} 件 / entries: {report.entries}  先頭ハッシュ / head: {report.head}")
    else:
        print(f"監査ログの改ざんを検出しました / audit log broken: {path}")
        for p in report.problems:
            print(f"  {p.where}: {p.what_ja} / {p.what_en}")
        if report.more:
            print(f"  …ほか {report.more} 件 / and {report.more} more")
    return 0 if report.ok else 1


def add_parsers(sub: Any, common: argparse.ArgumentParser) -> None:
    """This module's sub-commands; those that open the index take `common` (--store) as a parent."""
    p = sub.add_parser("audit", help="監査ログの検証 / audit log checks")
    actions = p.add_subparsers(dest="audit_action", required=True)
    v = actions.add_parser("verify", help="ハッシュ連鎖を検証（0: 正常, 1: 改ざんあり） / verify the hash chain")
    v.add_argument("--json", action="store_true")
