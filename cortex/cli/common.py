"""What every command shares: JSON output, clear failures, loading the configuration."""

from __future__ import annotations

import json
import sys
from typing import Any, NoReturn

import click

from cortex.config import Config, ConfigError, load_config

json_option = click.option(
    "--json", "as_json", is_flag=True, help="Print one JSON document on stdout and nothing else."
)


def emit_json(data: Any) -> None:
    """Print ``data`` as the command's only stdout output."""
    click.echo(json.dumps(data, indent=2, default=str))


def fail(message: str, code: int = 1) -> NoReturn:
    """Exit with one clear line on stderr: 1 = the user can fix it (the message says how)."""
    click.echo(f"cortex: {message}", err=True)
    sys.exit(code)


def get_config() -> Config:
    try:
        return load_config()
    except ConfigError as e:
        fail(f"configuration error: {e}")
