"""Telling people about alerts: the log always; a desktop pop-up, a webhook and an exec hook when configured.

Each channel runs in a small worker pool with a timeout, so a hung webhook or
hook can never stall the daemon; a failure is logged with the channel's name
and the alert keeps its state. The exec hook gets the alert as JSON on stdin
and is run from an argv list (``shlex.split`` of ``[alerts] exec_hook``): the
alert's text never reaches a shell.
"""

from __future__ import annotations

import json
import logging
import shlex
import subprocess
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from cortex.config import Config, ConfigError
from cortex.monitor.sampler import on_path

log = logging.getLogger("cortex.monitor")

MAX_QUEUED = 64  # notifications waiting beyond this are dropped (and logged), never piled up
LOG_LEVEL = {"info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR, "critical": logging.CRITICAL}
URGENCY = {"info": "low", "warning": "normal", "error": "normal", "critical": "critical"}
PAYLOAD_KEYS = (
    "id", "rule", "resource", "severity", "category", "status", "message", "value", "threshold",
    "created_at", "fired_at", "resolved_at", "acknowledged", "ai_explanation",
)  # fmt: skip


def payload(event: str, alert: dict[str, Any]) -> dict[str, Any]:
    """The JSON document webhooks and hooks receive."""
    return {"source": "cortexd", "event": event, "alert": {k: alert.get(k) for k in PAYLOAD_KEYS}}


def parse_hook(text: str) -> list[str]:
    try:
        return shlex.split(text)
    except ValueError as e:
        raise ConfigError(f"[alerts] exec_hook = {text!r} cannot be split into arguments: {e}") from None


class Notifier:
    """Sends one alert event to every configured channel without waiting for any of them."""

    def __init__(self, config: Config):
        self._pool: ThreadPoolExecutor | None = None
        self._queued = 0
        self._lock = threading.Lock()
        self.apply_config(config)

    def apply_config(self, config: Config) -> None:
        """Take the ``[alerts]`` channel settings. A hook that cannot be split is logged and left off."""
        try:
            self.hook = parse_hook(config["alerts.exec_hook"])
        except ConfigError as e:
            log.error("%s; the exec hook is off until it is fixed", e)
            self.hook = []
        self.desktop = bool(config["alerts.notify_desktop"])
        self.webhook_url = config["alerts.webhook_url"]
        self.timeout = float(config["alerts.notify_timeout"])

    def notify(self, event: str, alert: dict[str, Any]) -> None:
        log.log(
            LOG_LEVEL.get(alert["severity"], logging.WARNING) if event != "resolved" else logging.INFO,
            "alert %s #%s [%s] %s %s: %s",
            event, alert["id"], alert["severity"], alert["rule"], alert["resource"], alert["message"],
        )  # fmt: skip
        body = payload(event, alert)
        if self.desktop:
            self._submit("desktop", self._desktop, body)
        if self.webhook_url:
            self._submit("webhook", self._webhook, body)
        if self.hook:
            self._submit("exec hook", self._exec, body)

    def _submit(self, name: str, send: Callable[[dict[str, Any]], None], body: dict[str, Any]) -> None:
        with self._lock:
            if self._queued >= MAX_QUEUED:
                log.warning("%s notification dropped: %d already waiting", name, self._queued)
                return
            self._queued += 1
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="cortex-notify")
        self._pool.submit(self._run, name, send, body)

    def _run(self, name: str, send: Callable[[dict[str, Any]], None], body: dict[str, Any]) -> None:
        try:
            send(body)
        except Exception as e:  # every failure is logged, none escapes into the daemon
            log.warning("%s notification for alert #%s failed: %s", name, body["alert"]["id"], e)
        finally:
            with self._lock:
                self._queued -= 1

    def _desktop(self, body: dict[str, Any]) -> None:
        if not on_path("notify-send"):
            raise RuntimeError("notify-send is not installed (apt install libnotify-bin)")
        a = body["alert"]
        title = f"cortex: {body['event']} {a['severity']} {a['rule']} {a['resource']}"
        subprocess.run(
            ["notify-send", "--app-name=cortex", f"--urgency={URGENCY[a['severity']]}", "--", title, a["message"]],
            timeout=self.timeout,
            check=True,
            capture_output=True,
        )

    def _webhook(self, body: dict[str, Any]) -> None:
        from cortex import http_client  # only daemons with a webhook pay for http.client (and ssl for https)

        with http_client.open_url(self.webhook_url, body, None, self.timeout, self.timeout) as r:
            if r.status >= 400:
                raise RuntimeError(f"{self.webhook_url} answered HTTP {r.status}: {http_client.error_text(r)[:200]}")

    def _exec(self, body: dict[str, Any]) -> None:
        proc = subprocess.run(
            self.hook, input=json.dumps(body).encode(), timeout=self.timeout, capture_output=True, check=False
        )
        if proc.returncode != 0:
            tail = proc.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or [""]
            raise RuntimeError(f"{self.hook[0]} exited with {proc.returncode} {tail[0]}".rstrip())

    def close(self, wait: bool = False) -> None:
        """Stop taking work; ``wait`` lets queued notifications finish (each is bounded by its timeout)."""
        if self._pool is not None:
            self._pool.shutdown(wait=wait, cancel_futures=not wait)
            self._pool = None
