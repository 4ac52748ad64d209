"""The ``cortex`` console script: route the fast path before click is imported, then click."""

from __future__ import annotations

import sys


def main() -> None:
    args = sys.argv[1:]
    if args[:2] == ["daemon", "status"] and set(args[2:]) <= {"--json"}:
        from cortex.cli.daemon_status import run

        sys.exit(run("--json" in args))
    if args[:2] == ["llm", "start"] and set(args[2:]) <= {"--json"}:
        from cortex.cli.llm_start import DEFAULT_TIMEOUT
        from cortex.cli.llm_start import run as start

        sys.exit(start(DEFAULT_TIMEOUT, "--json" in args))
    from cortex.cli.main import cli

    cli(prog_name="cortex")
