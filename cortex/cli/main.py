"""The ``cortex`` click group, whose subcommands load on first use.

Each subcommand lives in its own module under ``cortex.cli`` and is imported
only when named, so ``cortex daemon status`` never pays for the LLM or the
package index.
"""

from __future__ import annotations

import importlib

import click

from cortex import __version__

# name -> "module:attribute" of a click command; one row a subcommand.
COMMANDS: dict[str, str] = {
    "ask": "cortex.cli.ask:ask",
    "install": "cortex.cli.install:install",
    "validate": "cortex.cli.validate:validate",
    "history": "cortex.cli.install:history",
    "rollback": "cortex.cli.install:rollback",
    "up": "cortex.cli.up:up",
    "down": "cortex.cli.up:down",
    "daemon": "cortex.cli.daemon:daemon",
    "llm": "cortex.cli.llm:llm",
    "model": "cortex.cli.model:model",
    "setup": "cortex.cli.setup:setup",
    "config": "cortex.cli.config:config",
    "top": "cortex.cli.top:top",
    "prompts": "cortex.cli.prompts:prompts",
}


class LazyGroup(click.Group):
    """A group that imports a subcommand's module only when that subcommand runs."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module, attr = target.split(":")
        return getattr(importlib.import_module(module), attr)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="cortex")
def cli() -> None:
    """Cortex: ask your machine, plan package installs safely, and watch it with cortexd.

    \b
    First steps:
      cortex up                      start cortex-llm and cortexd for this user
      cortex ask "What is nginx?"    answer from the local model, grounded in this machine
      cortex install nginx --dry-run a checked plan, simulated by apt
      cortex daemon status           is the daemon up, which model is loaded
    """
