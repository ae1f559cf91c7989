"""The layout is the architecture: anchorvae's packages form layers, and a module imports
only from its own layer and those below it (anchorvae/__init__.py draws the order). Type-
only imports (under ``if TYPE_CHECKING:``) and imports inside functions count too: a
layer that needs a type from above it is one that depends on it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "anchorvae"
# Lowest first. The two base modules share the first layer.
LAYERS = [
    {"errors", "digits"},
    {"method"},
    {"artifacts"},
    {"data"},
    {"training"},
    {"evaluation"},
    {"pipeline"},
    {"reports"},
    {"experiments"},
]
TOP_LEVEL_MODULES = 6  # at most, __init__.py included
MODULE_LINES = 300


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {
        _module_name(p): p for p in sorted(PACKAGE.rglob("*.py")) if "__pycache__" not in p.parts
    }


def _imports(path: Path) -> set[str]:
    """Every anchorvae module ``path`` imports, anywhere in the file."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("anchorvae.")}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module.startswith("anchorvae"):
                found.add(node.module)
    return found


def layer_of(module: str) -> int | None:
    """The layer of ``anchorvae.<part>...`` (None for the package's own __init__)."""
    parts = module.split(".")
    if len(parts) == 1:
        return None
    for i, names in enumerate(LAYERS):
        if parts[1] in names:
            return i
    raise AssertionError(f"{module} belongs to no layer: add its package to LAYERS")


def test_every_import_runs_downwards() -> None:
    wrong = []
    for name, path in _modules().items():
        own = layer_of(name)
        for imported in sorted(_imports(path)):
            theirs = layer_of(imported)
            if own is not None and theirs is not None and theirs > own:
                wrong.append(f"{name} imports {imported}, a layer above its own")
    assert not wrong, "\n".join(wrong)


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of ``graph`` (module -> modules it imports), or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(node: str, path: list[str]) -> list[str] | None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt] if nxt in path else [node, nxt]
            if nxt not in state and (found := visit(nxt, [*path, nxt])):
                return found
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (found := visit(start, [start])):
            return found
    return None


def test_no_import_cycles() -> None:
    modules = _modules()
    graph = {name: {m for m in _imports(path) if m in modules} for name, path in modules.items()}
    assert _cycle(graph) is None, " -> ".join(_cycle(graph) or [])


def test_cycle_finder_finds_one() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_layer_of_refuses_an_unplaced_package() -> None:
    assert layer_of("anchorvae.method.loss") < layer_of("anchorvae.experiments.grid")
    with pytest.raises(AssertionError, match="no layer"):
        layer_of("anchorvae.elsewhere.x")


def test_top_level_is_small_and_modules_short() -> None:
    top = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert len(top) <= TOP_LEVEL_MODULES, top
    long = {str(p.relative_to(ROOT)): n for p in PACKAGE.rglob("*.py")
            if (n := len(p.read_text().splitlines())) > MODULE_LINES}  # fmt: skip
    assert not long, long


def test_every_package_says_what_it_holds() -> None:
    for init in PACKAGE.rglob("__init__.py"):
        doc = ast.get_docstring(ast.parse(init.read_text()))
        assert doc and len(doc.split()) > 10, f"{init.relative_to(ROOT)} has no docstring"


def test_the_package_map_names_every_layer() -> None:
    doc = ast.get_docstring(ast.parse((PACKAGE / "__init__.py").read_text()))
    placed = [name for names in LAYERS for name in sorted(names)]
    assert sorted(placed) == sorted(
        p.stem if p.is_file() else p.name
        for p in PACKAGE.iterdir()
        if p.name != "__init__.py"
        and p.name != "__pycache__"
        and (p.suffix == ".py" or p.is_dir())
    )
    for name in placed:
        assert name in doc, f"anchorvae/__init__.py does not name {name}"
