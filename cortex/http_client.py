"""Cortex's one HTTP client: the standard library's ``http.client``, for every request Cortex makes.

Providers (OpenAI-compatible servers, Claude), alert webhooks and an https ``[llm] base_url`` behind
cortexd all go through ``open_url``; TLS is verified against the system's certificates. It is the
standard library, not httpx, because ``cortex ask`` is a fast path (httpx costs about 110 ms of
imports) and an idle cortexd would carry httpx's ``ssl`` (4.5 MB of RSS) for nothing. cortexd's
plain-HTTP streams to llama-server on loopback and its probes are llama-server's wire, in
``cortex.llm_service.llama_api``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:
    import http.client

ERROR_BYTES = 64 * 1024  # of an error answer's body kept for its message


def connect(url: str, connect_timeout: float, read_timeout: float | None) -> http.client.HTTPConnection:
    """An open connection to ``url``'s host (https verified); ``read_timeout`` then bounds each read."""
    import http.client  # here: ~10 ms (email's parser, ssl) that cortex ask's first line need not wait for

    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise ValueError(f"expected an http:// or https:// URL, got {url!r}")
    cls = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    conn = cls(parts.hostname or "127.0.0.1", parts.port, timeout=connect_timeout)
    conn.connect()
    conn.sock.settimeout(read_timeout)
    return conn


def send(
    conn: http.client.HTTPConnection, url: str, body: Any, headers: dict[str, str] | None
) -> http.client.HTTPResponse:
    """POST ``body`` as JSON (GET when it is None) on ``conn`` and return the answer once its headers are in."""
    parts = urlsplit(url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    sent = dict(headers or {})
    payload = None
    if body is not None:
        payload = json.dumps(body).encode()
        sent.setdefault("Content-Type", "application/json")
    conn.request("GET" if payload is None else "POST", target, payload, sent)
    return conn.getresponse()


@contextmanager
def open_url(
    url: str,
    body: Any = None,
    headers: dict[str, str] | None = None,
    connect_timeout: float = 5.0,
    read_timeout: float | None = 120.0,
) -> Iterator[http.client.HTTPResponse]:
    """``send`` on a new connection; the connection closes on exit.

    OSError (ConnectionError, TimeoutError, ssl.SSLError...) and ``http.client.HTTPException`` pass through.
    """
    conn = connect(url, connect_timeout, read_timeout)
    try:
        yield send(conn, url, body, headers)
    finally:
        conn.close()


def lines(response: http.client.HTTPResponse) -> Iterator[str]:
    """The answer's lines as they arrive, decoded, without their line ends."""
    for raw in response:
        yield raw.decode("utf-8", "replace").rstrip("\r\n")


def error_text(response: http.client.HTTPResponse) -> str:
    """The start of an error answer's body, on one line."""
    return response.read(ERROR_BYTES).decode("utf-8", "replace").strip().replace("\n", " ")
