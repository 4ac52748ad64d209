"""No import loop between cortex's folders: each layer may import only the ones below it (docs/ARCHITECTURE.md).

A node is a folder under ``cortex/`` or a top-level module (``config``, ``paths``...). Every import counts,
lazy ones inside functions too, except those under ``if TYPE_CHECKING:`` (never run).
"""

from __future__ import annotations

import ast
import itertools
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / "cortex"


def _node(module: str) -> str | None:
    """The folder or top-level module of ``cortex.X.Y`` (``X``), or None outside cortex."""
    parts = module.split(".")
    if parts[0] != "cortex" or len(parts) < 2:
        return None
    exists = (ROOT / parts[1]).is_dir() or (ROOT / f"{parts[1]}.py").exists()
    return parts[1] if exists else None  # cortex.__version__ is cortex/__init__.py, no node


def _imports(path: Path) -> list[tuple[str, int]]:
    """The absolute module names ``path`` imports, with line numbers, skipping TYPE_CHECKING blocks."""
    module = ".".join(path.relative_to(ROOT.parent).with_suffix("").parts).removesuffix(".__init__")
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    tree = ast.parse(path.read_text())
    skipped = {
        id(inner)
        for n in ast.walk(tree)
        if isinstance(n, ast.If) and "TYPE_CHECKING" in ast.unparse(n.test)
        for stmt in n.body
        for inner in ast.walk(stmt)
    }
    found = []
    for n in ast.walk(tree):
        if id(n) in skipped:
            continue
        if isinstance(n, ast.Import):
            found += [(a.name, n.lineno) for a in n.names]
        elif isinstance(n, ast.ImportFrom):
            base = package.split(".")[: len(package.split(".")) - n.level + 1] if n.level else []
            target = ".".join(base + ([n.module] if n.module else []))
            if target == "cortex":  # from cortex import X: X is the node
                found += [(f"cortex.{a.name}", n.lineno) for a in n.names]
            else:
                found.append((target, n.lineno))
    return found


def import_graph() -> dict[str, dict[str, str]]:
    """node -> {imported node: "file:line" of one such import}."""
    graph: dict[str, dict[str, str]] = {}
    for path in sorted(ROOT.rglob("*.py")):
        source = _node(".".join(path.relative_to(ROOT.parent).with_suffix("").parts))
        if source is None:
            continue
        for target, line in _imports(path):
            node = _node(target)
            if node and node != source:
                graph.setdefault(source, {}).setdefault(node, f"{path.relative_to(ROOT.parent)}:{line}")
    return graph


def find_cycle(graph: dict[str, dict[str, str]]) -> list[str]:
    """One cycle as [a, b, ..., a], or [] (depth-first search with a path stack)."""
    done: set[str] = set()

    def visit(node: str, stack: list[str]) -> list[str]:
        if node in stack:
            return [*stack[stack.index(node) :], node]
        if node in done:
            return []
        for nxt in sorted(graph.get(node, {})):
            if cycle := visit(nxt, [*stack, node]):
                return cycle
        done.add(node)
        return []

    for start in sorted(graph):
        if cycle := visit(start, []):
            return cycle
    return []


def test_no_import_cycle_between_folders() -> None:
    graph = import_graph()
    cycle = find_cycle(graph)
    where = [f"{a} -> {b} ({graph[a][b]})" for a, b in itertools.pairwise(cycle)]
    assert not cycle, "import loop between folders:\n" + "\n".join(where)


def test_the_walk_sees_lazy_imports_and_loops() -> None:
    graph = import_graph()
    assert "daemon_client" in graph["providers"]  # providers/daemon.py imports the client inside a method
    assert find_cycle({"a": {"b": ""}, "b": {"c": ""}, "c": {"a": ""}}) == ["a", "b", "c", "a"]
