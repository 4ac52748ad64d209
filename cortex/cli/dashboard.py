"""``cortex top``: a live dashboard of cortexd's view of the machine, drawn with rich.

Everything shown comes from the daemon (``status``, ``health``, firing
``alerts``), so top costs the machine one IPC round trip a refresh and shows
exactly what the alert rules see. The sparklines keep one point per monitor
sample (deduplicated by the sample's time), so a 30 s monitor interval gives a
30 s resolution however often top refreshes.
"""

from __future__ import annotations

import os
import select
import sys
import termios
import time
import tty
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from cortex.cli.render import LLM_STYLE, SEVERITY_STYLE, human_duration, level_style
from cortex.monitor.rules import human_bytes
from cortex.terminal import printable

BARS = "▁▂▃▄▅▆▇█"
HISTORY = 240  # points kept per series: 2 hours at the default 30 s monitor interval


def sparkline(values: list[float], width: int, high: float = 100.0) -> str:
    """The last ``width`` values (0..high) as block characters, right-aligned."""
    if width <= 0:
        return ""
    points = values[-width:]
    top = len(BARS) - 1
    line = "".join(BARS[max(0, min(top, round(v / high * top)))] for v in points)
    return line.rjust(width)


@dataclass
class Series:
    """Ring buffers of CPU, memory and fullest-disk percent, one point per distinct monitor sample."""

    size: int = HISTORY
    cpu: deque[float] = field(default_factory=deque)
    memory: deque[float] = field(default_factory=deque)
    disk: deque[float] = field(default_factory=deque)
    last_time: float | None = None

    def add(self, health: dict[str, Any]) -> None:
        sample_time = health.get("time")
        if sample_time is not None and sample_time == self.last_time:
            return
        self.last_time = sample_time
        disks = [d.get("percent") or 0.0 for d in health.get("disks") or []]
        for buffer, value in (
            (self.cpu, (health.get("cpu") or {}).get("percent")),
            (self.memory, (health.get("memory") or {}).get("percent")),
            (self.disk, max(disks) if disks else None),
        ):
            buffer.append(float(value or 0.0))
            while len(buffer) > self.size:
                buffer.popleft()


@dataclass
class Snapshot:
    """One refresh: the daemon's answers, or why there are none."""

    status: dict[str, Any] | None = None
    health: dict[str, Any] | None = None
    alerts: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None
    taken: float = 0.0


def fetch(client: Any) -> Snapshot:
    """Ask the daemon for everything top shows; a failure becomes ``error`` (top keeps running)."""
    from cortex.daemon_client import DaemonError

    try:
        return Snapshot(
            status=client.status(),
            health=client.health(),
            alerts=client.alerts(status="firing", limit=50).get("alerts", []),
            taken=time.time(),
        )
    except DaemonError as e:
        return Snapshot(error=e.message, taken=time.time())
    except (OSError, ValueError) as e:  # the daemon went away mid-answer
        return Snapshot(error=f"connection lost ({type(e).__name__})", taken=time.time())


def _system(snap: Snapshot, series: Series, width: int) -> Panel:
    health = snap.health or {}
    t = health.get("thresholds") or {}
    table = Table.grid(padding=(0, 1))
    table.add_column(width=6)
    table.add_column(width=6, justify="right")
    table.add_column()
    spark_width = max(0, width - 18)  # panel borders and the name and value columns
    disks = health.get("disks") or []
    fullest = max(disks, key=lambda d: d.get("percent") or 0.0) if disks else {}
    rows = (
        ("cpu", (health.get("cpu") or {}).get("percent"), series.cpu),
        ("memory", (health.get("memory") or {}).get("percent"), series.memory),
        ("disk", fullest.get("percent"), series.disk),
    )
    for name, value, points in rows:
        style = level_style(value, t.get(f"{name}_warning"), t.get(f"{name}_critical"))
        now = Text("?" if value is None else f"{value:.0f} %", style=style)
        table.add_row(name, now, Text(sparkline(list(points), spark_width), style=style))
    mem = health.get("memory") or {}
    load = " ".join(f"{x:.2f}" for x in health.get("load") or []) or "?"
    detail = (
        f"load {load} · {human_bytes(mem.get('available_bytes', 0))} free"
        f" · {fullest.get('mountpoint', '?')} {human_bytes(fullest.get('free_bytes', 0))} free"
    )
    return Panel(Group(table, Text(printable(detail), style="dim", overflow="ellipsis", no_wrap=True)), title="system")


