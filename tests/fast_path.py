"""What a fresh interpreter imports to run one command: the fast-path tests pin imports, not times.

A command's wait is mostly its imports on a 2-core machine, and a time assert would be noise, so these tests
run the command in a new interpreter, record ``sys.modules`` at exit, and compare with the modules a bare
interpreter already has (a sitecustomize's, say, are not the command's doing).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

# argv: the file to write sys.modules to at exit, then the command's arguments.
RECORD = """
import atexit, sys
out = sys.argv[1]
atexit.register(lambda: open(out, "w").write("\\n".join(sys.modules)))
"""


def command(*words: str) -> str:
    """Code that runs ``cortex WORDS... ARGS...`` through the entry point a user's ``cortex`` script calls."""
    return (
        RECORD + f"sys.argv = ['cortex', *{list(words)!r}, *sys.argv[2:]]\nfrom cortex.cli.entry import main\nmain()\n"
    )


def run(
    code: str, args: list[str], env: dict[str, str], out: Path, timeout: float = 60
) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    """Run ``code`` in a fresh interpreter; return it and the modules it had at exit."""
    argv = [sys.executable, "-c", code, str(out), *args]
    proc = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=timeout)
    return proc, set(out.read_text().splitlines())


def loaded(modules: set[str], heavy: set[str], env: dict[str, str], tmp_path: Path) -> set[str]:
    """Which of ``heavy`` the command loaded that a bare interpreter does not."""
    _, bare = run(RECORD, [], env, tmp_path / "bare")
    return (modules - bare) & heavy
