"""``cortex up`` / ``cortex down``: everything a user needs, started or stopped in user mode."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from cortex.cli.common import emit_json, fail, get_config, json_option
from cortex.config import Config


@click.command()
@click.option("--timeout", default=120.0, show_default=True, help="Seconds to wait for the model to load.")
@click.option("--yes", "-y", is_flag=True, help="Download the configured model if it is missing, without asking.")
@json_option
def up(timeout: float, yes: bool, as_json: bool) -> None:
    """Start cortex-llm (llama-server with the configured model) and cortexd for this user.

    Idempotent: what already runs is left as it is. Files live under ~/.cortex
    (or $CORTEX_HOME); logs in its logs/ folder. In a new home the bundled model
    is not there yet: up offers to pull it (--yes pulls without asking).
    """
    from cortex.daemon import control
    from cortex.llm_service.supervisor import LlamaServer, ServiceError

    config = get_config()
    result: dict[str, object] = {}
    pulled = _pull_missing_model(config, yes, as_json)
    if pulled is not None:
        result["pulled"] = str(pulled)
    try:
        st = LlamaServer(config).start(timeout)
    except ServiceError as e:
        fail(f"cortex-llm: {e}")
    result["llm"] = st.to_dict()
    try:
        result["daemon"] = {"pid": control.read_pid(config) or control.start_background(config)}
    except control.ControlError as e:
        fail(f"cortexd: {e}")
    if as_json:
        emit_json(result)
        return
    if pulled is not None:
        click.echo(f"model: {pulled} ({pulled.stat().st_size / 10**6:.0f} MB)")
    click.echo(f"cortex-llm: {st.state} at {st.url} (model {st.model}, pid {st.pid})")
    click.echo(f"cortexd: running on {config.socket_path}")


def _pull_missing_model(config: Config, yes: bool, as_json: bool) -> Path | None:
    """Pull the configured catalog model when its file is missing, after asking (or with --yes); else fail."""
    from cortex.models.download import DownloadError, pull
    from cortex.models.progress import bar
    from cortex.models.store import missing_catalog_model

    entry = missing_catalog_model(config.model_path, config.paths.models_dir)
    if entry is None:
        return None  # there, or not a catalog file: LlamaServer's checks say what is wrong
    command = f"cortex model pull {entry.name}"
    if not yes:
        if as_json or not sys.stdin.isatty():
            fail(f"the model {entry.name} is not installed; run '{command}' (or 'cortex up --yes')")
        asked = f"The model {entry.name} ({entry.size_bytes / 10**6:,.0f} MB) is not installed. Run '{command}' now?"
        if not click.confirm(asked, default=True, err=True):
            fail(f"no model to start; run '{command}', or choose another with 'cortex model use'")
    try:
        with bar(entry.name, enabled=not as_json) as progress:
            return pull(entry.name, config.paths.models_dir, progress)
    except DownloadError as e:
        fail(str(e))


@click.command()
@json_option
def down(as_json: bool) -> None:
    """Stop cortexd and cortex-llm for this user."""
    from cortex.daemon import control
    from cortex.llm_service.supervisor import LlamaServer, ServiceError

    config = get_config()
    result: dict[str, object] = {}
    try:
        result["daemon"] = control.stop_background(config)
    except control.ControlError as e:
        fail(f"cortexd: {e}")
    try:
        result["llm"] = LlamaServer(config).stop()
    except ServiceError as e:
        fail(f"cortex-llm: {e}")
    if as_json:
        emit_json(result)
    else:
        click.echo("cortex: stopped" if any(result.values()) else "cortex: nothing was running")
