"""llama-server's HTTP API in one place: what to send it, how to read what it answers, and cortexd's client.

The sans-I/O part knows the wire and nothing else: request bodies for the OpenAI-style
``/v1/chat/completions`` and llama.cpp's raw ``/completion``, streams (``data:`` lines,
``[DONE]``, ``delta.content``, then ``usage`` and llama.cpp's ``timings``), whole answers, what
``/health`` means and the ``llamacpp:`` samples of ``/metrics``. ``cortex ask`` talks to it through
the OpenAI-compatible provider, over ``cortex.http_client``.

The I/O part is plain HTTP/1.x on sockets: ``get`` serves every probe, which an idle cortexd runs
on each monitor tick and each ``status`` (``http.client`` imports ``ssl``, libssl's 4.5 MB);
``post_lines`` carries cortexd's requests, one connection each, on asyncio's streams in the
daemon's own loop (no thread per request; httpx's streaming cost about 5 ms before the first
token, bench/ask_via_daemon.py). An https URL (a remote server, never
cortex-llm itself) goes through Cortex's one HTTP client, ``cortex.http_client``, for its TLS.
"""

from __future__ import annotations

import contextlib
import json
import socket
from urllib.parse import urlsplit

from cortex.redact import excerpt

TYPE_CHECKING = False  # 'cortex llm start' and the keeper load this module: typing is for type checkers only
if TYPE_CHECKING:
    from asyncio import StreamReader as AsyncReader  # imported where it is used: 'cortex ask' never needs asyncio
    from collections.abc import AsyncIterator, Iterator
    from typing import Any

CHAT_PATH = "/v1/chat/completions"
COMPLETION_PATH = "/completion"
MAX_PROBE_BYTES = 1 << 20
READY_POLL = 0.005  # seconds between /health probes of a starting llama-server: half of it is added to
# 'cortex llm start' on average (0.05 s added 25 ms), and a probe costs about 0.2 ms of CPU

# llama.cpp sampling options a request may pass through unchanged: name -> accepted JSON types.
_NUM, _INT = (int, float), (int,)
SAMPLING_OPTIONS: dict[str, tuple[type, ...]] = {
    "seed": _INT, "ignore_eos": (bool,), "top_k": _INT, "top_p": _NUM, "min_p": _NUM, "typical_p": _NUM,
    "repeat_penalty": _NUM, "repeat_last_n": _INT, "presence_penalty": _NUM, "frequency_penalty": _NUM,
    "mirostat": _INT, "mirostat_tau": _NUM, "mirostat_eta": _NUM, "dynatemp_range": _NUM, "dynatemp_exponent": _NUM,
    "xtc_probability": _NUM, "xtc_threshold": _NUM, "dry_multiplier": _NUM, "dry_base": _NUM,
    "dry_allowed_length": _INT, "dry_penalty_last_n": _INT, "n_keep": _INT, "n_probs": _INT, "cache_prompt": (bool,),
    "grammar": (str,), "json_schema": (dict,), "samplers": (list,), "logit_bias": (list, dict),
}  # fmt: skip
# Keys of a stream's chunks that describe the whole answer; the last one seen wins.
_SUMMARY_KEYS = ("usage", "timings", "model", "tokens_predicted", "tokens_evaluated")


class BadStatus(Exception):
    """llama-server answered, but not with 200; ``detail`` is the start of its answer, on one line, redacted."""

    def __init__(self, status: int, text: str):
        super().__init__(f"HTTP {status}")
        self.status = status
        self.detail = excerpt(text)


def chat_body(
    messages: list[dict[str, str]], max_tokens: int, temperature: float, stream: bool, extra: dict[str, Any]
) -> dict[str, Any]:
    """A ``/v1/chat/completions`` body, ``extra`` last; a stream asks for the token counts in its last chunk."""
    body = {"messages": messages, "max_tokens": max_tokens, "temperature": temperature, "stream": stream}
    if stream:
        body["stream_options"] = {"include_usage": True}
    return {**body, **extra}


def completion_body(
    prompt: str, max_tokens: int, temperature: float, stream: bool, extra: dict[str, Any]
) -> dict[str, Any]:
    """A raw ``/completion`` body: the prompt as it is, no chat template."""
    return {"prompt": prompt, "n_predict": max_tokens, "temperature": temperature, "stream": stream, **extra}


