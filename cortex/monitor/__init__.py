"""System monitor and alerts for cortexd: sampler, rules, alert store, notifications, explanations, CLI rendering.

Import the parts you need (``cortex.monitor.monitor.Monitor``, ``cortex.monitor.render``): this package
imports nothing by itself, so the CLI can render without loading psutil or SQLite.
"""

from __future__ import annotations

from typing import Any


def create_monitor(config: Any) -> Any:
    """The monitor cortexd holds (``cortex.daemon.monitor.load_monitor`` looks for this name)."""
    from cortex.monitor.monitor import Monitor

    return Monitor(config)
