"""Alertmanager: cortexd's firing alerts kept in step with Alertmanager's v2 API (``[alerts] alertmanager_url``).

Alertmanager expects its clients to keep re-sending what is firing: an alert not refreshed before its ``endsAt``
counts as resolved. So this is not one more per-event channel like the webhook: as Prometheus does, every
evaluation hands over the alerts firing now, and a worker thread POSTs them to ``/api/v2/alerts`` when that set
changed or ``RESEND`` seconds passed, each valid for four re-sends (so a dead cortexd's alerts resolve by
themselves). An alert that left the set (resolved, dismissed, silenced in cortexd, or replaced by its other
severity) is posted with ``endsAt`` now, which resolves it. A failed POST is retried with doubling waits; the
monitor never waits for it, and a newer state replaces the one not yet delivered, keeping its resolutions.
The labels and names match ``contrib/prometheus/cortex-rules.yml``, so one routing tree serves both.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from datetime import datetime, timezone
from typing import Any

from cortex.config import Config

log = logging.getLogger("cortex.monitor")

ALERTNAMES = {
    "cpu": "CortexCPU", "memory": "CortexMemory", "disk": "CortexDisk", "failed_unit": "CortexFailedUnit",
    "security_updates": "CortexSecurityUpdates", "llm_down": "CortexLLMDown",
}  # fmt: skip
RESEND = 60.0  # seconds between re-sends of an unchanged firing set (Prometheus's default resend delay)
BACKOFF = (1.0, 60.0)  # first and longest wait before retrying a failed POST

Key = tuple[str, str, str]  # (rule, resource, severity): Alertmanager tells alerts apart by their labels


def rfc3339(t: float) -> str:
    return datetime.fromtimestamp(t, timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def to_alertmanager(alert: dict[str, Any], instance: str) -> dict[str, Any]:
    """One alert of ``alerts.db`` as Alertmanager's postable alert, without ``endsAt``."""
    summary, _, _ = alert["message"].partition(": ")
    annotations = {"summary": summary, "description": alert["message"]}
    if alert.get("ai_explanation"):
        annotations["explanation"] = alert["ai_explanation"]
    labels = {
        "alertname": ALERTNAMES[alert["rule"]], "severity": alert["severity"], "instance": instance,
        "rule": alert["rule"], "resource": alert["resource"],
    }  # fmt: skip
    return {"labels": labels, "annotations": annotations, "startsAt": rfc3339(alert["fired_at"] or alert["created_at"])}


class Alertmanager:
    """Keeps Alertmanager's view of this machine's alerts equal to cortexd's; ``sync`` never blocks on the network."""

    def __init__(self, config: Config):
        self._cond = threading.Condition()
        self._firing: dict[Key, dict[str, Any]] = {}  # what should be firing in Alertmanager now
        self._resolved: dict[Key, dict[str, Any]] = {}  # resolutions not yet delivered
        self._delivered: dict[Key, dict[str, Any]] = {}  # the firing set Alertmanager last accepted
        self._last_post = float("-inf")
        self._thread: threading.Thread | None = None
        self._closed = False
        self.instance = socket.gethostname()
        self.url = ""
        self.apply_config(config)

    def apply_config(self, config: Config) -> None:
        """Take ``reload-config``'s settings; another Alertmanager (or none) starts from nothing sent."""
        url = config["alerts.alertmanager_url"].rstrip("/")
        with self._cond:
            if url != self.url:
                self._firing, self._resolved, self._delivered = {}, {}, {}
            self.url = url
            self.timeout = float(config["alerts.notify_timeout"])
            self.ttl = 4 * max(RESEND, float(config["monitor.interval"]))

    def sync(self, firing: list[dict[str, Any]], now: float) -> None:
        """Hand over the alerts firing now (not dismissed, not silenced); returns at once."""
        if not self.url:
            return
        current = {(a["rule"], a["resource"], a["severity"]): to_alertmanager(a, self.instance) for a in firing}
        with self._cond:
            if self._closed:
                return
            for key in self._firing.keys() - current.keys():
                self._resolved[key] = {**self._firing[key], "endsAt": rfc3339(now)}
            for key in current.keys() & self._resolved.keys():  # firing again before its resolution went out
                del self._resolved[key]
            self._firing = current
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="cortex-alertmanager", daemon=True)
                self._thread.start()
            self._cond.notify()

    def _due(self) -> float:
        """Seconds until the next POST is due (0: now)."""
        if self._resolved or self._firing != self._delivered:
            return 0.0
        return max(0.0, self._last_post + RESEND - time.monotonic()) if self._firing else RESEND

    def _run(self) -> None:
        delay = BACKOFF[0]
        while True:
            with self._cond:
                while not self._closed and (wait := self._due()) > 0:
                    self._cond.wait(wait)
                if self._closed:
                    return
                firing, resolved = self._firing, dict(self._resolved)
            ends = rfc3339(time.time() + self.ttl)
            try:
                self._post([{**a, "endsAt": ends} for a in firing.values()] + list(resolved.values()))
            except Exception as e:  # every failure is logged and retried, none escapes into the daemon
                log.warning("Alertmanager at %s: %s; retrying in %g s", self.url, e, delay)
                self._pause(delay)
                delay = min(delay * 2, BACKOFF[1])
                continue
            delay = BACKOFF[0]
            with self._cond:
                self._delivered, self._last_post = firing, time.monotonic()
                for key, body in resolved.items():
                    if self._resolved.get(key) is body:
                        del self._resolved[key]

    def _post(self, alerts: list[dict[str, Any]]) -> None:
        from cortex import http_client  # only daemons with an Alertmanager pay for http.client

        with http_client.open_url(self.url + "/api/v2/alerts", alerts, None, self.timeout, self.timeout) as r:
            if r.status >= 300:
                raise RuntimeError(f"HTTP {r.status}: {http_client.error_text(r)[:200]}")
            r.read()

    def _pause(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        with self._cond:
            while not self._closed and (left := deadline - time.monotonic()) > 0:
                self._cond.wait(left)

    def close(self) -> None:
        """Stop the worker; what was not delivered is dropped (Alertmanager resolves it at its ``endsAt``)."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
