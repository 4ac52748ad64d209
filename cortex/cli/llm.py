"""``cortex llm``: the cortex-llm service (llama.cpp's llama-server) for this user."""

from __future__ import annotations

import sys

import click

from cortex.cli.common import emit_json, fail, get_config, json_option
from cortex.cli.llm_start import DEFAULT_TIMEOUT
from cortex.cli.llm_start import run as run_start


@click.group()
def llm() -> None:
    """Start, stop and inspect cortex-llm, the local llama.cpp server (127.0.0.1:8085 by default).

    \b
    The model comes from llm.env (CORTEX_LLM_MODEL_PATH), else [llm] model_path
    in daemon.conf, else the bundled SmolLM2-135M. Logs: ~/.cortex/logs/cortex-llm.log.
    """


@llm.command()
@click.option("--timeout", default=DEFAULT_TIMEOUT, show_default=True, help="Seconds to wait for the model to load.")
@json_option
def start(timeout: float, as_json: bool) -> None:
    """Check the model file, start llama-server in the background (the unit in system mode), wait until ready."""
    sys.exit(run_start(timeout, as_json))


def _stop(as_json: bool, done: str) -> None:
    from cortex.llm_service.supervisor import LlamaServer, ServiceError

    try:
        stopped = LlamaServer(get_config()).unload()
    except ServiceError as e:
        fail(str(e))
    if as_json:
        emit_json({done: stopped})
    else:
        click.echo(f"cortex-llm: {done}" if stopped else "cortex-llm: was not running")


@llm.command()
@json_option
def stop(as_json: bool) -> None:
    """Stop cortex-llm (this user's background llama-server, or the systemd unit in system mode)."""
    _stop(as_json, "stopped")


@llm.command()
@json_option
def status(as_json: bool) -> None:
    """Show whether cortex-llm answers: URL, pid, model, restarts, context, threads, slots and tokens/s."""
    from cortex.llm_service.supervisor import LlamaServer

    st = LlamaServer(get_config()).live_status()
    if as_json:
        emit_json(st)
        return
    click.echo(f"cortex-llm: {st['state']} at {st['url']}")
    if st["model"]:
        click.echo(f"  model:   {st['model']} ({st['model_path']})")
    if st["pid"]:
        click.echo(f"  pid:     {st['pid']}")
    if st["restarts"]:
        click.echo(f"  restarts: {st['restarts']} (llama-server died and was started again; see the log)")
    if st["keeper"] == "gave_up":
        click.echo("  gave up: it kept dying before it was ready; see the log, then 'cortex llm start'")
    if st["state"] == "ready":
        slots = st["slots"]
        tps = f"{st['tokens_per_second']:.1f}" if st["tokens_per_second"] else "- (no request yet)"
        click.echo(f"  context: {st['context']} tokens a slot, threads: {st['threads']}")
        click.echo(f"  slots:   {slots['busy']} busy of {slots['total']}")  # type: ignore[index]
        click.echo(f"  tokens/s: {tps}")
    click.echo(f"  log:     {st['log']}")
    if st["state"] == "down":
        from cortex.hints import start_hint

        click.echo(f"  {start_hint('cortex-llm', get_config().paths.mode)}")


@llm.command()
@click.argument("model")
@click.option("--timeout", default=120.0, show_default=True, help="Seconds to wait for the model to load.")
@json_option
def load(model: str, timeout: float, as_json: bool) -> None:
    """Switch cortex-llm to MODEL (catalog name or GGUF path): check it, rewrite llm.env, restart.

    If the new model does not come up, the previous one is restored and started again.
    """
    from cortex.llm_service.supervisor import LlamaServer, ServiceError
    from cortex.models.store import ModelStoreError, installed_path

    config = get_config()
    try:
        st = LlamaServer(config).load(installed_path(model, config.paths.models_dir), timeout=timeout)
    except (ModelStoreError, ServiceError) as e:
        fail(str(e))
    if as_json:
        emit_json(st.to_dict())
    else:
        click.echo(f"cortex-llm: {st.state} at {st.url} (model {st.model}, pid {st.pid})")


@llm.command()
@json_option
def unload(as_json: bool) -> None:
    """Stop cortex-llm so the model leaves memory (llm.env keeps it for the next start)."""
    _stop(as_json, "unloaded")


@llm.command()
@json_option
def ps(as_json: bool) -> None:
    """Models cortexd keeps loaded for requests that name one: memory, idle time, time left before unloading."""
    from cortex.daemon_client import CortexDaemonClient, DaemonError, socket_for

    try:
        data = CortexDaemonClient(socket_for(get_config())).call("models")
    except DaemonError as e:
        fail(e.message if e.code == "not_running" else f"cortexd: {e.code}: {e.message}")
    if as_json:
        emit_json(data)
        return
    from cortex.monitor.rules import human_bytes

    click.echo(f"default (cortex-llm): {data['default']}")
    if not data["models"]:
        click.echo('no other models loaded; name one per request: {"command": "inference", "params": {"model": ...}}')
    for m in data["models"]:
        click.echo(
            f"{m['model']:<40} {human_bytes(m['rss_bytes']):>10}  idle {m['idle_seconds']:.0f} s"
            f"  unloads in {m['keep_alive_seconds']:.0f} s  {m['url']} pid {m['pid']}"
        )
