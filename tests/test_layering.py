"""The dependency direction of the tree (ui → ingest, eval → assistant) and no import circles.

Read from the source with `ast`, so imports inside functions (the lazy ones) count as well: a circle that
only closes at call time is still a circle. Imports under `if TYPE_CHECKING:` are for annotations only and
never run, so they do not count."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("assistant", "ingest", "eval", "ui")
# What each package may import of ours (besides itself) and which outside libraries it must not import.
ALLOWED = {
    "assistant": set(),
    "ingest": {"assistant"},
    "eval": {"assistant", "ingest"},
    "ui": {"assistant", "ingest", "eval"},
}
FORBIDDEN_OUTSIDE = {"assistant": {"streamlit"}, "ingest": {"streamlit"}, "eval": {"streamlit"}}


def _modules() -> dict[str, Path]:
    mods: dict[str, Path] = {}
    for pkg in PACKAGES:
        for path in (ROOT / pkg).rglob("*.py"):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            mods[".".join(parts)] = path
    return mods


def _imports(name: str, path: Path) -> Iterator[str]:
    """Every module `name` imports, at any depth of the file; `from a import b` yields a and a.b."""
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    type_only = {
        id(inner)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
        for stmt in node.body
        for inner in ast.walk(stmt)
    }
    for node in ast.walk(tree):
        if id(node) in type_only:
            continue
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join(base + ([node.module] if node.module else []))
            names = [f"{module}.{alias.name}" for alias in node.names]
            submodules = [n for n in names if (ROOT / n.replace(".", "/")).with_suffix(".py").exists()]
            if len(submodules) < len(names):  # `from pkg import sub` runs sub, not more of pkg
                yield module
            yield from names


MODULES = _modules()
# A module's own parent packages are always initialised before it, so an edge to them is no circle.
GRAPH = {
    name: {m for m in _imports(name, path) if m in MODULES and not f"{name}.".startswith(f"{m}.")} for name, path in MODULES.items()
}


@pytest.mark.parametrize("package", PACKAGES)
def test_imports_point_down_the_pipeline(package: str) -> None:
    wrong = sorted(
        f"{name} imports {target}"
        for name, path in MODULES.items()
        if name.split(".")[0] == package
        for target in _imports(name, path)
        if (top := target.split(".")[0]) != package
        and ((top in PACKAGES and top not in ALLOWED[package]) or top in FORBIDDEN_OUTSIDE.get(package, ()))
    )
    assert not wrong, wrong


def test_no_import_circles() -> None:
    """Tarjan's strongly connected components over the module graph: every component is one module."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(GRAPH[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for module in sorted(MODULES):
        if module not in index:
            visit(module)
    assert not circles, circles


def test_the_graph_sees_real_imports() -> None:
    """Guard against a parser that finds nothing: the pipeline module does import the store and retrieval."""
    assert {"assistant.store", "assistant.retrieve"} <= GRAPH["assistant.pipeline"]
