"""What every command shares: JSON output, clear failures, loading the configuration."""

from __future__ import annotations

import math
import sys
from typing import Any, NoReturn

import click

from cortex.cli.output import failure, print_json
from cortex.config import Config, ConfigError, load_config

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


emit_json = print_json  # the click commands' name for it


def fail(message: str, code: int = 1) -> NoReturn:
    """Exit with one clear line on stderr (:func:`cortex.cli.output.failure`)."""
    sys.exit(failure(message, code))


def get_config() -> Config:
    try:
        return load_config()
    except ConfigError as e:
        fail(f"configuration error: {e}")
