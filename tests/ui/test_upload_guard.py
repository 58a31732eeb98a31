"""ui.upload_guard rests on one fact about the pinned Streamlit: the upload endpoint is the only caller
of `Runtime.is_active_session`, and it asks before reading the body. An upgrade that changes either
fails here, before the guard silently stops guarding or starts refusing something else.
(tests/ui/test_browser_security.py shows the guard working against a real server.)"""

from __future__ import annotations

import ast
from pathlib import Path

import streamlit

from ui import upload_guard

ROOT = Path(streamlit.__file__).parent


def callers() -> list[tuple[str, str]]:
    """(file, enclosing functions) of every `<x>.is_active_session(...)` call on a Runtime in Streamlit."""
    found = []
    for path in ROOT.rglob("*.py"):
        if "tests" in path.parts or "is_active_session" not in (text := path.read_text(encoding="utf-8")):
            continue
        tree = ast.parse(text)
        for func in ast.walk(tree):
            if not isinstance(func, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for node in ast.walk(func):
                if (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Attribute)
                    and node.func.attr == "is_active_session"
                    and ast.unparse(node.func.value) != "self._session_mgr"  # Runtime's own delegation
                ):
                    found.append((path.relative_to(ROOT).as_posix(), func.name))
    return sorted(set(found))


def test_only_the_upload_endpoint_asks_runtime_is_active_session() -> None:
    routes = "web/server/starlette/starlette_routes.py"
    assert callers() == [(routes, "_upload_put"), (routes, "create_upload_routes")]  # the PUT handler inside


def test_the_upload_endpoint_asks_before_reading_the_body() -> None:
    source = (ROOT / "web/server/starlette/starlette_routes.py").read_text(encoding="utf-8")
    put = source[source.index("async def _upload_put") :]
    assert put.index("runtime.is_active_session(session_id)") < put.index("request.stream()")


def test_install_replaces_the_check_and_is_idempotent() -> None:
    upload_guard.install()
    upload_guard.install()
    assert upload_guard.installed()
