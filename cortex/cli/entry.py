"""The ``cortex`` console script: route the fast paths before click is imported, then click."""

from __future__ import annotations

import sys

TYPE_CHECKING = False  # every command's path: annotations need nothing imported
if TYPE_CHECKING:
    from collections.abc import Callable


def main() -> None:
    args = sys.argv[1:]
    if args[:2] == ["daemon", "status"] and set(args[2:]) <= {"--json"}:
        from cortex.cli.daemon_status import run

        sys.exit(run("--json" in args))
    if args[:2] == ["llm", "start"] and set(args[2:]) <= {"--json"}:
        from cortex.cli.llm_start import DEFAULT_TIMEOUT
        from cortex.cli.llm_start import run as start

        sys.exit(start(DEFAULT_TIMEOUT, "--json" in args))
    if args[:1] == ["ask"] and args[1:] and not any(arg.startswith("-") for arg in args[1:]):
        from cortex.cli.ask_run import run as ask

        sys.exit(_as_click_would(lambda: ask(" ".join(args[1:]))))
    from cortex.cli.main import cli

    cli(prog_name="cortex")


def _as_click_would(run: Callable[[], int]) -> int:
    """``run``'s exit code, or click's for what it handles: Ctrl-C prints "Aborted!" (1); a closed stdout
    (``cortex ask ... | head -1``) ends quietly (1)."""
    try:
        return run()
    except KeyboardInterrupt:
        print("\nAborted!", file=sys.stderr)
        return 1
    except BrokenPipeError:  # Python flushes stdout at exit: send that to /dev/null (the signal docs' recipe)
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
