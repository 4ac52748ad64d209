"""Forwarding ``inference`` to cortex-llm (llama.cpp's llama-server) through a bounded queue.

The daemon never loads a model: it validates the request, is admitted or
refused with ``queue_full`` at once (at most ``[llm] parallel`` running plus
``[llm] queue_size`` waiting, counted the moment a request arrives, so
simultaneous arrivals cannot overshoot), waits for one of the slots, and
posts to llama-server's OpenAI-compatible ``/v1/chat/completions`` (or the raw
``/completion`` with ``"template": "raw"``). What goes over the wire, and the
small client that carries it, are ``cortex.llm_service.llama_api``'s.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from cortex.hints import start_hint
from cortex.llm_service import api_key
from cortex.llm_service.llama_api import (
    CHAT_PATH,
    COMPLETION_PATH,
    SAMPLING_OPTIONS,
    BadStatus,
    StreamReader,
    chat_body,
    completion_body,
    parse_result,
    post_lines,
)
from cortex.protocol import ErrorCode, ProtocolError

if TYPE_CHECKING:
    from pathlib import Path

OnToken = Callable[[str], Awaitable[None]]
PARAMS = (
    "prompt", "messages", "max_tokens", "temperature", "stop", "stream", "system_prompt", "template",
    "variables", "prompts",
)  # fmt: skip


def _bad(message: str) -> ProtocolError:
    return ProtocolError(ErrorCode.INVALID_PARAMS, message)


def _is(value: Any, types: tuple[type, ...]) -> bool:
    return isinstance(value, types) and not (isinstance(value, bool) and bool not in types)


def build_request(params: dict[str, Any], llm: dict[str, Any]) -> tuple[str, dict[str, Any], bool]:
    """Validate ``params`` against ``[llm]`` settings; return (path, JSON body, stream)."""
    unknown = sorted(set(params) - set(PARAMS) - set(SAMPLING_OPTIONS))
    if unknown:
        raise _bad(f"unknown inference params {', '.join(unknown)}; allowed: {', '.join([*PARAMS, *SAMPLING_OPTIONS])}")
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
    if not _is(max_tokens, (int,)) or max_tokens < 1:
        raise _bad("'max_tokens' must be a whole number >= 1")
    max_tokens = min(max_tokens, llm["max_tokens_per_request"])
    temperature = params.get("temperature", llm["temperature"])
    if not _is(temperature, (int, float)) or not 0 <= temperature <= 2:
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
    for name, types in SAMPLING_OPTIONS.items():
        if name in params:
            if not _is(params[name], types):
                raise _bad(f"'{name}' must be of type {' or '.join(t.__name__ for t in types)}")
            extra[name] = params[name]
    if stop is not None:
        extra["stop"] = [stop] if isinstance(stop, str) else stop
    if template == "raw":
        if prompt is None:
            raise _bad("'template': 'raw' needs 'prompt', not 'messages'")
        prompt = (system_prompt + "\n\n" + prompt) if system_prompt else prompt
        return COMPLETION_PATH, completion_body(prompt, max_tokens, temperature, stream, extra), stream
    if messages is None:
        messages = [{"role": "user", "content": prompt}]
    if system_prompt and not any(m["role"] == "system" for m in messages):
        messages = [{"role": "system", "content": system_prompt}, *messages]
    return CHAT_PATH, chat_body(messages, max_tokens, temperature, stream, extra), stream


class InferenceQueue:
    """At most ``parallel`` requests at llama-server, at most ``queue_size`` waiting for a slot."""

    def __init__(self, llm: dict[str, Any], key_file: Path | None = None, mode: str = "user"):
        self.llm = llm
        self.start_hint = start_hint("cortex-llm", mode)  # cortexd's run mode: systemctl or cortex llm start
        self.key_file = key_file  # cortex-llm's API key, read on each request: it may be created after cortexd starts
        self.depth = 0  # requests admitted: running or waiting
        self._slots = asyncio.Semaphore(llm["parallel"])

    @property
    def max(self) -> int:
        """Requests admitted at most: ``parallel`` running plus ``queue_size`` waiting."""
        return self.llm["parallel"] + self.llm["queue_size"]

    def _admit(self, count: int) -> None:
        """Count ``count`` requests in before anything awaits, or refuse them all: the check and the count are one
        step of the event loop, so requests arriving together cannot all pass the check."""
        if self.depth + count > self.max:
            raise ProtocolError(
                ErrorCode.QUEUE_FULL,
                f"inference queue is full ({self.llm['parallel']} running, {self.llm['queue_size']} waiting: "
                "[llm] parallel and queue_size); retry later",
            )
        self.depth += count

    def reconfigure(self, llm: dict[str, Any], key_file: Path | None = None) -> None:
        """Take new [llm] settings; a new ``parallel`` applies to requests that queue from now on."""
        if llm["parallel"] != self.llm["parallel"]:
            self._slots = asyncio.Semaphore(llm["parallel"])
        self.llm = llm
        self.key_file = key_file

    async def run(
        self, params: dict[str, Any], on_token: OnToken | None = None, base_url: str | None = None
    ) -> dict[str, Any]:
        """Validate, queue and forward one request; raise ProtocolError with the matching code.

        ``base_url``: another llama-server than ``[llm] base_url`` (a model of the model cache).
        """
        if "prompts" in params:
            return await self.run_batch(params, base_url)
        path, body, stream = build_request(params, self.llm)
        self._admit(1)
        timeout = self.llm["timeout"]
        try:
            return await asyncio.wait_for(self._queued(self._url(base_url, path), body, stream, on_token), timeout)
        except asyncio.TimeoutError:
            raise ProtocolError(
                ErrorCode.TIMEOUT, f"inference took longer than {timeout:g} s ([llm] timeout); try fewer max_tokens"
            ) from None
        finally:
            self.depth -= 1

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
        self._admit(len(requests))
        timeout = self.llm["timeout"]
        started = time.perf_counter()
        tasks = [
            asyncio.ensure_future(self._queued(self._url(base_url, path), body, False, None))
            for path, body, _ in requests
        ]
        try:
            outputs = await asyncio.wait_for(asyncio.gather(*tasks), timeout)
        except asyncio.TimeoutError:
            raise ProtocolError(
                ErrorCode.TIMEOUT, f"the batch took longer than {timeout:g} s ([llm] timeout); try fewer prompts"
            ) from None
        finally:
            for task in tasks:
                task.cancel()
            self.depth -= len(requests)
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

    def _url(self, base_url: str | None, path: str) -> str:
        return (base_url or self.llm["base_url"]).rstrip("/") + path

    async def _queued(self, url: str, body: dict[str, Any], stream: bool, on_token: OnToken | None) -> dict[str, Any]:
        async with self._slots:
            return await self._forward(url, body, stream, on_token)

    async def _forward(self, url: str, body: dict[str, Any], stream: bool, on_token: OnToken | None) -> dict[str, Any]:
        chat, key = url.endswith(CHAT_PATH), api_key.read(self.key_file)
        started = time.perf_counter()
        try:
            if stream:
                result = await _stream(url, body, key, chat, on_token)
            else:
                lines = [line async for line in post_lines(url, body, key)]
                result = parse_result(json.loads("\n".join(lines)), chat)
        except BadStatus as e:
            raise _status_error(e, self.start_hint) from None
        except asyncio.TimeoutError:
            raise
        except (OSError, asyncio.IncompleteReadError, ValueError, IndexError) as e:
            raise ProtocolError(
                ErrorCode.LLM_UNAVAILABLE,
                f"cortex-llm at {self.llm['base_url']} is not answering ({type(e).__name__}); {self.start_hint}",
            ) from None
        elapsed = time.perf_counter() - started
        result["inference_time_ms"] = round(elapsed * 1000, 1)
        result["tokens_per_second"] = round(result["tokens_generated"] / elapsed, 2) if elapsed > 0 else 0.0
        return result


async def _stream(url: str, body: dict[str, Any], key: str, chat: bool, on_token: OnToken | None) -> dict[str, Any]:
    """Pass each piece of text to ``on_token`` as it arrives; the result counts cortexd's own first-token time."""
    reader = StreamReader(chat)
    pieces: list[str] = []
    started, first = time.perf_counter(), None
    async with contextlib.aclosing(post_lines(url, body, key)) as lines:
        async for line in lines:
            text = reader.feed(line)
            if reader.done:
                break
            if text:
                if first is None:
                    first = time.perf_counter()
                pieces.append(text)
                if on_token is not None:
                    await on_token(text)
    result = reader.result("".join(pieces))
    if not result["tokens_generated"]:
        result["tokens_generated"] = len(pieces)
    if first is not None:
        result["first_token_ms"] = round((first - started) * 1000, 1)
    return result


def _status_error(e: BadStatus, hint: str) -> ProtocolError:
    if e.status == 401:
        return ProtocolError(
            ErrorCode.LLM_UNAVAILABLE,
            "cortex-llm refused cortexd's API key; set [llm] api_key_file to the key file it was started with",
        )
    if e.status == 503:
        return ProtocolError(
            ErrorCode.LLM_UNAVAILABLE, f"cortex-llm is still loading its model; retry shortly ({e.detail})"
        )
    if 400 <= e.status < 500:
        return ProtocolError(ErrorCode.INVALID_PARAMS, f"cortex-llm rejected the request: {e.detail}")
    return ProtocolError(ErrorCode.LLM_UNAVAILABLE, f"cortex-llm failed (HTTP {e.status}): {e.detail}; {hint}")
