"""``cortex config``: the effective configuration, where each value came from, and changing it."""

from __future__ import annotations

import click

from cortex.cli.common import emit_json, fail, get_config, json_option
from cortex.config import KEY_BY_NAME, KEYS, ConfigError, config_set
from cortex.terminal import printable


@click.group()
def config() -> None:
    """Show, read and change Cortex's configuration.

    \b
    Keys are SECTION.NAME: daemon.conf sections ([daemon], [monitor],
    [thresholds], [alerts], [llm], [metrics]), 'service.*' (llm.env, read by
    cortex-llm) and 'provider.*' (~/.cortex/.env, read by the CLI).
    Environment variables win over files; 'show' says which source won.
    """


@config.command()
@click.option("--secrets", is_flag=True, help="Show API keys instead of ***.")
@json_option
def show(secrets: bool, as_json: bool) -> None:
    """Every key with its value and the file or variable it came from."""
    cfg = get_config()
    values = cfg.as_dict(redact=not secrets)
    if as_json:
        emit_json(values)
        return
    width = max(len(k.name) for k in KEYS)
    section = ""
    for key in KEYS:
        if key.section != section:
            section = key.section
            click.echo(click.style(f"[{section}]", bold=True))
        v = values[key.name]
        value = printable(str(v["value"]))
        click.echo(f"  {key.name:<{width}}  {value:<28} {click.style(printable(v['source']), dim=True)}")
    click.echo(f"files read: {', '.join(map(str, cfg.files)) or 'none'}")


@config.command()
@click.argument("key")
@json_option
def get(key: str, as_json: bool) -> None:
    """Print one value (for scripts: 'cortex config get llm.n_ctx')."""
    if key not in KEY_BY_NAME:
        fail(f"unknown key {key!r}; 'cortex config show' lists the keys", 2)
    entry = get_config().as_dict()[key]
    if as_json:
        emit_json({"key": key, **entry})
    else:
        click.echo(printable(str(entry["value"])))


@config.command(name="set", context_settings={"ignore_unknown_options": True})  # VALUE may be -1 or -inf
@click.argument("key")
@click.argument("value")
def set_(key: str, value: str) -> None:
    """Write KEY=VALUE to the user's file for that key (other lines and comments are kept).

    \b
    Examples:
      cortex config set llm.n_ctx 2048          (~/.cortex/daemon.conf)
      cortex config set service.port 8090       (~/.cortex/llm.env)
      cortex config set provider.name ollama    (~/.cortex/.env)
    A running cortexd picks daemon.conf changes up with 'cortex daemon reload-config'.
    Client URLs that pointed at llama-server's old port follow a new service.port.
    API keys are written but not shown.
    """
    try:
        written, notes = config_set(key, value)
    except ConfigError as e:
        fail(str(e))
    for n, (name, new, path) in enumerate(written):
        shown = "***" if KEY_BY_NAME[name].secret else printable(new)
        follows = f"follows {key}; " if n else ""
        click.echo(f"{name} = {shown}  ({follows}written to {path})")
    for note in notes:
        click.echo(f"note: {note}; change it there too", err=True)
