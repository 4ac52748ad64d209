"""Claude through Anthropic's Messages API, streamed.

It sends no JSON schema to the API, so it declares no JSON-schema capability: a request with one is
refused (``UnsupportedError``) instead of being sent without its constraint.
"""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from typing import Any

from cortex import http_client
from cortex.providers import Capability, Messages, Options, Provider, ProviderError, Response, error_detail

API_VERSION = "2023-06-01"
CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 120.0


class ClaudeProvider(Provider):
    name = "claude"
    capabilities = frozenset({Capability.STREAM})

    def __init__(self, api_key: str, model: str, base_url: str):
        self._api_key = api_key
        self.model = model
        self.url = base_url.rstrip("/") + "/v1/messages"

    def body(self, messages: Messages, options: Options) -> dict[str, Any]:
        system = "\n\n".join(m["content"] for m in messages if m["role"] == "system")
        body: dict[str, Any] = {
            "model": self.model,
            "max_tokens": options.max_tokens,
            "temperature": min(options.temperature, 1.0),
            "messages": [m for m in messages if m["role"] != "system"],
            "stream": True,
        }
        if system:
            body["system"] = system
        if options.stop:
            body["stop_sequences"] = options.stop
        return body

    def execute(self, messages: Messages, options: Options, response: Response) -> Iterator[str]:
        if not self._api_key:
            raise ProviderError("claude needs an API key: set ANTHROPIC_API_KEY in ~/.cortex/.env")
        body = self.body(messages, options)
        headers = {"x-api-key": self._api_key, "anthropic-version": API_VERSION, "Accept": "text/event-stream"}
        try:
            with http_client.open_url(self.url, body, headers, CONNECT_TIMEOUT, READ_TIMEOUT) as r:
                if r.status in (401, 403):
                    raise ProviderError(f"claude at {self.url} rejected the API key; check ANTHROPIC_API_KEY")
                if r.status != 200:
                    detail = error_detail(r.read(http_client.ERROR_BYTES).decode("utf-8", "replace"))
                    raise ProviderError(f"claude at {self.url} answered HTTP {r.status}: {detail}")
                for line in http_client.lines(r):
                    if not line.startswith("data:"):
                        continue
                    event = json.loads(line[5:])
                    kind = event.get("type")
                    if kind == "message_start":
                        response.set_usage(prompt_tokens=event["message"].get("usage", {}).get("input_tokens", 0))
                    elif kind == "content_block_delta":
                        yield event.get("delta", {}).get("text", "")
                    elif kind == "message_delta":
                        response.set_usage(tokens_generated=event.get("usage", {}).get("output_tokens", 0))
        except TimeoutError:
            raise ProviderError(f"claude at {self.url}: no answer within {READ_TIMEOUT:g} s") from None
        except (OSError, http.client.HTTPException) as e:
            raise ProviderError(
                f"claude at {self.url} not reachable ({type(e).__name__}); check your network"
            ) from None
