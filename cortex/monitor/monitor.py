"""The monitor: sample on an interval, run the rules, keep the alert lifecycle, notify.

``evaluate(snapshot)`` is the whole lifecycle and depends only on the snapshot,
the store and the injected clock, which is what the tests drive. ``run()`` is
the daemon's loop around it: sampling and evaluation happen in a worker
thread, apt's update count in another, so the event loop never waits on
psutil, apt, SQLite's fsync or cortex-llm.

Lifecycle of one (rule, resource):

* condition seen -> **pending** (or straight to **firing** when the rule has no duration);
* condition held for the rule's duration -> **firing**, notified;
* still firing -> notified again every ``[alerts] repeat_interval`` unless acknowledged;
  a rise in severity notifies at once and clears the acknowledgement;
* condition clear (below threshold minus the clear margin) -> **resolved**, notified;
  a pending alert that clears never fired, so it is deleted without a word.

A silenced rule still records its alerts but notifies nobody until the silence ends;
a dismissed alert is hidden and quiet until its condition clears.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from cortex.config import Config
from cortex.monitor.alertmanager import Alertmanager
from cortex.monitor.explain import Explainer, Infer
from cortex.monitor.notify import Notifier
from cortex.monitor.rules import RANK, Observation, Rule, build_rules
from cortex.monitor.sampler import Sampler, Snapshot
from cortex.monitor.store import AlertStore

log = logging.getLogger("cortex.monitor")

RULE_NAMES = ("cpu", "memory", "disk", "failed_unit", "security_updates", "llm_down")
PRUNE_EVERY = 3600.0  # seconds between retention sweeps
STOP_TIMEOUT = 15.0  # seconds stop() waits for a sample in progress


def alert_id(value: Any) -> int:
    """An alert id from IPC params: an int, or a string of digits."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    raise ValueError(f"an alert id is a whole number, not {value!r}")


