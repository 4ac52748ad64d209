"""The seam between cortexd and the system monitor (``cortex/monitor/``).

The daemon holds one object with the ``Monitor`` shape below. ``health``,
``alerts``, ``alerts.acknowledge``, ``alerts.dismiss`` and the alert counts of
``status`` call it and nothing else. ``load_monitor`` uses the real monitor
(sampler, rules, SQLite alert store) when ``cortex.monitor`` provides
``create_monitor(config)``; otherwise ``SnapshotMonitor`` answers ``health``
with a direct psutil snapshot and has no alerts.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import time
from typing import Any, Protocol

log = logging.getLogger("cortexd.monitor")


class Monitor(Protocol):
    """What the daemon needs from a monitor. Methods are called from a worker thread (they may block)."""

    def start(self) -> None: ...  # begin sampling (in its own thread, if it wants one)

    def stop(self) -> None: ...

    def reconfigure(self, config: Any) -> None: ...  # a reloaded configuration

    def health(self) -> dict[str, Any]: ...  # cpu, memory, swap, disks, load, uptime, failed_units, updates

    def alerts(
        self, severity: str | None, category: str | None, status: str | None, limit: int
    ) -> dict[str, Any]: ...  # {"alerts": [...], "counts": {...}}

    def acknowledge(self, alert_id: int | None, all: bool) -> dict[str, Any]: ...  # {"changed": n}; KeyError: no id

    def dismiss(self, alert_id: int | None, all: bool) -> dict[str, Any]: ...

    def counts(self) -> dict[str, int]: ...  # {"active": n, "critical": n}


def _failed_units() -> list[str]:
    """Failed systemd units, when systemd runs this machine; else an empty list."""
    if not os.path.isdir("/run/systemd/system") or not shutil.which("systemctl"):
        return []
    try:
        out = subprocess.run(
            ["systemctl", "--failed", "--plain", "--no-legend", "--no-pager"],
            capture_output=True,
            text=True,
            timeout=5,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return [line.split()[0] for line in out.splitlines() if line.strip()]


class SnapshotMonitor:
    """Stand-in until ``cortex.monitor`` exists: a psutil snapshot on demand, no alert store."""

    def __init__(self, config: Any):
        self.config = config

    def start(self) -> None:
        pass

    def stop(self) -> None:
        pass

    def reconfigure(self, config: Any) -> None:
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
                    "mount": part.mountpoint,
                    "device": part.device,
                    "fstype": part.fstype,
                    "total": use.total,
                    "used": use.used,
                    "percent": use.percent,
                }
            )
        return {
            "cpu": {"percent": psutil.cpu_percent(interval=0.1), "count": psutil.cpu_count()},
            "memory": {"total": vm.total, "available": vm.available, "used": vm.used, "percent": vm.percent},
            "swap": {"total": sw.total, "used": sw.used, "percent": sw.percent},
            "disks": disks,
            "load": list(os.getloadavg()),
            "uptime": time.time() - psutil.boot_time(),
            "failed_units": _failed_units(),
            "updates": {"pending": None, "security": None},
        }

    def alerts(self, severity: str | None, category: str | None, status: str | None, limit: int) -> dict[str, Any]:
        return {"alerts": [], "counts": {"active": 0, "critical": 0, "warning": 0, "acknowledged": 0}}

    def acknowledge(self, alert_id: int | None, all: bool) -> dict[str, Any]:
        if alert_id is not None:
            raise KeyError(alert_id)
        return {"changed": 0}

    def dismiss(self, alert_id: int | None, all: bool) -> dict[str, Any]:
        return self.acknowledge(alert_id, all)

    def counts(self) -> dict[str, int]:
        return {"active": 0, "critical": 0}


def load_monitor(config: Any) -> Monitor:
    """The real monitor when ``cortex.monitor.create_monitor`` exists, else the snapshot stand-in."""
    try:
        from cortex.monitor import create_monitor  # type: ignore[attr-defined]
    except ImportError:
        return SnapshotMonitor(config)
    try:
        return create_monitor(config)
    except Exception:
        log.exception("cortex.monitor failed to start; health falls back to a plain snapshot")
        return SnapshotMonitor(config)
