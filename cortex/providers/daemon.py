"""A provider that asks cortexd, which forwards to cortex-llm through its queue (``cortex ask --via-daemon``).

Going through the daemon lets many clients share llama-server's slots fairly
(``[llm] parallel``, ``queue_size``) and counts the work in cortexd's metrics.
Tokens arrive as the daemon's stream events (DESIGN section 2), so the answer
prints as it is generated, as with the direct provider.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from cortex.providers import Capability, Messages, Options, Provider, ProviderError, Response


class DaemonProvider(Provider):
    name = "cortexd"
    capabilities = frozenset({Capability.STREAM, Capability.JSON_SCHEMA})  # cortexd passes the schema on

    def __init__(self, socket_path: str | Path | None = None, timeout: float | None = 300.0):
        from cortex.daemon_client import CortexDaemonClient

        self.client = CortexDaemonClient(socket_path, timeout=timeout)
        self.model = ""

    def execute(self, messages: Messages, options: Options, response: Response) -> Iterator[str]:
        from cortex.daemon_client import DaemonError

        params: dict[str, Any] = {
            "messages": messages,
            "max_tokens": options.max_tokens,
            "temperature": options.temperature,
            **options.extra,
        }
        if options.stop:
            params["stop"] = options.stop
        if options.json_schema is not None:
            params["json_schema"] = options.json_schema
        stream = self.client.stream_inference(**params)
        try:
            while True:
                yield next(stream)
        except StopIteration as done:
            data = done.value or {}
            response.model = data.get("model") or response.model
            response.set_usage(data.get("prompt_tokens", 0), data.get("tokens_generated", 0))
        except DaemonError as e:
            why = e.message if e.code == "not_running" else f"cortexd: {e.code}: {e.message}"
            raise ProviderError(why) from None

    def available(self) -> bool:
        from cortex.daemon_client import DaemonError

        try:
            return self.client.ping()
        except DaemonError:
            return False
