"""Human output of ``cortex daemon health`` and ``cortex daemon alerts`` (rich tables).

Takes the ``data`` of the IPC commands (DESIGN section 2) and nothing else, so
the CLI stays a thin client call plus one of these functions. Values are
coloured against the thresholds the daemon reports: green below the warning
level, yellow from it, red from the critical level.
"""

from __future__ import annotations

import time
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from cortex.monitor.rules import human_bytes
from cortex.terminal import printable

SEVERITY_STYLE = {"info": "cyan", "warning": "yellow", "error": "red", "critical": "bold red"}
LLM_STYLE = {"up": "green", "loading": "yellow", "down": "red", "error": "red"}


def text(value: Any, style: str = "") -> Text:
    """A value the machine, a user or a model wrote, as plain text: no markup, no terminal controls."""
    return Text(printable(str(value)), style=style)


def level_style(value: float | None, warning: float | None, critical: float | None) -> str:
    if value is None or warning is None:
        return "dim"
    if critical is not None and value >= critical:
        return "bold red"
    return "yellow" if value >= warning else "green"


def _pct(data: dict[str, Any], metric: str, t: dict[str, Any]) -> Text:
    value = data.get("percent")
    style = level_style(value, t.get(f"{metric}_warning"), t.get(f"{metric}_critical"))
    return Text("?" if value is None else f"{value:.0f} %", style=style)


def human_duration(seconds: float) -> str:
    seconds = max(0, int(seconds))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min" if minutes else f"{secs} s"


def render_health(data: dict[str, Any], console: Console | None = None) -> None:
    console = console or Console()
    t = data.get("thresholds") or {}
    table = Table(title="cortexd health", show_header=True, header_style="bold")
    table.add_column("what")
    table.add_column("now", justify="right")
    table.add_column("detail")

    cpu, mem, swap = data.get("cpu") or {}, data.get("memory") or {}, data.get("swap") or {}
    table.add_row("cpu", _pct(cpu, "cpu", t), f"{cpu.get('count', '?')} cores, load {_load(data.get('load'))}")
    table.add_row(
        "memory",
        _pct(mem, "memory", t),
        f"{human_bytes(mem.get('available_bytes', 0))} available of {human_bytes(mem.get('total_bytes', 0))}",
    )
    table.add_row(
        "swap",
        Text(f"{swap.get('percent', 0):.0f} %") if swap.get("total_bytes") else Text("none", style="dim"),
        f"{human_bytes(swap.get('used_bytes', 0))} used of {human_bytes(swap.get('total_bytes', 0))}",
    )
    for d in data.get("disks") or []:
        free, total = human_bytes(d.get("free_bytes", 0)), human_bytes(d.get("total_bytes", 0))
        table.add_row(
            text(f"disk {d.get('mountpoint')}"), _pct(d, "disk", t), text(f"{free} free of {total} ({d.get('device')})")
        )
    table.add_row(*_failed_units(data.get("failed_units")))
    table.add_row(*_updates(data.get("updates") or {}))
    llm = data.get("llm") or {}
    state = str(llm.get("state", "?"))
    detail = str(llm.get("url", ""))
    if llm.get("tokens_per_second"):
        detail += f", {llm['tokens_per_second']} tokens/s"
    table.add_row("cortex-llm", text(state, LLM_STYLE.get(state.split(" ")[0], "dim")), text(detail))
    if "uptime" in data:
        table.add_row("uptime", human_duration(data["uptime"]), "")
    daemon = data.get("daemon") or {}
    if "rss_bytes" in daemon:
        table.add_row("cortexd", human_bytes(daemon["rss_bytes"]), f"pid {daemon.get('pid', '?')} resident memory")
    console.print(table)


def _load(load: list[float] | None) -> str:
    return " ".join(f"{x:.2f}" for x in load) if load else "?"


def _failed_units(failed: Any) -> tuple[str, Text, str | Text]:
    if not isinstance(failed, dict) or failed.get("count") in (None, "unknown"):
        return "failed units", Text("unknown", style="dim"), "systemd is not running here"
    units = failed.get("units") or []
    style = "red" if units else "green"
    return "failed units", Text(str(len(units)), style=style), text(", ".join(units))


def _updates(updates: dict[str, Any]) -> tuple[str, Text, str]:
    pending, security = updates.get("pending"), updates.get("security")
    if pending is None:
        return "updates", Text("unknown", style="dim"), "not counted yet"
    style = "yellow" if security else "green"
    return "updates", Text(f"{pending}", style=style), f"{security} security"


def render_alerts(data: dict[str, Any], console: Console | None = None, now: float | None = None) -> None:
    console = console or Console()
    now = time.time() if now is None else now
    alerts = data.get("alerts") or []
    if alerts:
        table = Table(show_header=True, header_style="bold", show_lines=False)
        for name, justify in (("id", "right"), ("severity", "left"), ("status", "left"), ("what", "left")):
            table.add_column(name, justify=justify)
        table.add_column("since", justify="right")
        table.add_column("message", ratio=1)
        for a in alerts:
            status = a.get("status", "?")
            marks = [m for m in ("acknowledged", "dismissed") if a.get(m)]
            message = text(a.get("message", ""))
            if a.get("ai_explanation"):  # a model's words
                message.append("\n" + printable(a["ai_explanation"]), style="italic cyan")
            since = a.get("fired_at") or a.get("created_at") or now
            table.add_row(
                str(a.get("id")),
                text(a.get("severity", "?"), SEVERITY_STYLE.get(a.get("severity"), "")),
                text(status + "".join(f"\n{m}" for m in marks)),
                text(f"{a.get('rule')} {a.get('resource')}"),
                human_duration(now - since) + " ago",
                message,
            )
        console.print(table)
    else:
        console.print("no alerts", style="green")
    c = data.get("counts") or {}
    if c:
        console.print(
            f"{c.get('active', 0)} active ({c.get('critical', 0)} critical, {c.get('unacknowledged', 0)} "
            f"unacknowledged), {c.get('pending', 0)} pending, {c.get('dismissed', 0)} dismissed, "
            f"{c.get('resolved', 0)} resolved",
            style="dim",
        )
