"""Forwarding ``inference`` to cortex-llm (llama.cpp's llama-server) through a bounded queue.

The daemon never loads a model: it validates the request, waits for one of
``[llm] parallel`` slots (at most ``[llm] queue_size`` requests may wait), and
posts to llama-server's OpenAI-compatible ``/v1/chat/completions`` (or the raw
``/completion`` with ``"template": "raw"``). httpx is imported on the first
inference so an idle daemon stays small; ``probe`` uses a few lines of plain
asyncio for the same reason, since ``status`` calls it every time.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

from cortex.daemon.protocol import ErrorCode, ProtocolError

START_HINT = "start it with 'cortex llm start' (or 'cortex up')"

OnToken = Callable[[str], Awaitable[None]]

# llama.cpp sampling options passed through unchanged: name -> accepted JSON types.
_NUM, _INT = (int, float), (int,)
PASSTHROUGH: dict[str, tuple[type, ...]] = {
    "seed": _INT,
    "ignore_eos": (bool,),
    "top_k": _INT,
    "top_p": _NUM,
    "min_p": _NUM,
    "typical_p": _NUM,
    "repeat_penalty": _NUM,
    "repeat_last_n": _INT,
    "presence_penalty": _NUM,
    "frequency_penalty": _NUM,
    "mirostat": _INT,
    "mirostat_tau": _NUM,
    "mirostat_eta": _NUM,
    "dynatemp_range": _NUM,
    "dynatemp_exponent": _NUM,
    "xtc_probability": _NUM,
    "xtc_threshold": _NUM,
    "dry_multiplier": _NUM,
    "dry_base": _NUM,
    "dry_allowed_length": _INT,
    "dry_penalty_last_n": _INT,
    "n_keep": _INT,
    "n_probs": _INT,
    "cache_prompt": (bool,),
    "grammar": (str,),
    "json_schema": (dict,),
    "samplers": (list,),
    "logit_bias": (list, dict),
}
PARAMS = (
    "prompt",
    "messages",
    "max_tokens",
    "temperature",
    "stop",
    "stream",
    "system_prompt",
    "template",
    "variables",
    "prompts",
)


def _bad(message: str) -> ProtocolError:
    return ProtocolError(ErrorCode.INVALID_PARAMS, message)


def _is(value: Any, types: tuple[type, ...]) -> bool:
    return isinstance(value, types) and not (isinstance(value, bool) and bool not in types)


def build_request(params: dict[str, Any], llm: dict[str, Any]) -> tuple[str, dict[str, Any], bool]:
    """Validate ``params`` against ``[llm]`` settings; return (path, JSON body, stream)."""
    unknown = sorted(set(params) - set(PARAMS) - set(PASSTHROUGH))
    if unknown:
        raise _bad(f"unknown inference params {', '.join(unknown)}; allowed: {', '.join([*PARAMS, *PASSTHROUGH])}")
    prompt, messages = params.get("prompt"), params.get("messages")
    if (prompt is None) == (messages is None):
        raise _bad("give exactly one of 'prompt' (text) or 'messages' (a list of {role, content})")
    if prompt is not None and not isinstance(prompt, str):
        raise _bad("'prompt' must be a string")
    if messages is not None and not (
        isinstance(messages, list)
        and messages
        and all(
            isinstance(m, dict) and isinstance(m.get("role"), str) and isinstance(m.get("content"), str)
            for m in messages
        )
    ):
        raise _bad('\'messages\' must be a non-empty list of {"role": str, "content": str}')
    max_tokens = params.get("max_tokens", llm["max_tokens_per_request"])
    if not _is(max_tokens, _INT) or max_tokens < 1:
        raise _bad("'max_tokens' must be a whole number >= 1")
    max_tokens = min(max_tokens, llm["max_tokens_per_request"])
    temperature = params.get("temperature", llm["temperature"])
    if not _is(temperature, _NUM) or not 0 <= temperature <= 2:
        raise _bad("'temperature' must be a number from 0 to 2")
    stop = params.get("stop")
    if stop is not None and not (
        isinstance(stop, str) or (isinstance(stop, list) and all(isinstance(s, str) for s in stop))
    ):
        raise _bad("'stop' must be a string or a list of strings")
    stream = params.get("stream", False)
    if not isinstance(stream, bool):
        raise _bad("'stream' must be true or false")
    system_prompt = params.get("system_prompt", llm["system_prompt"])
    if not isinstance(system_prompt, str):
        raise _bad("'system_prompt' must be a string")
    template = params.get("template", "chat")
    if template not in ("chat", "raw"):
        raise _bad(
            "'template' must be 'chat' (the model's chat template), 'raw' (the prompt as is) or a prompt template"
        )
    if "variables" in params:
        raise _bad("'variables' go with a prompt template: 'template': NAME (see 'cortex prompts list')")
    extra = {}
    for name, types in PASSTHROUGH.items():
        if name in params:
            if not _is(params[name], types):
                raise _bad(f"'{name}' must be of type {' or '.join(t.__name__ for t in types)}")
            extra[name] = params[name]
    body: dict[str, Any] = {"temperature": temperature, "stream": stream, **extra}
    if stop is not None:
        body["stop"] = [stop] if isinstance(stop, str) else stop
    if template == "raw":
        if prompt is None:
            raise _bad("'template': 'raw' needs 'prompt', not 'messages'")
        body.update(prompt=(system_prompt + "\n\n" + prompt) if system_prompt else prompt, n_predict=max_tokens)
        return "/completion", body, stream
    if messages is None:
        messages = [{"role": "user", "content": prompt}]
    if system_prompt and not any(m["role"] == "system" for m in messages):
        messages = [{"role": "system", "content": system_prompt}, *messages]
    body.update(messages=messages, max_tokens=max_tokens)
    if stream:
        body["stream_options"] = {"include_usage": True}
    return "/v1/chat/completions", body, stream


class InferenceQueue:
    """At most ``parallel`` requests at llama-server, at most ``queue_size`` waiting for a slot."""

    def __init__(self, llm: dict[str, Any]):
        self.llm = llm
        self.waiting = 0
        self.running = 0
        self._slots = asyncio.Semaphore(llm["parallel"])
        self._client: Any = None  # httpx.AsyncClient, made on first use

    @property
    def depth(self) -> int:
        return self.waiting + self.running

    @property
    def max(self) -> int:
        return self.llm["queue_size"]

    def reconfigure(self, llm: dict[str, Any]) -> None:
        """Take new [llm] settings; a changed URL or timeout gets a fresh HTTP client."""
        client_settings = ("base_url", "timeout", "parallel")
        if self._client is not None and any(llm[k] != self.llm[k] for k in client_settings):
            client, self._client = self._client, None
            asyncio.get_running_loop().create_task(client.aclose())
        if llm["parallel"] != self.llm["parallel"]:
            self._slots = asyncio.Semaphore(llm["parallel"])
        self.llm = llm

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def _http(self) -> Any:
        if self._client is None:
            import httpx

            self._client = httpx.AsyncClient(
                base_url=self.llm["base_url"],
                timeout=httpx.Timeout(self.llm["timeout"], connect=5.0),
                limits=httpx.Limits(max_keepalive_connections=self.llm["parallel"]),
            )
        return self._client

    async def run(
        self, params: dict[str, Any], on_token: OnToken | None = None, base_url: str | None = None
    ) -> dict[str, Any]:
        """Validate, queue and forward one request; raise ProtocolError with the matching code.

        ``base_url``: another llama-server than ``[llm] base_url`` (a model of the model cache).
        """
        if "prompts" in params:
            return await self.run_batch(params, base_url)
        path, body, stream = build_request(params, self.llm)
        if self.waiting >= self.llm["queue_size"]:
            raise ProtocolError(ErrorCode.QUEUE_FULL, f"inference queue is full ({self.max} waiting); retry later")
        timeout = self.llm["timeout"]
        try:
            return await asyncio.wait_for(self._queued(_at(base_url, path), body, stream, on_token), timeout)
        except asyncio.TimeoutError:
            raise ProtocolError(
                ErrorCode.TIMEOUT, f"inference took longer than {timeout:g} s ([llm] timeout); try fewer max_tokens"
            ) from None

    async def run_batch(self, params: dict[str, Any], base_url: str | None = None) -> dict[str, Any]:
        """``prompts``: each one a request with the other params, all queued at once so they share the slots.

        Every prompt is validated before any is sent; the first failure cancels the rest.
        """
        prompts = params["prompts"]
        if not isinstance(prompts, list) or not prompts or not all(isinstance(p, str) for p in prompts):
            raise _bad("'prompts' must be a non-empty list of strings")
        if "prompt" in params or "messages" in params:
            raise _bad("give 'prompts' (a batch) or 'prompt' / 'messages', not both")
        if params.get("stream"):
            raise _bad("a batch cannot stream; send the prompts as separate streaming requests")
        if len(prompts) > self.llm["queue_size"]:
            raise _bad(f"a batch holds at most {self.llm['queue_size']} prompts ([llm] queue_size)")
        rest = {k: v for k, v in params.items() if k != "prompts"}
        requests = [build_request({**rest, "prompt": p}, self.llm) for p in prompts]
        if self.waiting + len(requests) > self.llm["queue_size"]:
            raise ProtocolError(ErrorCode.QUEUE_FULL, f"inference queue has no room for {len(requests)} prompts")
        timeout = self.llm["timeout"]
        started = time.perf_counter()
        tasks = [asyncio.ensure_future(self._queued(_at(base_url, p), body, False, None)) for p, body, _ in requests]
        try:
            outputs = await asyncio.wait_for(asyncio.gather(*tasks), timeout)
        except asyncio.TimeoutError:
            raise ProtocolError(
                ErrorCode.TIMEOUT, f"the batch took longer than {timeout:g} s ([llm] timeout); try fewer prompts"
            ) from None
        finally:
            for task in tasks:
                task.cancel()
        elapsed = time.perf_counter() - started
        generated = sum(o["tokens_generated"] for o in outputs)
        return {
            "outputs": outputs,
            "prompt_tokens": sum(o["prompt_tokens"] for o in outputs),
            "tokens_generated": generated,
            "inference_time_ms": round(elapsed * 1000, 1),
            "tokens_per_second": round(generated / elapsed, 2) if elapsed > 0 else 0.0,
            "model": outputs[0]["model"],
        }

    async def _queued(self, path: str, body: dict[str, Any], stream: bool, on_token: OnToken | None) -> dict[str, Any]:
        self.waiting += 1
        try:
            await self._slots.acquire()
        finally:
            self.waiting -= 1
        self.running += 1
        try:
            return await self._forward(path, body, stream, on_token)
        finally:
            self.running -= 1
            self._slots.release()

    async def _forward(self, path: str, body: dict[str, Any], stream: bool, on_token: OnToken | None) -> dict[str, Any]:
        import httpx

        url = self.llm["base_url"]
        started = time.perf_counter()
        try:
            if stream:
                result = await self._stream(path, body, on_token)
            else:
                response = await self._http().post(path, json=body)
                _check_status(response.status_code, response.text)
                result = _parse_result(path, response.json())
        except httpx.TimeoutException:
            raise asyncio.TimeoutError from None
        except (httpx.TransportError, OSError, asyncio.IncompleteReadError, ValueError, IndexError) as e:
            raise ProtocolError(
                ErrorCode.LLM_UNAVAILABLE, f"cortex-llm at {url} is not answering ({type(e).__name__}); {START_HINT}"
            ) from None
        elapsed = time.perf_counter() - started
        result["inference_time_ms"] = round(elapsed * 1000, 1)
        result["tokens_per_second"] = round(result["tokens_generated"] / elapsed, 2) if elapsed > 0 else 0.0
        return result

    async def _stream(self, path: str, body: dict[str, Any], on_token: OnToken | None) -> dict[str, Any]:
        chat = not path.endswith("/completion")
        pieces: list[str] = []
        final: dict[str, Any] = {}
        started, first = time.perf_counter(), None
        url = path if path.startswith("http") else self.llm["base_url"].rstrip("/") + path
        async with contextlib.aclosing(_post_lines(url, body)) as lines:
            async for line in lines:
                if not line.startswith("data:"):
                    continue
                payload = line[5:].strip()
                if payload == "[DONE]":
                    break
                chunk = json.loads(payload)
                if chat:
                    choices = chunk.get("choices") or [{}]
                    text = (choices[0].get("delta") or {}).get("content") or ""
                else:
                    text = chunk.get("content") or ""
                if text:
                    if first is None:
                        first = time.perf_counter()
                    pieces.append(text)
                    if on_token is not None:
                        await on_token(text)
                final.update({k: v for k, v in chunk.items() if k in _FINAL_KEYS})
        result = _parse_result(path, final, output="".join(pieces))
        if not result["tokens_generated"]:
            result["tokens_generated"] = len(pieces)
        if first is not None:
            result["first_token_ms"] = round((first - started) * 1000, 1)
        return result


_FINAL_KEYS = ("usage", "timings", "model", "tokens_predicted", "tokens_evaluated")


def _at(base_url: str | None, path: str) -> str:
    """An absolute URL overrides the HTTP client's ``[llm] base_url``."""
    return f"{base_url.rstrip('/')}{path}" if base_url else path


