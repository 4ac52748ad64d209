"""System monitor and alerts for cortexd: sampler, rules, alert store, notifications, explanations.

Import the parts you need (``cortex.monitor.monitor.Monitor``, ``cortex.monitor.rules``): this package
imports nothing by itself, so the CLI's views can use the rules without loading psutil or SQLite.
"""

from __future__ import annotations

from typing import Any


def create_monitor(config: Any) -> Any:
    """The monitor cortexd holds (``cortex.daemon.monitor_loader.load_monitor`` looks for this name)."""
    from cortex.monitor.monitor import Monitor

    return Monitor(config)