class Monitor:
    def __init__(
        self,
        config: Config,
        clock: Callable[[], float] = time.time,
        sampler: Any = None,
        notifier: Any = None,
        explainer: Any = None,
        infer: Infer | None = None,
    ):
        self.clock = clock
        self.store = AlertStore(config.alerts_db)
        self.sampler = sampler if sampler is not None else Sampler(config, clock)
        self.notifier = notifier if notifier is not None else Notifier(config)
        self.explainer = explainer if explainer is not None else Explainer(config, self.store.set_explanation, infer)
        self.alertmanager = Alertmanager(config)
        self.latest: Snapshot | None = None
        self._last_prune: float | None = None
        self._stop: asyncio.Event | None = None
        self._wake: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None
        self._task: asyncio.Task[None] | None = None
        self._done = threading.Event()
        self._closed = False
        self.apply_config(config)

    def apply_config(self, config: Config) -> None:
        """Take new thresholds, intervals and channels now (``reload-config``); a new db_path needs a restart."""
        if config.alerts_db != self.store.path:
            log.warning("[alerts] db_path changed to %s: restart cortexd to use it", config.alerts_db)
        for part in (self.notifier, self.explainer, self.sampler, self.alertmanager):
            if hasattr(part, "apply_config"):
                part.apply_config(config)
        self.config = config
        self.rules: list[Rule] = build_rules(config)
        self.interval = float(config["monitor.interval"])
        self.updates_interval = float(config["monitor.updates_interval"])
        self.repeat_interval = float(config["alerts.repeat_interval"])
        self.retention = float(config["alerts.retention_days"]) * 86400
        if self._wake is not None and self._loop is not None:
            self._loop.call_soon_threadsafe(self._wake.set)  # the loop sleeps on the new interval

    reconfigure = apply_config  # the name cortexd's monitor seam uses

    # The lifecycle.
    def evaluate(self, snapshot: Snapshot) -> list[dict[str, Any]]:
        """Apply the rules to ``snapshot``; return the transitions as ``{"event", "alert", "notified"}``.

        All changes of one evaluation are one transaction (one fsync, all or nothing on a crash);
        notifications go out only after it is committed, so nobody hears of an alert the file does not hold.
        """
        now = self.clock()
        self.latest = snapshot
        events: list[dict[str, Any]] = []
        with self.store.transaction():
            open_alerts = self.store.open_alerts()
            silenced = self.store.silences(now)
            judged: set[tuple[str, str]] = set()
            for rule in self.rules:
                active = {res: a["severity"] for (name, res), a in open_alerts.items() if name == rule.name}
                observations = rule.observe(snapshot, active)
                if observations is None:  # the rule cannot tell now (e.g. no systemd): leave its alerts as they are
                    judged.update((rule.name, res) for res in active)
                    continue
                for o in observations:
                    judged.add((o.rule, o.resource))
                    self._step(rule, o, open_alerts.get((o.rule, o.resource)), now, rule.name in silenced, events)
            for key, alert in open_alerts.items():
                if key not in judged:  # the resource went away or the rule was switched off
                    self._clear(alert, now, key[0] in silenced, events)
            if self._last_prune is None or now - self._last_prune >= PRUNE_EVERY:
                self._last_prune = now
                pruned = self.store.prune(now - self.retention)
                if pruned:
                    log.info("pruned %d resolved alerts older than %g days", pruned, self.retention / 86400)
        for e in events:
            if e["notified"]:
                self._send(e["event"], e["alert"])
        if self.alertmanager.url:
            firing = self.store.list(status="firing", limit=10000)
            self.alertmanager.sync([a for a in firing if a["rule"] not in silenced], now)
        return events

    def _send(self, event: str, alert: dict[str, Any]) -> None:
        self.notifier.notify(event, alert)
        if alert["severity"] == "critical" and event in ("firing", "escalated") and not alert["ai_explanation"]:
            self.explainer.submit(alert)

    def _step(
        self, rule: Rule, o: Observation, alert: dict[str, Any] | None, now: float, silenced: bool, events: list
    ) -> None:
        if o.severity is None:
            if alert is not None:
                self._clear(alert, now, silenced, events)
            return
        fields = {"severity": o.severity, "message": o.message, "value": o.value, "threshold": o.threshold}
        if alert is None:
            firing = rule.duration <= 0
            alert = self.store.insert(
                rule=o.rule, resource=o.resource, category=o.category, status="firing" if firing else "pending",
                created_at=now, updated_at=now, fired_at=now if firing else None, **fields,
            )  # fmt: skip
            if firing:
                self._tell("firing", alert, now, silenced, events)
            else:
                events.append({"event": "pending", "alert": alert, "notified": False})
            return
        if alert["status"] == "pending":
            if now - alert["created_at"] >= rule.duration:
                alert = self.store.update(alert["id"], status="firing", fired_at=now, updated_at=now, **fields)
                self._tell("firing", alert, now, silenced, events)
            else:
                self.store.update(alert["id"], updated_at=now, **fields)
            return
        escalated = RANK[o.severity] > RANK[alert["severity"]]
        if escalated:  # a worse state must be seen again, now or when the silence ends
            fields.update(acknowledged_at=None, notified_at=None)
        alert = self.store.update(alert["id"], updated_at=now, **fields)
        if silenced or alert["dismissed"]:
            return
        if escalated:
            self._tell("escalated", alert, now, silenced, events)
        elif alert["notified_at"] is None:  # fired while silenced or dismissed: tell now that it is not
            self._tell("firing", alert, now, silenced, events)
        elif not alert["acknowledged"] and now - alert["notified_at"] >= self.repeat_interval:
            self._tell("repeat", alert, now, silenced, events)

    def _tell(self, event: str, alert: dict[str, Any], now: float, silenced: bool, events: list) -> None:
        quiet = silenced or alert["dismissed"]
        if not quiet:
            alert = self.store.update(alert["id"], notified_at=now)
        events.append({"event": event, "alert": alert, "notified": not quiet})

    def _clear(self, alert: dict[str, Any], now: float, silenced: bool, events: list) -> None:
        if alert["status"] == "pending":
            self.store.delete(alert["id"])
            events.append({"event": "cleared", "alert": alert, "notified": False})
            return
        alert = self.store.update(alert["id"], status="resolved", resolved_at=now, updated_at=now)
        told = alert["notified_at"] is not None and not alert["dismissed"] and not silenced
        events.append({"event": "resolved", "alert": alert, "notified": told})

    # The daemon's loop.
    def tick(self) -> Snapshot:
        """Sample and evaluate once (blocking: the loop runs it in a thread)."""
        snapshot = self.sampler.sample()
        self.evaluate(snapshot)
        return snapshot

    def start(self) -> None:
        """Run :meth:`run` as a task of the calling thread's event loop (cortexd calls this from its loop)."""
        self._task = asyncio.get_running_loop().create_task(self.run(), name="cortex-monitor")

    async def run(self) -> None:
        """Sample every ``[monitor] interval`` until :meth:`stop`; never raises out of one bad sample."""
        self._loop, self._loop_thread = asyncio.get_running_loop(), threading.get_ident()
        self._stop, self._wake = asyncio.Event(), asyncio.Event()
        updates: asyncio.Future[Any] | None = None
        next_updates = 0.0
        try:
            while not self._stop.is_set():
                if time.monotonic() >= next_updates and (updates is None or updates.done()):
                    updates = asyncio.ensure_future(asyncio.to_thread(self._refresh_updates))
                    next_updates = time.monotonic() + self.updates_interval
                try:
                    await asyncio.to_thread(self.tick)
                except Exception:
                    log.exception("monitor sample failed; trying again in %g s", self.interval)
                self._wake.clear()
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.interval)
        finally:
            self._done.set()

    def _refresh_updates(self) -> None:
        try:
            self.sampler.refresh_updates()
        except Exception:
            log.exception("counting apt updates failed")

    def _halt(self) -> None:
        if self._stop is not None and self._wake is not None:
            self._stop.set()
            self._wake.set()

    def stop(self) -> None:
        """End the loop, let a sample in progress finish (off the loop's thread), then release everything."""
        if self._closed:
            return
        self._closed = True
        if self._loop is not None and not self._done.is_set():
            with contextlib.suppress(RuntimeError):  # the loop is already closed
                self._loop.call_soon_threadsafe(self._halt)
            if threading.get_ident() != self._loop_thread:
                self._done.wait(STOP_TIMEOUT)
        self.notifier.close()
        self.alertmanager.close()
        self.explainer.close()
        self.store.close()

    close = stop

    # What the daemon's commands return.
    def health(self) -> dict[str, Any]:
        """The latest snapshot (one taken now before the first sample) and the thresholds it is judged by."""
        snapshot = self.latest or self.sampler.sample()
        return {**snapshot.to_dict(), "thresholds": self.config.section("thresholds")}

    def alerts(
        self, severity: str | None = None, category: str | None = None, status: str | None = None, limit: int = 100
    ) -> dict[str, Any]:
        return {"alerts": self.store.list(severity, category, status, limit), "counts": self.store.counts()}

    def acknowledge(self, id: Any = None, all: bool = False) -> dict[str, Any]:
        if not all and id is None:
            raise ValueError("give an alert id or all: true")
        n = self.store.acknowledge(None if all else alert_id(id), bool(all), self.clock())
        return {"changed": n, "counts": self.store.counts()}

    def dismiss(self, id: Any = None, all: bool = False) -> dict[str, Any]:
        if not all and id is None:
            raise ValueError("give an alert id or all: true")
        n = self.store.dismiss(None if all else alert_id(id), bool(all), self.clock())
        return {"changed": n, "counts": self.store.counts()}

    def silence(self, rule: str, until: float) -> dict[str, Any]:
        """No notifications from ``rule`` until the unix time ``until`` (alerts are still recorded)."""
        if rule not in RULE_NAMES:
            raise ValueError(f"rule must be one of {', '.join(RULE_NAMES)}, not {rule!r}")
        if isinstance(until, bool) or not isinstance(until, (int, float)):
            raise ValueError(f"until is a unix time in seconds, not {until!r}")
        self.store.silence(rule, float(until))
        return {"rule": rule, "until": float(until)}

    def counts(self) -> dict[str, Any]:
        return self.store.counts()