def _check_status(status: int, text: str) -> None:
    if status == 200:
        return
    detail = text.strip().replace("\n", " ")[:300]
    if status == 503:
        raise ProtocolError(
            ErrorCode.LLM_UNAVAILABLE, f"cortex-llm is still loading its model; retry shortly ({detail})"
        )
    if 400 <= status < 500:
        raise ProtocolError(ErrorCode.INVALID_PARAMS, f"cortex-llm rejected the request: {detail}")
    raise ProtocolError(ErrorCode.LLM_UNAVAILABLE, f"cortex-llm failed (HTTP {status}): {detail}; {START_HINT}")


def _parse_result(path: str, data: dict[str, Any], output: str | None = None) -> dict[str, Any]:
    """The daemon's data keys from a llama-server answer (chat or raw completion)."""
    timings = data.get("timings") or {}
    if path.endswith("/completion"):
        text = data.get("content", "") if output is None else output
        prompt_tokens = data.get("tokens_evaluated") or timings.get("prompt_n") or 0
        generated = data.get("tokens_predicted") or timings.get("predicted_n") or 0
    else:
        if output is None:
            choices = data.get("choices") or [{}]
            text = (choices[0].get("message") or {}).get("content") or ""
        else:
            text = output
        usage = data.get("usage") or {}
        prompt_tokens = usage.get("prompt_tokens") or timings.get("prompt_n") or 0
        generated = usage.get("completion_tokens") or timings.get("predicted_n") or 0
    return {
        "output": text,
        "prompt_tokens": prompt_tokens,
        "tokens_generated": generated,
        "model": data.get("model", ""),
        "first_token_ms": timings.get("prompt_ms"),  # llama-server's own figure; a stream measures it here
    }


