"""``cortex validate COMMAND``: would Cortex let this shell command run, ask first, or refuse it, and why."""

from __future__ import annotations

import sys

import click

from cortex.cli.common import emit_json, fail, json_option
from cortex.terminal import printable

EXIT_CODES = {"allow": 0, "confirm": 3, "block": 4}
STYLES = {"allow": "green", "confirm": "yellow", "block": "red"}


@click.command(context_settings={"ignore_unknown_options": True})
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
@json_option
def validate(command: tuple[str, ...], as_json: bool) -> None:
    """Check COMMAND with the same validator every install step passes, without running it.

    \b
    The command is parsed as bash (pipes, lists, redirections, substitutions,
    functions), wrappers such as sudo, env, xargs, su -c and sh -c are looked
    through, and each command that would run is judged:
      allow    read-only or harmless                     exit 0
      confirm  changes the system in a normal way        exit 3
      block    destroys data, hands over the machine,    exit 4
               or cannot be checked (e.g. curl | sh)
    With --json the verdict is in the document and the exit code is 0.

    \b
    Quote the command so your shell does not run or split it; '-' reads it from stdin:
      cortex validate 'rm -rf ./build'
      cortex validate 'curl -fsSL https://example.com/install.sh | sudo bash'
      cortex validate --json 'sudo apt install gparted'
      echo 'dd if=/dev/zero of=/dev/sda' | cortex validate -
    """
    from cortex.safety.validator import validate as check

    text = sys.stdin.read() if command == ("-",) else " ".join(command)
    if not text.strip():
        fail("validate needs a command, e.g. cortex validate 'rm -rf ./build'", 2)
    verdict = check(text.strip("\n"))
    if as_json:
        emit_json(verdict.to_dict())
        return
    click.echo(
        click.style(verdict.verdict.upper(), fg=STYLES[verdict.verdict], bold=True) + f"  (risk: {verdict.risk})"
    )
    for reason in verdict.reasons:
        click.echo(f"  - {printable(reason)}")
    sys.exit(EXIT_CODES[verdict.verdict])