def _llm(snap: Snapshot) -> Panel:
    status = snap.status or {}
    llm = {**((snap.health or {}).get("llm") or {}), **(status.get("llm") or {})}
    tps = ((snap.health or {}).get("llm") or {}).get("tokens_per_second")
    state = str(llm.get("state", "?"))
    queue = status.get("queue") or {}
    line = Text.assemble(
        "state ",
        (state, LLM_STYLE.get(state.split(" ")[0], "dim")),
        f" · {printable(str(llm.get('model', '?')))}",
        f" · queue {queue.get('depth', '?')}/{queue.get('max', '?')}",
        f" · {tps:g} tokens/s" if tps else " · tokens/s -",
    )
    line.no_wrap, line.overflow = True, "ellipsis"
    return Panel(line, title="cortex-llm")


def _alerts(snap: Snapshot, rows: int) -> Panel:
    counts = (snap.status or {}).get("alerts") or {}
    title = f"alerts firing: {counts.get('active', 0)} ({counts.get('critical', 0)} critical)"
    if not snap.alerts:
        return Panel(Text("none firing", style="green"), title=title)
    lines = []
    for a in snap.alerts[: max(1, rows)]:
        since = a.get("fired_at") or a.get("created_at") or snap.taken
        line = Text.assemble(
            (f"{a.get('severity', '?'):8}", SEVERITY_STYLE.get(a.get("severity"), "")),
            f" {human_duration(snap.taken - since):>8}  {printable(str(a.get('message', '')))}",
        )
        line.no_wrap, line.overflow = True, "ellipsis"
        lines.append(line)
    if len(snap.alerts) > rows:
        lines[-1] = Text(f"... and {len(snap.alerts) - rows + 1} more (cortex daemon alerts)", style="dim")
    return Panel(Group(*lines), title=title)


def render(snap: Snapshot, series: Series, width: int, height: int) -> RenderableType:
    """The whole screen for a terminal of ``width`` x ``height`` (fits 80x24)."""
    status = snap.status or {}
    header = Text.assemble(
        ("cortex top", "bold"),
        f"  cortexd {status.get('version', '?')} pid {status.get('pid', '?')}",
        f" up {human_duration(status.get('uptime_seconds', 0))}" if status else "",
        f"  {time.strftime('%H:%M:%S', time.localtime(snap.taken or time.time()))}",
        ("  q quits", "dim"),
    )
    header.no_wrap, header.overflow = True, "ellipsis"
    if snap.error:
        note = Text(f"cortexd is not answering: {printable(snap.error)}", style="bold red")
        return Group(header, note, _system(snap, series, width), _llm(snap))
    used = 1 + 6 + 3 + 2  # header, system panel, llm panel, alerts borders
    return Group(header, _system(snap, series, width), _llm(snap), _alerts(snap, height - used))


@contextmanager
def cbreak_keys() -> Iterator[Callable[[float], str]]:
    """A ``wait(seconds) -> key or ''`` reading single keys from the terminal without echo or Enter.

    Without a terminal on stdin it only waits, so top still runs under a pipe (Ctrl-C ends it).
    """
    fd = sys.stdin.fileno() if sys.stdin and sys.stdin.isatty() else None
    if fd is None:
        yield lambda seconds: (time.sleep(seconds), "")[1]
        return
    saved = termios.tcgetattr(fd)
    tty.setcbreak(fd)

    def wait(seconds: float) -> str:
        ready, _, _ = select.select([fd], [], [], seconds)
        return os.read(fd, 32).decode(errors="replace") if ready else ""

    try:
        yield wait
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


def run(client: Any, interval: float = 2.0, console: Console | None = None) -> None:
    """Refresh every ``interval`` seconds until q (or Ctrl-C); the first fetch has already succeeded."""
    console = console or Console()
    series = Series()
    with cbreak_keys() as wait, Live(console=console, screen=True, auto_refresh=False) as live:
        next_at = 0.0
        while True:
            now = time.monotonic()
            if now >= next_at:
                snap = fetch(client)
                if snap.health:
                    series.add(snap.health)
                next_at = now + interval
            width, height = console.size
            live.update(render(snap, series, width, height), refresh=True)
            key = wait(max(0.0, next_at - time.monotonic()))
            if key and key[-1] in "qQ":
                return