async def _body(reader: asyncio.StreamReader, headers: dict[str, str]) -> AsyncIterator[bytes]:
    """An HTTP/1.1 answer's body as it arrives: chunked, by Content-Length, or up to the close."""
    if "chunked" in headers.get("transfer-encoding", "").lower():
        while True:
            line = await reader.readline()
            if not line:  # closed before the last chunk: the server died mid-answer
                raise asyncio.IncompleteReadError(b"", None)
            size = int(line.split(b";")[0].strip(), 16)
            if size == 0:
                return
            yield await reader.readexactly(size)
            await reader.readline()  # the CRLF after each chunk
    elif "content-length" in headers:
        yield await reader.readexactly(int(headers["content-length"]))
    else:
        while data := await reader.read(1 << 16):
            yield data


async def _post_lines(url: str, body: dict[str, Any]) -> AsyncIterator[str]:
    """POST ``body`` as JSON to ``url`` and yield the answer's lines as they arrive (streams).

    A few lines of asyncio instead of httpx: httpx's streaming adds about 6 ms
    before the first token on loopback, most of what the daemon's hop would cost
    (bench/ask_via_daemon.py). A non-200 answer raises through ``_check_status``.
    """
    host, port = _host_port(url)
    parts = urlsplit(url)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    payload = json.dumps(body).encode()
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(
            f"POST {target} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
            f"Accept: text/event-stream\r\nContent-Length: {len(payload)}\r\nConnection: close\r\n\r\n".encode()
            + payload
        )
        status = int((await reader.readline()).split(b" ", 2)[1])
        headers = {}
        while (line := await reader.readline()).strip():
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        if status != 200:
            _check_status(status, b"".join([d async for d in _body(reader, headers)]).decode(errors="replace"))
        rest = b""
        async for data in _body(reader, headers):
            *lines, rest = (rest + data).split(b"\n")
            for line in lines:
                yield line.decode("utf-8", "replace").rstrip("\r")
        if rest:
            yield rest.decode("utf-8", "replace")
    finally:
        writer.close()


