"""``cortex setup``: the interactive wizard (also ``python scripts/setup_daemon.py``)."""

from __future__ import annotations

import click

from cortex.cli.common import fail, get_config
from cortex.setup.changes import BACKENDS


@click.command()
@click.option("--backend", type=click.Choice(list(BACKENDS)), help="LLM backend.")
@click.option("--model", help="llama_cpp: catalog name, file or GGUF path; others: the model's name.")
@click.option("--threads", type=int, help="llama.cpp inference threads.")
@click.option("--ctx", type=int, help="llama.cpp context size in tokens.")
@click.option("--url", help="Base URL for ollama and openai.")
@click.option("--yes", "-y", is_flag=True, help="Ask nothing: unanswered questions take their defaults.")
@click.option("--dry-run", is_flag=True, help="Show what would change; download, write and start nothing.")
@click.option("--no-test", is_flag=True, help="Skip the test question at the end.")
def setup(
    backend: str | None,
    model: str | None,
    threads: int | None,
    ctx: int | None,
    url: str | None,
    yes: bool,
    dry_run: bool,
    no_test: bool,
) -> None:
    """Choose the LLM backend and model, write llm.env, daemon.conf and .env, start the services, test an ask.

    \b
    Run it again at any time: the current settings are the defaults, and only
    what you change is written. Unattended:
      cortex setup --backend llama_cpp --model smollm2-135m --threads 2 --ctx 2048 --yes
    """
    from cortex.setup.wizard import Options, SetupError, Wizard

    options = Options(backend, model, threads, ctx, url, yes, dry_run, not no_test)
    try:
        code = Wizard(get_config(), options).run()
    except SetupError as e:
        fail(str(e))
    except (KeyboardInterrupt, EOFError):
        fail("setup interrupted; nothing more was written", 1)
    raise SystemExit(code)
