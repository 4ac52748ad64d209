"""bashlex without its quarter-second start: the bash grammar's parse tables, built once and kept as data.

bashlex's bundled yacc builds the LALR tables of its grammar on every import
(it never reads the ``parsetab.py`` it ships): about 0.2-0.3 s of pure CPU in
every process that validates a command, which is most of a plan's time and
delays a how-to answer's first line. The tables are a function of the grammar
alone, so ``data/bashlex_tables.json`` keeps them with the grammar's
signature; :func:`load` hands them to bashlex's yacc instead of building them.
Another bashlex (a different grammar, so another signature) builds its tables
as before, just slower.

    python -m cortex.safety.bashlex_tables     rewrite the data file for the installed bashlex
"""

from __future__ import annotations

import hashlib
import importlib.abc
import importlib.machinery
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

TABLES = Path(__file__).parent / "data" / "bashlex_tables.json"


def signature(grammar: Any) -> str:
    """What the tables depend on: the productions, in order, and the precedence rules."""
    text = "\n".join(str(p) for p in grammar.Productions) + "\n" + repr(sorted(grammar.Precedence.items()))
    return hashlib.sha256(text.encode()).hexdigest()


def _saved(path: Path, wanted: str) -> tuple[dict[int, dict[str, int]], dict[int, dict[str, int]]] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("signature") != wanted:
        return None
    return (
        {int(state): dict(row) for state, row in data["action"].items()},
        {int(state): dict(row) for state, row in data["goto"].items()},
    )


def load(path: Path = TABLES) -> ModuleType:
    """``bashlex``, imported with the kept tables when they are its grammar's. Its package imports its parser,
    which builds the tables, so the swap happens as ``bashlex.yacc`` is loaded, by a finder that lives only
    for this import."""
    if "bashlex" in sys.modules:
        import bashlex

        return bashlex
    finder = _KeptTables(path)
    sys.meta_path.insert(0, finder)
    try:
        import bashlex
    finally:
        sys.meta_path.remove(finder)
        if finder.yacc is not None:
            finder.yacc.LRTable = finder.built
    return bashlex


class _KeptTables(importlib.abc.MetaPathFinder):
    """Loads ``bashlex.yacc`` as usual, then gives it an ``LRTable`` that takes the kept tables."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.yacc: ModuleType | None = None
        self.built: Any = None

    def find_spec(self, name: str, path: Any, target: Any = None) -> importlib.machinery.ModuleSpec | None:
        if name != "bashlex.yacc":
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is None or spec.loader is None:
            return None
        execute = spec.loader.exec_module

        def exec_module(module: ModuleType) -> None:
            execute(module)
            self.yacc, self.built = module, module.LRTable
            module.LRTable = _kept(module, self.path)

        spec.loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec


def _kept(yacc: ModuleType, path: Path) -> type:
    built = yacc.LRTable

    class Kept(built):  # type: ignore[misc, valid-type]
        def __init__(self, grammar: Any, log: Any = None) -> None:
            tables = _saved(path, signature(grammar))
            if tables is None:
                super().__init__(grammar, log)
                return
            self.grammar, self.log = grammar, log or yacc.NullLogger()
            self.lr_productions = grammar.Productions
            self.lr_action, self.lr_goto = tables
            self.sr_conflicts, self.rr_conflicts = [], []

    return Kept


def write(path: Path = TABLES) -> str:
    """Build the installed bashlex's tables the slow way and keep them; returns their signature."""
    import bashlex.parser
    import bashlex.yacc as yacc

    made: list[Any] = []
    built = yacc.LRTable

    class Watch(built):  # type: ignore[misc, valid-type]
        def __init__(self, grammar: Any, log: Any = None) -> None:
            super().__init__(grammar, log)
            made.append(self)

    yacc.LRTable = Watch
    try:
        yacc.yacc(module=bashlex.parser, debug=False, write_tables=False)
    finally:
        yacc.LRTable = built
    table = made[0]
    tables = {
        "signature": signature(table.grammar),
        "action": {str(state): row for state, row in table.lr_action.items()},
        "goto": {str(state): row for state, row in table.lr_goto.items()},
    }
    path.write_text(json.dumps(tables, sort_keys=True, separators=(",", ":")) + "\n", encoding="utf-8")
    return tables["signature"]


if __name__ == "__main__":
    print(f"bashlex tables {write()[:16]} written to {TABLES}")
