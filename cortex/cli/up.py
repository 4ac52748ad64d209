"""``cortex up`` / ``cortex down``: everything a user needs, started or stopped in user mode."""

from __future__ import annotations

import click

from cortex.cli.common import emit_json, fail, get_config, json_option


@click.command()
@click.option("--timeout", default=120.0, show_default=True, help="Seconds to wait for the model to load.")
@json_option
def up(timeout: float, as_json: bool) -> None:
    """Start cortex-llm (llama-server with the configured model) and cortexd for this user.

    Idempotent: what already runs is left as it is. Files live under ~/.cortex
    (or $CORTEX_HOME); logs in its logs/ folder.
    """
    from cortex.daemon import control
    from cortex.llm_service.supervisor import LlamaServer, ServiceError

    config = get_config()
    result: dict[str, object] = {}
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
    click.echo(f"cortex-llm: {st.state} at {st.url} (model {st.model}, pid {st.pid})")
    click.echo(f"cortexd: running on {config.socket_path}")


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
