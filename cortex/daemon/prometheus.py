"""The Prometheus HTTP endpoint: ``GET /metrics`` on 127.0.0.1:``[metrics] port`` when ``[metrics] enabled``.

A few lines of asyncio on cortexd's own loop rather than prometheus_client's
threaded server: the exposition needs the daemon's state, which lives on the
loop, and a scrape must never block IPC. Requests are small and bounded: one
request line and headers within 8 KiB and 5 s, then the connection closes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger("cortexd")

MAX_HEAD = 8192
READ_TIMEOUT = 5.0


def _response(status: str, body: bytes, content_type: str = "text/plain; charset=utf-8") -> bytes:
    head = f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}\r\nConnection: close\r\n"
    return head.encode() + b"\r\n" + body


class MetricsEndpoint:
    """Serves ``render()`` (the exposition text) at /metrics; ``start`` binds 127.0.0.1 only."""

    def __init__(self, port: int, render: Callable[[], Awaitable[str]], content_type: str):
        self.port = port
        self.render = render
        self.content_type = content_type
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)
        log.info("Prometheus metrics on http://127.0.0.1:%d/metrics", self.port)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._server.wait_closed(), 1)
            self._server = None

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), READ_TIMEOUT)
            writer.write(await self._answer(head))
            await writer.drain()
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, asyncio.TimeoutError, ConnectionError):
            pass
        except Exception:
            log.exception("metrics endpoint failed")
            with contextlib.suppress(ConnectionError):
                writer.write(_response("500 Internal Server Error", b"internal error in cortexd; see its log\n"))
        finally:
            writer.close()

    async def _answer(self, head: bytes) -> bytes:
        if len(head) > MAX_HEAD:
            return _response("431 Request Header Fields Too Large", b"request too large\n")
        parts = head.split(b"\r\n", 1)[0].split(b" ")
        if len(parts) != 3 or not parts[2].startswith(b"HTTP/"):
            return _response("400 Bad Request", b"bad request line\n")
        method, target = parts[0], parts[1].split(b"?", 1)[0]
        if method not in (b"GET", b"HEAD"):
            return _response("405 Method Not Allowed", b"only GET\n")
        if target != b"/metrics":
            return _response("404 Not Found", b"metrics are at /metrics\n")
        response = _response("200 OK", (await self.render()).encode(), self.content_type)
        return response.split(b"\r\n\r\n", 1)[0] + b"\r\n\r\n" if method == b"HEAD" else response
