"""``cortex daemon ...``: start, stop and talk to cortexd.

Thin: every command is one client call plus formatting. ``status`` is on the
fast path (<= 60 ms wall), so nothing here imports rich, httpx or psutil.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from cortex.cli.common import emit_json, fail, get_config, json_option


def _client() -> Any:
    from cortex.daemon_client import CortexDaemonClient, socket_for

    return CortexDaemonClient(socket_for(get_config()))


def _call(method: Callable[[], Any]) -> Any:
    from cortex.daemon_client import DaemonError

    try:
        return method()
    except DaemonError as e:
        fail(e.message if e.code == "not_running" else f"cortexd: {e.code}: {e.message}")


@click.group()
def daemon() -> None:
    """Start, stop and query cortexd, the always-on daemon."""


@daemon.command()
def start() -> None:
    """Start cortexd in the background for this run mode."""
    from cortex.daemon.control import ControlError, read_pid, start_background

    config = get_config()
    if (pid := read_pid(config)) is not None:
        click.echo(f"cortexd is already running (pid {pid}) on {config.socket_path}")
        return
    try:
        pid = start_background(config)
    except ControlError as e:
        fail(str(e))
    click.echo(f"cortexd started (pid {pid}) on {config.socket_path}")


@daemon.command()
def stop() -> None:
    """Stop the background cortexd (SIGTERM; in-flight requests finish first)."""
    from cortex.daemon.control import ControlError, stop_background

    config = get_config()
    if config.paths.mode == "system" and os.path.isdir("/run/systemd/system"):
        fail("cortexd runs under systemd here; use 'systemctl stop cortexd'")
    try:
        pid = stop_background(config)
    except ControlError as e:
        fail(str(e))
    click.echo(f"cortexd (pid {pid}) stopped" if pid else "cortexd is not running")


@daemon.command()
@json_option
def status(as_json: bool) -> None:
    """Is cortexd up, which model cortex-llm serves, open alerts, queue depth."""
    from cortex.cli.daemon_status import run

    sys.exit(run(as_json))


@daemon.command()
@json_option
def health(as_json: bool) -> None:
    """CPU, memory, disks, failed units and updates, as cortexd sees them, coloured against the thresholds."""
    data = _call(lambda: _client().health())
    if as_json:
        emit_json(data)
        return
    from cortex.cli.render import render_health

    render_health(data)


@daemon.command()
@click.option("--severity", help="only this severity (info, warning, error, critical)")
@click.option("--category", help="only this category (cpu, memory, disk, services, updates, llm)")
@click.option("--status", "status_", help="only this status (open, pending, firing, resolved, dismissed, acknowledged)")
@click.option("--all", "show_all", is_flag=True, help="also resolved and dismissed alerts")
@click.option("--limit", type=click.IntRange(1, 10000), default=100, show_default=True)
@click.option("--ack", "ack_id", type=int, metavar="ID", help="acknowledge alert ID (it stops repeating)")
@click.option("--ack-all", is_flag=True, help="acknowledge every open alert")
@click.option("--dismiss", "dismiss_id", type=int, metavar="ID", help="dismiss alert ID (hidden until it comes back)")
@click.option("--dismiss-all", is_flag=True, help="dismiss every open alert (root or the daemon's user)")
@json_option
def alerts(
    severity: str | None,
    category: str | None,
    status_: str | None,
    show_all: bool,
    limit: int,
    ack_id: int | None,
    ack_all: bool,
    dismiss_id: int | None,
    dismiss_all: bool,
    as_json: bool,
) -> None:
    """Alerts cortexd has raised; --ack and --dismiss change them."""
    actions = [a for a in (ack_id is not None, ack_all, dismiss_id is not None, dismiss_all) if a]
    if len(actions) > 1:
        fail("give one of --ack ID, --ack-all, --dismiss ID, --dismiss-all", code=2)
    if show_all and status_:
        fail("--all and --status cannot be combined", code=2)
    if actions:
        client = _client()
        if ack_id is not None or ack_all:
            data = _call(lambda: client.acknowledge_alert(ack_id, all=ack_all))
            verb = "acknowledged"
        else:
            data = _call(lambda: client.dismiss_alert(dismiss_id, all=dismiss_all))
            verb = "dismissed"
        if as_json:
            emit_json(data)
        else:
            n = data.get("changed", 0)
            click.echo(f"{verb} {n} alert{'' if n == 1 else 's'}")
        return
    filters = {"severity": severity, "category": category, "status": "all" if show_all else status_}
    data = _call(lambda: _client().alerts(limit=limit, **{k: v for k, v in filters.items() if v}))
    if as_json:
        emit_json(data)
        return
    from cortex.cli.render import render_alerts

    render_alerts(data)


@daemon.command("reload-config")
@json_option
def reload_config(as_json: bool) -> None:
    """Re-read daemon.conf; an invalid file is rejected and the old configuration stays."""
    data = _call(lambda: _client().reload_config())
    if as_json:
        emit_json(data)
        return
    click.echo("configuration reloaded; changed: " + (", ".join(data["changed"]) or "nothing"))
    if "llm" in data:
        click.echo(f"cortex-llm: {data['llm']['message']}")


@daemon.command()
def shutdown() -> None:
    """Ask cortexd to shut down over IPC (works however it was started)."""
    _call(lambda: _client().shutdown())
    click.echo("cortexd is shutting down")


def _installer() -> Path:
    script = Path(__file__).resolve().parents[2] / "scripts" / "install.sh"
    if not script.is_file():
        fail(f"{script} is missing; run the installer from a Cortex checkout")
    return script


@daemon.command()
def install() -> None:
    """Install the systemd units (system mode; needs root)."""
    import subprocess

    sys.exit(subprocess.call(["sh", str(_installer()), "install"]))


@daemon.command()
def uninstall() -> None:
    """Remove the systemd units; configuration and state are kept."""
    import subprocess

    sys.exit(subprocess.call(["sh", str(_installer()), "uninstall"]))


@daemon.command()
@click.option("-n", "--lines", default=50, show_default=True, help="how many lines from the end")
@click.option("-f", "--follow", is_flag=True, help="keep printing new lines")
def logs(lines: int, follow: bool) -> None:
    """Show cortexd's log (the journal under systemd, the log file in user mode)."""
    import subprocess

    config = get_config()
    if config.paths.mode == "system" and os.path.isdir("/run/systemd/system"):
        argv = ["journalctl", "-u", "cortexd", "-n", str(lines), *(["-f"] if follow else [])]
    else:
        log_file = config.paths.log_file("cortexd")
        if not log_file.exists():
            fail(f"no log yet at {log_file}; start cortexd with 'cortex daemon start'")
        argv = ["tail", "-n", str(lines), *(["-F"] if follow else []), str(log_file)]
    sys.exit(subprocess.call(argv))
