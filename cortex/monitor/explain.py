"""Optional AI explanations of new critical alerts (``[alerts] ai_explain``).

One background worker asks cortex-llm for two lines (what it means, the next
command to run) and hands the text back to be attached to the same alert. The
question goes through cortexd's inference queue (``infer``), so it takes a slot
like any other request instead of going round the queue. At most ``MAX_WAITING``
requests wait; each is bounded by ``[alerts] ai_timeout`` and ``MAX_TOKENS``.
When cortex-llm is down the alert simply has no explanation: nothing else changes.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from cortex.config import Config

log = logging.getLogger("cortex.monitor")

Infer = Callable[[dict[str, Any], float], dict[str, Any]]  # (inference params, timeout in s) -> its data

MAX_TOKENS = 96
MAX_WAITING = 4
SYSTEM_PROMPT = (
    "You are an experienced Linux system administrator. Reply in exactly two lines. "
    "Line 1: what this alert most likely means. Line 2: 'Next: ' and one shell command to run first."
)


def clean(text: str) -> str:
    """The first two non-empty lines, trimmed: a small model may ramble."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return "\n".join(line[:300] for line in lines[:2])


class Explainer:
    """Asks cortex-llm about an alert in the background and passes ``(alert_id, text)`` to ``attach``."""

    def __init__(self, config: Config, attach: Callable[[int, str], None], infer: Infer | None = None):
        self.attach = attach
        self.infer = infer
        self._pool: ThreadPoolExecutor | None = None
        self._waiting = 0
        self._lock = threading.Lock()
        self.apply_config(config)

    def apply_config(self, config: Config) -> None:
        self.enabled = bool(config["alerts.ai_explain"])
        self.timeout = float(config["alerts.ai_timeout"])

    def submit(self, alert: dict[str, Any]) -> bool:
        """Queue an explanation; False when disabled or too many are waiting."""
        if not self.enabled:
            return False
        with self._lock:
            if self._waiting >= MAX_WAITING:
                log.info("AI explanation of alert #%s skipped: %d already waiting", alert["id"], self._waiting)
                return False
            self._waiting += 1
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cortex-explain")
        self._pool.submit(self._run, alert)
        return True

    def _run(self, alert: dict[str, Any]) -> None:
        try:
            text = self.explain(alert)
            if text:
                self.attach(alert["id"], text)
        except Exception as e:  # cortex-llm down, slow or odd: the alert just has no explanation
            log.info("AI explanation of alert #%s unavailable: %s", alert["id"], e)
        finally:
            with self._lock:
                self._waiting -= 1

    def explain(self, alert: dict[str, Any]) -> str:
        if self.infer is None:
            raise RuntimeError("no inference queue to ask (explanations run inside cortexd)")
        question = f"Alert ({alert['severity']}, {alert['category']}) on {alert['resource']}: {alert['message']}"
        params = {
            "messages": [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": question}],
            "max_tokens": MAX_TOKENS,
            "temperature": 0,  # the same alert gets the same advice
        }
        return clean(self.infer(params, self.timeout)["output"])

    def close(self, wait: bool = False) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=wait, cancel_futures=not wait)
            self._pool = None
