"""``cortex llm``: the cortex-llm service (llama.cpp's llama-server) for this user."""

from __future__ import annotations

import click

from cortex.cli.common import emit_json, fail, get_config, json_option


@click.group()
def llm() -> None:
    """Start, stop and inspect cortex-llm, the local llama.cpp server (127.0.0.1:8085 by default).

    \b
    The model comes from llm.env (CORTEX_LLM_MODEL_PATH), else [llm] model_path
    in daemon.conf, else the bundled SmolLM2-135M. Logs: ~/.cortex/logs/cortex-llm.log.
    """


@llm.command()
@click.option("--timeout", default=120.0, show_default=True, help="Seconds to wait for the model to load.")
@json_option
def start(timeout: float, as_json: bool) -> None:
    """Check the model file, start llama-server in the background and wait until it is ready."""
    from cortex.llm_service.server import ServiceError
    from cortex.llm_service.server import start as start_service

    config = get_config()
    try:
        st = start_service(config, timeout=timeout)
    except ServiceError as e:
        fail(str(e))
    if as_json:
        emit_json(st.to_dict())
    else:
        click.echo(f"cortex-llm: {st.state} at {st.url} (model {st.model}, pid {st.pid})")


@llm.command()
@json_option
def stop(as_json: bool) -> None:
    """Stop this user's background llama-server."""
    from cortex.llm_service.server import ServiceError
    from cortex.llm_service.server import stop as stop_service

    try:
        stopped = stop_service(get_config())
    except ServiceError as e:
        fail(str(e))
    if as_json:
        emit_json({"stopped": stopped})
    else:
        click.echo("cortex-llm: stopped" if stopped else "cortex-llm: was not running")


@llm.command()
@json_option
def status(as_json: bool) -> None:
    """Show whether cortex-llm answers, its URL, pid and model."""
    from cortex.llm_service.server import status as service_status

    st = service_status(get_config())
    if as_json:
        emit_json(st.to_dict())
        return
    click.echo(f"cortex-llm: {st.state} at {st.url}")
    if st.model:
        click.echo(f"  model: {st.model}")
    if st.pid:
        click.echo(f"  pid:   {st.pid}")
    click.echo(f"  log:   {st.log_file}")
    if st.state == "down":
        click.echo("  start it with: cortex up (or cortex llm start)")
