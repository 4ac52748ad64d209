"""bashlex's parse tables kept as data: the same tables bashlex builds, used only when they are its grammar's."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from cortex.safety import bashlex_tables


def test_the_kept_tables_are_the_ones_bashlex_builds(tmp_path: Path) -> None:
    fresh = tmp_path / "tables.json"
    bashlex_tables.write(fresh)  # the slow way, from the installed bashlex's grammar
    assert json.loads(fresh.read_text()) == json.loads(bashlex_tables.TABLES.read_text()), (
        "bashlex changed: run python -m cortex.safety.bashlex_tables"
    )


CHECK = """
import sys
from pathlib import Path
from cortex.safety import bashlex_tables
bashlex = bashlex_tables.load(Path(sys.argv[1]))
import bashlex.yacc
print(bashlex.yacc.LRTable.__name__, 'bashlex.parser' in sys.modules)
print([n.kind for n in bashlex.parse('for f in *.log; do gzip "$f"; done && echo $(date) | tee x')])
"""


def test_a_new_process_parses_with_the_kept_tables_and_leaves_bashlex_as_it_was() -> None:
    out = subprocess.run(
        [sys.executable, "-c", CHECK, str(bashlex_tables.TABLES)], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    assert out[0] == "LRTable True"  # the finder and the swapped class are gone after the import
    assert out[1] == "['list']"


def test_tables_of_another_grammar_are_not_used(tmp_path: Path) -> None:
    other = json.loads(bashlex_tables.TABLES.read_text())
    other["signature"] = "0" * 64
    other["action"] = {"0": {}}  # would break every parse if it were used
    stale = tmp_path / "stale.json"
    stale.write_text(json.dumps(other))
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    for path in (stale, broken, tmp_path / "missing.json"):
        out = subprocess.run([sys.executable, "-c", CHECK, str(path)], capture_output=True, text=True, check=True)
        assert out.stdout.splitlines()[1] == "['list']", path
