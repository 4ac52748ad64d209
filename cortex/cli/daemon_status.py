"""``cortex daemon status`` without click: the one command people run in loops and prompts.

``cortex.cli.main.main`` routes ``cortex daemon status [--json]`` here before
click is imported (click alone costs more than the rest of the command), and
the click command calls the same ``run`` so there is one implementation.
"""

from __future__ import annotations

import json
import sys

from cortex.config import ConfigError, load_config
from cortex.terminal import printable

TYPE_CHECKING = False  # on cortex daemon status's path: typing is for type checkers only (4 ms to import)
if TYPE_CHECKING:
    from typing import Any


def lines(data: dict[str, Any]) -> list[str]:
    """The human view of the ``status`` IPC data."""
    llm, alerts, queue = data["llm"], data["alerts"], data["queue"]
    rows = [
        ("cortexd", f"running, pid {data['pid']}, up {data['uptime_seconds']:.0f} s, version {data['version']}"),
        ("mode", data["mode"]),
        ("socket", data["socket"]),
        ("cortex-llm", f"{llm['state']} at {llm['url']} ({llm['backend']})"),
        ("model", llm["model"]),
        ("alerts", f"{alerts['active']} active, {alerts['critical']} critical"),
        ("queue", f"{queue['depth']} / {queue['max']}"),
    ]
    width = max(len(k) for k, _ in rows)
    out = [f"{key:<{width}}  {value}" for key, value in rows]
    if llm["state"] == "down":
        from cortex.hints import start_hint

        out.append(f"hint: cortex-llm is down; {start_hint('cortex-llm', data['mode'])}")
    return out


def run(as_json: bool) -> int:
    """Print cortexd's status; return the exit code (1 with one line on stderr when it cannot)."""
    from cortex.daemon_client import CortexDaemonClient, DaemonError, socket_for

    try:
        data = CortexDaemonClient(socket_for(load_config())).status()
    except ConfigError as e:
        print(f"cortex: configuration error: {printable(str(e))}", file=sys.stderr)
        return 1
    except DaemonError as e:
        message = e.message if e.code == "not_running" else f"cortexd: {e.code}: {e.message}"
        print(f"cortex: {printable(message)}", file=sys.stderr)
        return 1
    print(json.dumps(data, indent=2, default=str) if as_json else printable("\n".join(lines(data))))
    return 0
