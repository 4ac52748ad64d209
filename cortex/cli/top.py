"""``cortex top``: the live dashboard (logic in ``cortex.cli.dashboard``)."""

from __future__ import annotations

import contextlib

import click

from cortex.cli.common import FiniteFloatRange, emit_json, fail, get_config, json_option


@click.command()
@click.option(
    "--interval", default=2.0, show_default=True, type=FiniteFloatRange(0.2, 3600), help="Seconds between refreshes."
)
@json_option
def top(interval: float, as_json: bool) -> None:
    """Live view of CPU, memory and disk, firing alerts and cortex-llm, from cortexd. q quits."""
    from cortex.cli.dashboard import fetch, run
    from cortex.daemon_client import CortexDaemonClient, socket_for

    client = CortexDaemonClient(socket_for(get_config()), timeout=10.0)
    first = fetch(client)
    if first.error:
        fail(first.error)
    if as_json:
        emit_json({"status": first.status, "health": first.health, "alerts": first.alerts})
        return
    with contextlib.suppress(KeyboardInterrupt):
        run(client, interval)