def parse_result(data: dict[str, Any], chat: bool = True, output: str | None = None) -> dict[str, Any]:
    """The answer's text, token counts, model and llama-server's own time to the first token.

    ``data`` is a whole answer, or a stream's summary with its text as ``output``.
    """
    timings = data.get("timings") or {}
    if chat:
        if output is None:
            choices = data.get("choices") or [{}]
            output = (choices[0].get("message") or {}).get("content") or ""
        usage = data.get("usage") or {}
        prompt_tokens = usage.get("prompt_tokens") or timings.get("prompt_n") or 0
        generated = usage.get("completion_tokens") or timings.get("predicted_n") or 0
    else:
        output = data.get("content", "") if output is None else output
        prompt_tokens = data.get("tokens_evaluated") or timings.get("prompt_n") or 0
        generated = data.get("tokens_predicted") or timings.get("predicted_n") or 0
    return {
        "output": output,
        "prompt_tokens": prompt_tokens,
        "tokens_generated": generated,
        "model": data.get("model", ""),
        "first_token_ms": timings.get("prompt_ms"),
    }


class StreamReader:
    """One streamed answer, read a line at a time: ``feed`` returns the text a line adds."""

    def __init__(self, chat: bool = True):
        self.chat = chat
        self.done = False  # [DONE] was read
        self.summary: dict[str, Any] = {}  # usage, timings, model... as the chunks last gave them

    def feed(self, line: str) -> str:
        """The text of one line ("" for comments, keep-alives and ``[DONE]``); ValueError when it is not JSON."""
        line = line.strip()
        if not line.startswith("data:"):
            return ""
        payload = line[5:].strip()
        if payload == "[DONE]":
            self.done = True
            return ""
        chunk = json.loads(payload)
        self.summary.update({k: v for k, v in chunk.items() if k in _SUMMARY_KEYS})
        if not self.chat:
            return chunk.get("content") or ""
        return "".join((c.get("delta") or {}).get("content") or "" for c in chunk.get("choices") or [])

    def result(self, output: str) -> dict[str, Any]:
        return parse_result(self.summary, self.chat, output)


def health_state(status: int) -> str:
    """What the status of ``GET /health`` says: up (200), loading (503: the model is loading) or error."""
    return "up" if status == 200 else "loading" if status == 503 else "error"


def served_model(models: str) -> str:
    """The model id a ``GET /v1/models`` answer names ("" for none)."""
    return (json.loads(models).get("data") or [{}])[0].get("id", "")


def parse_metrics(text: str) -> dict[str, float]:
    """llama-server's own samples (``llamacpp:NAME value``) of its ``/metrics`` text, by NAME."""
    samples = {}
    for line in text.splitlines():
        if line.startswith("llamacpp:"):
            name, _, value = line[9:].partition(" ")
            try:
                samples[name] = float(value)
            except ValueError:
                continue
    return samples


