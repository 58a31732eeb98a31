"""The page scripts as source: nothing for Streamlit's magic to display (magic is off as well), and no
argument the installed Streamlit deprecates."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# magic rewrites the scripts Streamlit runs (the app and its pages), not the modules they import
SCRIPTS = [ROOT / "streamlit_app.py", ROOT / "ui" / "app.py", *sorted((ROOT / "ui" / "pages").glob("*.py"))]
# keyword arguments Streamlit 1.67 warns about in the server log (use width="stretch" / "content")
DEPRECATED_KWARGS = {"use_container_width"}


def _magic_targets(tree: ast.Module) -> list[ast.Expr]:
    """Expression statements that Streamlit's magic would wrap in st.write (calls and docstrings excepted)."""
    out = []
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        for stmts in (body, getattr(node, "orelse", None), getattr(node, "finalbody", None)):
            if not isinstance(stmts, list):
                continue
            for i, stmt in enumerate(stmts):
                if not isinstance(stmt, ast.Expr) or isinstance(stmt.value, ast.Call | ast.Await | ast.Yield):
                    continue
                docstring = i == 0 and isinstance(stmt.value, ast.Constant) and isinstance(stmt.value.value, str)
                if docstring and isinstance(node, ast.Module | ast.FunctionDef | ast.AsyncFunctionDef):
                    continue
                out.append(stmt)
    return out


def test_no_page_has_a_bare_expression_for_magic_to_display() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{stmt.lineno}: {ast.unparse(stmt)[:60]}"
        for path in SCRIPTS
        for stmt in _magic_targets(ast.parse(path.read_text(encoding="utf-8")))
    ]
    assert found == []
    # the check does catch the statement that broke 削除
    bad = ast.parse('removed = 1\nst.success("x") if removed >= 0 else st.error(\n    "y"\n)\n')
    assert len(_magic_targets(bad)) == 1


def test_magic_is_off_for_the_served_app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import argparse
    import tomllib

    from tests.conftest import make_settings
    from ui.cli import ingest as cli

    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert config["runner"]["magicEnabled"] is False  # `streamlit run streamlit_app.py` from the root
    started: list[list[str]] = []

    def execve(path: str, argv: list[str], env: dict[str, str]) -> None:
        started.append(argv)

    monkeypatch.setattr(cli.os, "execve", execve)
    cli.cmd_ui(argparse.Namespace(port=None), make_settings(tmp_path / "home"))
    [argv] = started
    assert argv[argv.index("--runner.magicEnabled") + 1] == "false"  # `dxa ui`, from any directory


def deprecated_calls(tree: ast.AST) -> list[str]:
    return [
        f"{node.lineno}: {kw.arg}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        for kw in node.keywords
        if kw.arg in DEPRECATED_KWARGS
    ]


def test_no_deprecated_streamlit_arguments() -> None:
    files = [ROOT / "streamlit_app.py", *sorted((ROOT / "ui").rglob("*.py"))]
    found = [
        f"{path.relative_to(ROOT)}:{hit}"
        for path in files
        for hit in deprecated_calls(ast.parse(path.read_text(encoding="utf-8")))
    ]
    assert found == []
    assert deprecated_calls(ast.parse("st.image(x, use_container_width=True)")) == ["1: use_container_width"]
