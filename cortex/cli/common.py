"""What every command shares: JSON output, clear failures, loading the configuration."""

from __future__ import annotations

import json
import math
import sys
from typing import Any, NoReturn

import click

from cortex.config import Config, ConfigError, load_config
from cortex.redact import redact
from cortex.terminal import printable

json_option = click.option(
    "--json", "as_json", is_flag=True, help="Print one JSON document on stdout and nothing else."
)


class FiniteFloatRange(click.FloatRange):
    """click's FloatRange, without NaN: every comparison with NaN is false, so it passes any range."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a number from {self.min:g} to {self.max:g}", param, ctx)
        return number


def emit_json(data: Any) -> None:
    """Print ``data`` as the command's only stdout output."""
    click.echo(json.dumps(data, indent=2, default=str))


def fail(message: str, code: int = 1) -> NoReturn:
    """Exit with one clear line on stderr: 1 = the user can fix it (the message says how).

    Every error the CLI prints leaves here: known secrets are stripped (a provider may echo the key in its
    error) and so are terminal controls (errors quote requests, files and answers)."""
    click.echo(f"cortex: {printable(redact(message))}", err=True)
    sys.exit(code)


def get_config() -> Config:
    try:
        return load_config()
    except ConfigError as e:
        fail(f"configuration error: {e}")