def _host_port(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname or "127.0.0.1", parts.port or (443 if parts.scheme == "https" else 80)


def _auth(key: str) -> str:
    """The header line that carries cortex-llm's API key ("" for none)."""
    return f"Authorization: Bearer {key}\r\n" if key else ""


def get(url: str, timeout: float, key: str = "") -> tuple[int, str]:
    """(status, body) of a plain-HTTP GET: OSError when nothing answers, ValueError when the answer is not HTTP."""
    host, port = _host_port(url)
    # A str host is encoded with the idna codec, whose first use imports stringprep and unicodedata: 1 ms of
    # every 'cortex llm start' before llama-server starts. An ASCII name's bytes are what that codec gives.
    address = host.encode() if host.isascii() else host
    with socket.create_connection((address, port), timeout=timeout) as s:
        head = f"GET {urlsplit(url).path or '/'} HTTP/1.0\r\nHost: {host}\r\n{_auth(key)}Connection: close\r\n\r\n"
        s.sendall(head.encode())
        data = b""
        while len(data) < MAX_PROBE_BYTES and (chunk := s.recv(65536)):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    version, _, rest = head.partition(b" ")
    if not version.startswith(b"HTTP/") or not rest[:3].isdigit():
        raise ValueError(f"not an HTTP answer from {url}")
    return int(rest[:3]), body.decode("utf-8", "replace")


def get_text(url: str, timeout: float = 2.0, key: str = "") -> str:
    """The body of a GET answered with 200, else "" (nothing answers, or not with 200: 401 without the key)."""
    try:
        status, text = get(url, timeout, key)
    except (OSError, ValueError):
        return ""
    return text if status == 200 else ""


def get_json(url: str, timeout: float = 2.0, key: str = "") -> Any:
    """``get_text`` read as JSON ({} when there is none)."""
    try:
        return json.loads(get_text(url, timeout, key))
    except ValueError:
        return {}


def probe(url: str, timeout: float = 1.0) -> str:
    """up, loading, error (something that is not llama-server answers) or down (nothing answers).

    ``/health`` needs no API key, so probes carry none.
    """
    try:
        status, _ = get(url + "/health", timeout)
    except OSError:
        return "down"
    except ValueError:
        return "error"
    return health_state(status)


async def post_lines(url: str, body: dict[str, Any], key: str = "") -> AsyncIterator[str]:
    """POST ``body`` as JSON (with the API key ``key``, if any) and yield the answer's lines as they arrive;
    BadStatus for an answer that is not 200."""
    import asyncio

    if urlsplit(url).scheme == "https":
        async for line in _post_lines_tls(url, body, key):
            yield line
        return
    host, port = _host_port(url)
    parts = urlsplit(url)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    payload = json.dumps(body).encode()
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(
            f"POST {target} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n{_auth(key)}"
            f"Accept: text/event-stream\r\nContent-Length: {len(payload)}\r\nConnection: close\r\n\r\n".encode()
            + payload
        )
        status = int((await reader.readline()).split(b" ", 2)[1])
        headers = {}
        while (line := await reader.readline()).strip():
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        if status != 200:
            raise BadStatus(status, b"".join([d async for d in _body(reader, headers)]).decode(errors="replace"))
        rest = b""
        async for data in _body(reader, headers):
            *lines, rest = (rest + data).split(b"\n")
            for line in lines:
                yield line.decode("utf-8", "replace").rstrip("\r")
        if rest:
            yield rest.decode("utf-8", "replace")
    finally:
        writer.close()


async def _body(reader: AsyncReader, headers: dict[str, str]) -> AsyncIterator[bytes]:
    """An HTTP/1.1 answer's body as it arrives: chunked, by Content-Length, or up to the close."""
    from asyncio import IncompleteReadError

    if "chunked" in headers.get("transfer-encoding", "").lower():
        while True:
            line = await reader.readline()
            if not line:  # closed before the last chunk: the server died mid-answer
                raise IncompleteReadError(b"", None)
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


async def _post_lines_tls(url: str, body: dict[str, Any], key: str) -> AsyncIterator[str]:
    """``post_lines`` over https: cortex's one HTTP client, blocking, in a worker thread.

    cortexd's asyncio is imported without ``ssl`` (asyncio_without_ssl), and an https server is a remote
    one, where a thread's hand-off per line is noise. Leaving early shuts the socket down, which also
    wakes a thread still waiting in a read.
    """
    import asyncio
    import http.client

    from cortex import http_client

    conn: http.client.HTTPConnection | None = None

    def open_lines() -> Iterator[str]:
        nonlocal conn
        conn = http_client.connect(url, 5.0, None)
        headers = {"Accept": "text/event-stream", **({"Authorization": f"Bearer {key}"} if key else {})}
        response = http_client.send(conn, url, body, headers)
        if response.status != 200:
            raise BadStatus(response.status, http_client.error_text(response))
        return http_client.lines(response)

    try:
        lines = await asyncio.to_thread(open_lines)
        while (line := await asyncio.to_thread(next, lines, None)) is not None:
            yield line
    except http.client.HTTPException as e:
        raise ConnectionError(f"{url}: {type(e).__name__}") from None
    finally:
        if conn is not None and conn.sock is not None:
            with contextlib.suppress(OSError):
                conn.sock.shutdown(socket.SHUT_RDWR)
            conn.close()
