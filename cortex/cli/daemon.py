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
    from cortex.daemon_client import CortexDaemonClient

    return CortexDaemonClient(get_config().socket_path)


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


def _pairs(rows: list[tuple[str, Any]]) -> None:
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        click.echo(f"{key:<{width}}  {value}")


@daemon.command()
@json_option
def status(as_json: bool) -> None:
    """Is cortexd up, which model cortex-llm serves, open alerts, queue depth."""
    data = _call(lambda: _client().status())
    if as_json:
        emit_json(data)
        return
    llm, alerts, queue = data["llm"], data["alerts"], data["queue"]
    _pairs(
        [
            ("cortexd", f"running, pid {data['pid']}, up {data['uptime_seconds']:.0f} s, version {data['version']}"),
            ("mode", data["mode"]),
            ("socket", data["socket"]),
            ("cortex-llm", f"{llm['state']} at {llm['url']} ({llm['backend']})"),
            ("model", llm["model"]),
            ("alerts", f"{alerts['active']} active, {alerts['critical']} critical"),
            ("queue", f"{queue['depth']} / {queue['max']}"),
        ]
    )
    if llm["state"] == "down":
        click.echo("hint: start cortex-llm with 'cortex llm start' (or 'cortex up')")


def _gib(n: float) -> str:
    return f"{n / 2**30:.1f} GiB"


@daemon.command()
@json_option
def health(as_json: bool) -> None:
    """CPU, memory, disks, failed units and updates, as cortexd sees them."""
    data = _call(lambda: _client().health())
    if as_json:
        emit_json(data)
        return
    mem, swap = data.get("memory", {}), data.get("swap", {})
    rows = [
        ("cpu", f"{data.get('cpu', {}).get('percent', '?')} %"),
        ("memory", f"{mem.get('percent', '?')} % of {_gib(mem.get('total_bytes', 0))}"),
        ("swap", f"{swap.get('percent', '?')} % of {_gib(swap.get('total_bytes', 0))}"),
        ("load", " ".join(f"{x:.2f}" for x in data.get("load", []))),
    ]
    disks = data.get("disks", [])
    rows += [(f"disk {d.get('mountpoint')}", f"{d.get('percent')} % of {_gib(d.get('total_bytes', 0))}") for d in disks]
    failed, updates = data.get("failed_units") or {}, data.get("updates") or {}
    rows += [
        ("failed units", ", ".join(failed.get("units") or []) or failed.get("count", "unknown")),
        ("updates", f"{updates.get('pending', '?')} pending, {updates.get('security', '?')} security"),
        ("cortex-llm", data["llm"]["state"]),
        ("cortexd rss", f"{data['daemon']['rss_bytes'] / 2**20:.1f} MiB"),
    ]
    _pairs(rows)


@daemon.command()
@click.option("--severity", help="only this severity (e.g. warning, critical)")
@click.option("--category", help="only this category (e.g. cpu, memory, disk)")
@click.option("--status", "status_", help="only this status (e.g. active, acknowledged)")
@click.option("--limit", type=click.IntRange(1, 10000), default=100, show_default=True)
@json_option
def alerts(severity: str | None, category: str | None, status_: str | None, limit: int, as_json: bool) -> None:
    """Alerts cortexd has raised."""
    filters = {k: v for k, v in {"severity": severity, "category": category, "status": status_}.items() if v}
    data = _call(lambda: _client().alerts(limit=limit, **filters))
    if as_json:
        emit_json(data)
        return
    if not data["alerts"]:
        click.echo("no alerts")
    for a in data["alerts"]:
        when = a.get("created_at") or a.get("updated_at") or ""
        click.echo(
            f"#{a.get('id')}  {a.get('severity', '?'):<8} {a.get('status', '?'):<12} {a.get('message', a)}  {when}"
        )


@daemon.command("reload-config")
@json_option
def reload_config(as_json: bool) -> None:
    """Re-read daemon.conf; an invalid file is rejected and the old configuration stays."""
    data = _call(lambda: _client().reload_config())
    if as_json:
        emit_json(data)
        return
    click.echo("configuration reloaded; changed: " + (", ".join(data["changed"]) or "nothing"))


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
