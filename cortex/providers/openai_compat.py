"""llama.cpp, Ollama and any OpenAI-compatible URL through the chat-completions API.

Streaming is Server-Sent Events, read by ``cortex.llm_service.llama_api``'s ``StreamReader``.
Connection errors and 5xx answers are retried with backoff, but only before the
first chunk arrived: a half-streamed answer is never silently restarted.
The transport is ``cortex.http_client`` (the standard library's ``http.client``).
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from cortex import http_client
from cortex.config import PROVIDERS
from cortex.llm_service.llama_api import StreamReader, chat_body
from cortex.providers import Capability, Messages, Options, Provider, ProviderError, Response, error_detail

if TYPE_CHECKING:
    import http.client

CONNECT_TIMEOUT = 3.0
READ_TIMEOUT = 120.0
RETRIES = 2  # after the first try
BACKOFF = 0.25  # seconds, doubled each retry


def chat_url(base_url: str) -> str:
    """``.../v1/chat/completions`` for a base URL given with or without its ``/v1``."""
    base = base_url.rstrip("/")
    return f"{base}/chat/completions" if base.endswith("/v1") else f"{base}/v1/chat/completions"


class OpenAICompatProvider(Provider):
    """Serves every registry name whose backend speaks OpenAI's chat completions (llama_cpp, ollama, openai)."""

    capabilities = frozenset({Capability.STREAM, Capability.JSON_SCHEMA})

    def __init__(self, name: str, base_url: str, model: str = "", api_key: str = ""):
        self.name = name
        self.base_url = base_url.rstrip("/")
        self.model = model
        self._api_key = api_key
        self.url = chat_url(self.base_url)
        entry = PROVIDERS.get(name)
        self._start_hint, self._key_hint = (entry.start_hint, entry.key_hint) if entry else ("", "")

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._api_key}"} if self._api_key else {}

    def body(self, messages: Messages, options: Options) -> dict[str, Any]:
        extra: dict[str, Any] = {}
        if self.model:
            extra["model"] = self.model
        if options.stop:
            extra["stop"] = options.stop
        if options.json_schema is not None:
            extra["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": "answer", "schema": options.json_schema, "strict": True},
            }
        if self.name == "llama_cpp":
            extra["cache_prompt"] = True  # reuse the KV cache of a byte-identical prompt prefix
        return chat_body(messages, options.max_tokens, options.temperature, True, {**extra, **options.extra})

    def execute(self, messages: Messages, options: Options, response: Response) -> Iterator[str]:
        return self._stream(self.body(messages, options), response)

    def _fail(self, what: str) -> ProviderError:
        return ProviderError(f"{self.name} at {self.base_url}: {what}; {self._start_hint}".rstrip("; "))

    def _stream(self, body: dict[str, Any], response: Response) -> Iterator[str]:
        import http.client  # when the answer is read, after cortex ask's first line (cortex.http_client.connect)

        headers = {"Accept": "text/event-stream", **self._headers()}
        delay = BACKOFF
        for attempt in range(RETRIES + 1):
            try:
                with http_client.open_url(self.url, body, headers, CONNECT_TIMEOUT, READ_TIMEOUT) as r:
                    if r.status >= 500 and attempt < RETRIES:
                        raise _Retry(f"HTTP {r.status}")
                    if r.status != 200:
                        raise self._http_error(r.status, r.read(http_client.ERROR_BYTES))
                    yield from self._events(r, response)
                    return
            except (ConnectionRefusedError, socket.gaierror, _Retry) as e:
                if attempt == RETRIES:
                    reason = "connection refused" if isinstance(e, ConnectionRefusedError) else str(e)
                    raise self._fail(f"not reachable ({reason})") from None
                time.sleep(delay)
                delay *= 2
            except TimeoutError:
                raise self._fail(f"no answer within {READ_TIMEOUT:g} s") from None
            except (http.client.HTTPException, ConnectionError) as e:
                raise self._fail(
                    f"the connection broke mid-answer ({type(e).__name__}; did the server crash?)"
                ) from None
            except OSError as e:  # TLS refused (an unverified certificate), no route, ...
                raise self._fail(f"not reachable ({type(e).__name__})") from None

    def _http_error(self, status: int, raw: bytes) -> ProviderError:
        detail = error_detail(raw.decode(errors="replace"))
        if status in (401, 403):
            return ProviderError(f"{self.name} at {self.base_url} rejected the API key; {self._key_hint}")
        if status == 503:
            return ProviderError(f"{self.name} at {self.base_url} is still loading the model; try again in a moment")
        return ProviderError(f"{self.name} at {self.base_url} answered HTTP {status}: {detail}".strip())

    @staticmethod
    def _events(r: http.client.HTTPResponse, response: Response) -> Iterator[str]:
        reader = StreamReader()
        for raw in r:
            try:
                text = reader.feed(raw.decode("utf-8", "replace"))
            except ValueError:
                continue
            if reader.done:
                break
            if text:
                yield text
        result = reader.result("")
        response.set_usage(result["prompt_tokens"], result["tokens_generated"])
        response.model = result["model"] or response.model


class _Retry(Exception):
    """A 5xx answer worth one more try."""
