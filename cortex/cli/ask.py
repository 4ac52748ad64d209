"""``cortex ask``: a question answered by the local model, grounded in this machine's facts."""

from __future__ import annotations

import sys

import click

from cortex.cli.ask_run import run
from cortex.cli.common import json_option
from cortex.config import PROVIDERS


@click.command()
@click.argument("question", nargs=-1, required=True)
@click.option(
    "--provider", help=f"One of {', '.join(PROVIDERS)}; default: CORTEX_PROVIDER / ~/.cortex/.env, else llama_cpp."
)
@click.option("--model", help="Model name for the provider (display name for llama_cpp).")
@click.option("--max-tokens", type=click.IntRange(1, 4096), default=200, show_default=True)
@click.option(
    "--via-daemon", is_flag=True, help="Send the question through cortexd's queue instead of straight to the model."
)
@json_option
def ask(
    question: tuple[str, ...], provider: str | None, model: str | None, max_tokens: int, via_daemon: bool, as_json: bool
) -> None:
    """Answer QUESTION about this machine or Linux, streaming the answer as it is generated.

    \b
    Facts the question touches (OS, memory, disks, packages and their install
    state, services, man pages) are gathered first and given to the model;
    where they answer the question outright, they lead the answer.

    \b
    How-to questions are answered with commands found in this machine's
    manual pages and Debian's index, each with its source (ss(8)) and,
    when not installed, the package to install; the model only adds a
    sentence. When nothing grounds an answer, it says so.

    \b
    Examples:
      cortex ask "What is nginx?"
      cortex ask "Is nginx installed on this machine?"
      cortex ask "How much memory does this machine have?" --json
      cortex ask "How do I list block devices?"
    """
    sys.exit(run(" ".join(question), provider, model, max_tokens, via_daemon, as_json))
