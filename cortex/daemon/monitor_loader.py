"""The seam between cortexd and the system monitor (``cortex/monitor/``).

The daemon holds one object with the ``Monitor`` shape below. ``health``,
``alerts``, ``alerts.acknowledge``, ``alerts.dismiss`` and the alert counts of
``status`` call it and nothing else. ``load_monitor`` uses the real monitor
(sampler, rules, SQLite alert store) from ``cortex.monitor.monitor``; when it is
disabled or cannot load, ``SnapshotMonitor`` answers ``health`` with one sample
taken on demand and has no alerts, so the daemon still serves.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from cortex.monitor.explain import Infer

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


class SnapshotMonitor:
    """Health on demand from the monitor's sampler, and no alert store (``[monitor] enabled: false``)."""

    def __init__(self, config: Any):
        self.config = config
        self._sampler: Any = None

    async def run(self) -> None:
        pass

    def stop(self) -> None:
        pass

    def close(self) -> None:
        pass

    def apply_config(self, config: Any) -> None:
        self.config = config

    def health(self) -> dict[str, Any]:
        from cortex.monitor.sampler import Sampler  # lazy: keeps the idle daemon small until someone asks

        if self._sampler is None:
            self._sampler = Sampler(self.config)
        self._sampler.apply_config(self.config)
        return self._sampler.sample().to_dict()

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


def load_monitor(config: Any, infer: Infer) -> Monitor:
    """The real monitor (``cortex.monitor.monitor.Monitor``) when enabled and it loads, else the snapshot stand-in.

    ``infer`` runs an inference through cortexd's queue, for the monitor's AI explanations.
    """
    if not config["monitor.enabled"]:
        return SnapshotMonitor(config)
    from cortex.monitor.monitor import Monitor as SystemMonitor

    try:
        return SystemMonitor(config, infer=infer)
    except Exception:
        log.exception("cortex.monitor failed to start; health falls back to a plain snapshot")
        return SnapshotMonitor(config)
