"""The deployproof package has no import cycles: each module can be read (and imported) after its dependencies.

Counted: module-level imports between deployproof's own modules, those under `if TYPE_CHECKING:` included
(a type-only import back is still the coupling the cycle rule is about). Not counted: imports inside
functions, which are deliberate lazy imports (heavy or optional dependencies, the provider choice).
"""

from __future__ import annotations

import ast
from pathlib import Path

import deployproof

PACKAGE_ROOT = Path(deployproof.__file__).parent
PACKAGE = "deployproof"


def module_names() -> dict[str, Path]:
    names = {}
    for path in sorted(PACKAGE_ROOT.rglob("*.py")):
        parts = [PACKAGE, *path.relative_to(PACKAGE_ROOT).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts = parts[:-1]
        names[".".join(parts)] = path
    return names


def _module_level_imports(body: list[ast.stmt]) -> list[ast.Import | ast.ImportFrom]:
    """Import statements that run when the module is imported (or type-checked): not those in functions."""
    found: list[ast.Import | ast.ImportFrom] = []
    for node in body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            found.append(node)
        elif isinstance(node, ast.If):
            found += _module_level_imports(node.body) + _module_level_imports(node.orelse)
        elif isinstance(node, ast.Try):
            found += _module_level_imports(node.body) + _module_level_imports(node.orelse) + _module_level_imports(node.finalbody)
            for handler in node.handlers:
                found += _module_level_imports(handler.body)
    return found


def imports_of(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """deployproof modules that `name` imports at module level (`from . import x` counts as importing x)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    targets: set[str] = set()
    for node in _module_level_imports(ast.parse(path.read_text(), str(path)).body):
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
            continue
        if node.level:
            base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
            source = ".".join(base + ([node.module] if node.module else []))
        else:
            source = node.module or ""
        for alias in node.names:
            submodule = f"{source}.{alias.name}"
            targets.add(submodule if submodule in modules else source)
    return {t for t in targets if t in modules and t != name}


def import_graph() -> dict[str, set[str]]:
    modules = module_names()
    return {name: imports_of(name, path, modules) for name, path in modules.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One example cycle per strongly connected group of modules (Tarjan), as a readable path."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[set[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.add(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(group)

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return [_path_through(group, graph) for group in groups]


def _path_through(group: set[str], graph: dict[str, set[str]]) -> list[str]:
    """A shortest cycle from the group's first module back to itself (breadth first, inside the group)."""
    start = min(group)
    previous: dict[str, str | None] = {start: None}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for nxt in sorted(graph[node] & group):
                if nxt == start:
                    path = [node]
                    while (before := previous[path[-1]]) is not None:
                        path.append(before)
                    return [*reversed(path), start]
                if nxt not in previous:
                    previous[nxt] = node
                    following.append(nxt)
        frontier = following
    return sorted(group)


def test_the_package_has_no_import_cycles():
    found = cycles(import_graph())
    assert not found, "import cycles (break them with a small shared module, or a narrower parameter):\n" + "\n".join(
        "  " + " → ".join(cycle) for cycle in found)


def test_the_checker_sees_a_cycle_and_ignores_lazy_imports():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c", "a"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_module_level_and_type_checking_imports_count_but_function_imports_do_not(tmp_path):
    modules = {"deployproof.x": tmp_path / "x.py", "deployproof.y": tmp_path / "y.py", "deployproof.z": tmp_path / "z.py"}
    source = ("from typing import TYPE_CHECKING\nfrom . import y\nif TYPE_CHECKING:\n    from .z import Z\n"
              "def later():\n    from . import nothing_counted\n")
    modules["deployproof.x"].write_text(source)
    assert imports_of("deployproof.x", modules["deployproof.x"], modules) == {"deployproof.y", "deployproof.z"}