async def _get(host: str, port: int, path: str, timeout: float) -> tuple[int, bytes]:
    reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
    try:
        writer.write(f"GET {path} HTTP/1.0\r\nHost: {host}\r\n\r\n".encode())
        raw = await asyncio.wait_for(reader.read(1 << 16), timeout)
        while True:
            more = await asyncio.wait_for(reader.read(1 << 16), timeout)
            if not more:
                break
            raw += more
    finally:
        writer.close()
    head, _, payload = raw.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), payload


def _host_port(base_url: str) -> tuple[str, int]:
    parts = urlsplit(base_url)
    return parts.hostname or "127.0.0.1", parts.port or (443 if parts.scheme == "https" else 80)


async def llm_metrics(base_url: str, timeout: float = 1.0) -> str:
    """llama-server's own Prometheus text ("" when it is down or serves none)."""
    try:
        status, payload = await _get(*_host_port(base_url), "/metrics", timeout)
    except (OSError, asyncio.TimeoutError, ValueError, IndexError):
        return ""
    return payload.decode("utf-8", "replace") if status == 200 else ""


async def probe(base_url: str, timeout: float = 1.0) -> dict[str, Any]:
    """cortex-llm's state ("up", "loading", "down") and the model it serves."""
    host, port = _host_port(base_url)
    try:
        status, _ = await _get(host, port, "/health", timeout)
        if status != 200:
            return {"state": "loading" if status == 503 else f"error {status}", "model": ""}
        status, payload = await _get(host, port, "/v1/models", timeout)
        models = json.loads(payload).get("data") or [{}] if status == 200 else [{}]
        return {"state": "up", "model": models[0].get("id", "")}
    except (OSError, asyncio.TimeoutError, ValueError, IndexError, AttributeError):
        return {"state": "down", "model": ""}
