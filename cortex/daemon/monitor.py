"""The seam between cortexd and the system monitor (``cortex/monitor/``).

The daemon holds one object with the ``Monitor`` shape below. ``health``,
``alerts``, ``alerts.acknowledge``, ``alerts.dismiss`` and the alert counts of
``status`` call it and nothing else. ``load_monitor`` uses the real monitor
(sampler, rules, SQLite alert store) from ``cortex.monitor.monitor``; when that
cannot load, ``SnapshotMonitor`` answers ``health`` with a direct psutil
snapshot and has no alerts, so the daemon still serves.
"""

from __future__ import annotations

import logging
import os
import subprocess
import time
from typing import Any, Protocol

log = logging.getLogger("cortexd.monitor")


class Monitor(Protocol):
    """What the daemon needs from a monitor. All but ``run`` are called from a worker thread (they may block)."""

    async def run(self) -> None: ...  # sample on [monitor] interval until stop()

    def stop(self) -> None: ...

    def close(self) -> None: ...  # release the store; called once after stop()

    def apply_config(self, config: Any) -> None: ...  # a reloaded configuration

    def health(self) -> dict[str, Any]: ...  # cpu, memory, swap, disks, load, uptime, failed_units, updates

    def alerts(
        self, severity: str | None, category: str | None, status: str | None, limit: int
    ) -> dict[str, Any]: ...  # {"alerts": [...], "counts": {...}}; ValueError on a bad filter

    def acknowledge(self, id: Any = None, all: bool = False) -> dict[str, Any]: ...  # KeyError: no such alert

    def dismiss(self, id: Any = None, all: bool = False) -> dict[str, Any]: ...

    def counts(self) -> dict[str, Any]: ...  # {"active": n, "critical": n, ...}


def _failed_units() -> list[str] | None:
    """Failed systemd units, or None when systemd does not run this machine (or cannot tell)."""
    if not os.path.isdir("/run/systemd/system"):
        return None
    try:
        out = subprocess.run(
            ["systemctl", "--failed", "--plain", "--no-legend", "--no-pager"],
            capture_output=True,
            text=True,
            timeout=5,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return [line.split()[0] for line in out.splitlines() if line.strip()]


class SnapshotMonitor:
    """Stand-in until ``cortex.monitor`` exists: a psutil snapshot on demand, no alert store."""

    def __init__(self, config: Any):
        self.config = config

    async def run(self) -> None:
        pass

    def stop(self) -> None:
        pass

    def close(self) -> None:
        pass

    def apply_config(self, config: Any) -> None:
        self.config = config

    def health(self) -> dict[str, Any]:
        import psutil  # lazy: keeps the idle daemon small until someone asks

        vm, sw = psutil.virtual_memory(), psutil.swap_memory()
        disks = []
        for part in psutil.disk_partitions(all=False):
            try:
                use = psutil.disk_usage(part.mountpoint)
            except OSError:
                continue
            disks.append(
                {
                    "mountpoint": part.mountpoint,
                    "device": part.device,
                    "fstype": part.fstype,
                    "total_bytes": use.total,
                    "used_bytes": use.used,
                    "free_bytes": use.free,
                    "percent": use.percent,
                }
            )
        units = _failed_units()
        return {
            "time": time.time(),
            "cpu": {"percent": psutil.cpu_percent(interval=0.1), "count": psutil.cpu_count()},
            "memory": {
                "total_bytes": vm.total,
                "used_bytes": vm.used,
                "available_bytes": vm.available,
                "percent": vm.percent,
            },
            "swap": {"total_bytes": sw.total, "used_bytes": sw.used, "percent": sw.percent},
            "disks": disks,
            "load": list(os.getloadavg()),
            "uptime": time.time() - psutil.boot_time(),
            "failed_units": {"count": "unknown" if units is None else len(units), "units": units or []},
            "updates": {"pending": None, "security": None, "checked_at": None},
        }

    def alerts(self, severity: str | None, category: str | None, status: str | None, limit: int) -> dict[str, Any]:
        return {"alerts": [], "counts": {"active": 0, "critical": 0, "warning": 0, "acknowledged": 0}}

    def acknowledge(self, id: Any = None, all: bool = False) -> dict[str, Any]:
        if id is not None:
            raise KeyError(id)
        return {"acknowledged": 0, "counts": self.counts()}

    def dismiss(self, id: Any = None, all: bool = False) -> dict[str, Any]:
        if id is not None:
            raise KeyError(id)
        return {"dismissed": 0, "counts": self.counts()}

    def counts(self) -> dict[str, int]:
        return {"active": 0, "critical": 0}


def load_monitor(config: Any) -> Monitor:
    """The real monitor (``cortex.monitor.monitor.Monitor``) when enabled and it loads, else the snapshot stand-in."""
    if not config["monitor.enabled"]:
        return SnapshotMonitor(config)
    try:
        from cortex.monitor.monitor import Monitor as SystemMonitor
    except ImportError as e:
        log.warning("cortex.monitor is not available (%s); health is a plain snapshot, no alerts", e)
        return SnapshotMonitor(config)
    try:
        return SystemMonitor(config)
    except Exception:
        log.exception("cortex.monitor failed to start; health falls back to a plain snapshot")
        return SnapshotMonitor(config)
