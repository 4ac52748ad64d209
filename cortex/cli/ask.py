"""``cortex ask``: a question answered by the local model, grounded in this machine's facts."""

from __future__ import annotations

import sys

import click

from cortex.cli.common import emit_json, fail, get_config, json_option
from cortex.config import PROVIDERS
from cortex.terminal import printable


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
    from cortex.ask.answer import answer
    from cortex.providers import ProviderError, get_provider

    text = " ".join(question).strip()
    if not text:
        fail('ask needs a question, e.g. cortex ask "What is nginx?"', 2)
    config = get_config()
    if via_daemon and provider:
        fail("--via-daemon uses cortexd's model; drop --provider", 2)
    try:
        if via_daemon:
            from cortex.providers.daemon import DaemonProvider

            backend = DaemonProvider(config.socket_path, timeout=config["llm.timeout"] + 10)
        else:
            backend = get_provider(provider, config, model=model)
        result = answer(text, config, backend, max_tokens=max_tokens)
        if as_json:
            emit_json(result.to_dict())
            return
        if result.lead:
            sys.stdout.write(printable(result.lead))
            sys.stdout.flush()
        for n, chunk in enumerate(result.response):  # the model may write escapes, or repeat the question's
            chunk = printable(chunk)
            sys.stdout.write(" " + chunk if n == 0 and result.lead else chunk)
            sys.stdout.flush()
        click.echo()
    except ProviderError as e:
        fail(str(e))
