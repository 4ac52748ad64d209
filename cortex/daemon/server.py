"""The Unix-socket server: framing, limits and permissions; what a command does lives in commands.py.

Each connection is an ``asyncio.Protocol`` (as in uvicorn: the protocol owns
the wire). Frames are split from the byte stream in ``data_received`` and
answered in order. A command that answers at once (ping, version, config...)
is answered right there, with no task or future; one that waits (inference,
health) runs as a task while later frames of that connection wait in its
buffer. A client that stops reading pauses only its own reading (transport flow
control), so it never delays others. One sweeper task (not a timer per read)
closes connections idle longer than ``idle_timeout``, which also ends
half-open and trickling (slowloris) clients.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import socket
import stat
import struct
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cortex.protocol import MAX_FRAME, ErrorCode, ProtocolError, Request, decode_request, encode, error

log = logging.getLogger("cortexd.server")

# dispatch answers at once (a dict) or later (an awaitable of the dict).
Dispatch = Callable[[Request, "Connection"], "dict[str, Any] | Awaitable[dict[str, Any]]"]
LINGER = 1.0  # seconds a closing connection keeps discarding input, so the client reads our last error


class SocketInUse(RuntimeError):
    """Another daemon answers on the socket path; this one must not start."""


@dataclass(frozen=True)
class Peer:
    """SO_PEERCRED of the connecting process."""

    pid: int
    uid: int
    gid: int


def peer_credentials(sock: socket.socket | None) -> Peer:
    if sock is None:
        return Peer(0, -1, -1)
    raw = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    return Peer(*struct.unpack("3i", raw))


class TokenBucket:
    """``rate`` requests a second on average, ``burst`` at once; the clock is injectable for tests."""

    def __init__(self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic):
        self.rate, self.burst, self.clock = rate, burst, clock
        self.tokens = float(burst)
        self.stamp = clock()

    def allow(self, now: float | None = None) -> bool:
        """Take a token if there is one; ``now`` saves a clock read when the caller has one."""
        now = self.clock() if now is None else now
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


@dataclass
class Limits:
    max_connections: int = 1024
    idle_timeout: float = 300.0
    rate_limit: float = 500.0
    rate_burst: int = 1000

    @classmethod
    def from_config(cls, config: Any) -> Limits:
        return cls(
            config["daemon.max_connections"],
            config["daemon.idle_timeout"],
            config["daemon.rate_limit"],
            config["daemon.rate_burst"],
        )


class Connection(asyncio.Protocol):
    """One client: its peer, its buffer, and whether a command is running for it."""

    def __init__(self, server: Server):
        self.server = server
        self.transport: asyncio.Transport | None = None
        self.peer = Peer(0, -1, -1)
        self.bucket: TokenBucket | None = None
        self.buffer = bytearray()
        self.busy = False  # a command is running (its task holds the connection)
        self.eof = False
        self.closing = False  # answered for the last time; input is discarded
        self.last_active = time.monotonic()
        self._write_paused = False
        self._drained: asyncio.Future[None] | None = None

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        server = self.server
        if len(server.connections) >= server.limits.max_connections or not server.accepting:
            self._close_with(error(None, ErrorCode.RATE_LIMITED, "too many connections to cortexd; retry"))
            return
        try:
            self.peer = peer_credentials(transport.get_extra_info("socket"))
        except OSError:
            transport.abort()
            return
        self.bucket = server.bucket_for(self.peer)
        server.connections.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        if self in self.server.connections:
            self.server.connections.discard(self)
            self.server.release_bucket(self.peer)
        if self._drained is not None and not self._drained.done():
            self._drained.set_exception(ConnectionResetError("client went away"))

    def data_received(self, data: bytes) -> None:
        if self.closing:
            return
        self.buffer += data
        if not self.busy:
            self._process()

    def eof_received(self) -> bool:
        self.eof = True
        if self.closing:
            return False  # nothing more to discard: close now
        if not self.busy:
            self._process()
        return True  # keep our side open until the answers are out

    def pause_writing(self) -> None:
        self._write_paused = True
        if self.transport is not None:
            self.transport.pause_reading()  # stop taking requests from a client that does not read answers

    def resume_writing(self) -> None:
        self._write_paused = False
        if self._drained is not None and not self._drained.done():
            self._drained.set_result(None)
        if self.transport is not None and not self.closing:
            self.transport.resume_reading()

    # framing
    def _process(self) -> None:
        """Answer every complete frame in the buffer, until one needs to wait."""
        buffer = self.buffer
        while not self.busy and not self.closing:
            end = buffer.find(b"\n")
            if end == -1:
                if len(buffer) > MAX_FRAME:
                    self._close_with(error(None, ErrorCode.TOO_LARGE, f"request line is over {MAX_FRAME} bytes"))
                elif self.eof:  # EOF: a last request without a newline counts
                    frame = bytes(buffer)
                    buffer.clear()
                    if frame.strip():
                        self._answer(frame)
                        continue
                    self._finish()
                return
            if end > MAX_FRAME:
                self._close_with(error(None, ErrorCode.TOO_LARGE, f"request line is over {MAX_FRAME} bytes"))
                return
            frame = bytes(buffer[:end])
            del buffer[: end + 1]
            if frame.strip():
                self._answer(frame)

    def _answer(self, frame: bytes) -> None:
        now = time.monotonic()
        self.last_active = now
        try:
            request = decode_request(frame)
        except ProtocolError as e:
            self._write(error(e.id, e.code, e.message))
            return
        if not self.server.accepting:
            self._close_with(error(request.id, ErrorCode.INTERNAL, "cortexd is shutting down; retry in a moment"))
            return
        assert self.bucket is not None
        if not self.bucket.allow(now):
            self._write(error(request.id, ErrorCode.RATE_LIMITED, "too many requests; slow down and retry"))
            return
        result = self.server.dispatch(request, self)
        if isinstance(result, dict):
            self._write(result)
        else:
            self.busy = True
            self.server.track(asyncio.ensure_future(self._later(result)))

    async def _later(self, result: Awaitable[dict[str, Any]]) -> None:
        try:
            response = await result
        except ConnectionError:  # the client left while its command ran
            self.busy = False
            return
        self.busy = False
        self.last_active = time.monotonic()
        self._write(response)
        if self.transport is not None and not self.transport.is_closing():
            self._process()  # frames that arrived meanwhile

    def _write(self, message: dict[str, Any]) -> None:
        try:
            data = encode(message)
        except (TypeError, ValueError) as e:  # a handler returned something JSON cannot carry
            log.error("cannot encode response to %r: %s", message.get("id"), e)
            data = encode(error(None, ErrorCode.INTERNAL, "response could not be encoded"))
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(data)

    def _finish(self) -> None:
        """The client half-closed and everything is answered: close."""
        if self.transport is not None:
            self.transport.close()

    def _close_with(self, message: dict[str, Any]) -> None:
        """Send a last error, half-close, discard what the client still sends, then close.

        Closing with unread input makes the kernel reset the connection, and the
        client could lose the error; discarding first (for up to LINGER s) avoids that.
        """
        self.closing = True
        self.buffer.clear()
        transport = self.transport
        if transport is None:
            return
        self._write(message)
        if self.eof:
            transport.close()
            return
        with contextlib.suppress(OSError, RuntimeError):
            transport.write_eof()
        transport.resume_reading()
        asyncio.get_running_loop().call_later(LINGER, transport.close)

    # what handlers use
    async def send(self, message: dict[str, Any]) -> None:
        """Write one frame now (token events); wait while the client is not reading."""
        if self.transport is None or self.transport.is_closing():
            raise ConnectionResetError("client went away")
        self._write(message)
        if self._write_paused:
            self._drained = asyncio.get_running_loop().create_future()
            await self._drained

    @property
    def is_admin(self) -> bool:
        """Root or the daemon's own user may run admin commands."""
        return self.peer.uid in (0, os.geteuid())


def socket_alive(path: Path, timeout: float = 1.0) -> bool:
    """True when something accepts connections on ``path``."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect(str(path))
        return True
    except OSError:
        return False
    finally:
        s.close()


def prepare_socket_dir(path: Path, mode: str) -> None:
    """Create the socket's directory: 0700 for a user, 0750 root:cortex for the system service."""
    directory = path.parent
    directory.mkdir(parents=True, exist_ok=True)
    if mode == "system":
        with contextlib.suppress(KeyError, PermissionError):
            import grp

            os.chown(directory, 0, grp.getgrnam("cortex").gr_gid)
        directory.chmod(0o750)
    elif directory.stat().st_uid == os.geteuid() and directory.name in ("cortex", "run"):
        directory.chmod(0o700)  # our own run dir; a shared directory given by --socket is left alone
    if directory.stat().st_mode & stat.S_IWOTH and not directory.stat().st_mode & stat.S_ISVTX:
        raise PermissionError(f"{directory} is world-writable; choose a private directory for the socket")


def remove_stale_socket(path: Path) -> None:
    """Remove a socket file left by a crash; refuse when a live daemon answers on it."""
    if not (path.exists() or path.is_symlink()):
        return
    if not stat.S_ISSOCK(path.lstat().st_mode):
        raise SocketInUse(f"{path} exists and is not a socket; remove it or choose another --socket")
    if socket_alive(path):
        raise SocketInUse(f"cortexd is already running on {path}; stop it with 'cortex daemon stop'")
    log.info("removing stale socket %s", path)
    path.unlink()


class Server:
    """Accepts connections on a Unix socket and hands each frame to ``dispatch``."""

    def __init__(self, path: Path, dispatch: Dispatch, limits: Limits, mode: str = "user"):
        self.path, self.dispatch, self.limits, self.mode = path, dispatch, limits, mode
        self.connections: set[Connection] = set()
        self._buckets: dict[int, tuple[TokenBucket, int]] = {}  # peer pid -> (bucket, connection count)
        self._tasks: set[asyncio.Future[None]] = set()
        self._server: asyncio.AbstractServer | None = None
        self._sweeper: asyncio.Task[None] | None = None
        self.accepting = False

    async def start(self) -> None:
        prepare_socket_dir(self.path, self.mode)
        remove_stale_socket(self.path)
        loop = asyncio.get_running_loop()
        old_umask = os.umask(0o177 if self.mode == "user" else 0o117)
        try:
            self._server = await loop.create_unix_server(
                lambda: Connection(self), path=str(self.path), backlog=socket.SOMAXCONN
            )
        except OSError as e:
            if e.errno == errno.EADDRINUSE:
                raise SocketInUse(f"{self.path} is in use by another process") from None
            raise
        finally:
            os.umask(old_umask)
        if self.mode == "system":
            with contextlib.suppress(KeyError, PermissionError):
                import grp

                os.chown(self.path, 0, grp.getgrnam("cortex").gr_gid)
        self.path.chmod(0o600 if self.mode == "user" else 0o660)
        self.accepting = True
        self._sweeper = asyncio.create_task(self._sweep())
        log.info("listening on %s", self.path)

    def track(self, task: asyncio.Future[None]) -> None:
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def stop_accepting(self) -> None:
        """Close the listening socket and remove its file; open connections carry on."""
        self.accepting = False
        if self._server is not None:
            self._server.close()
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()

    async def stop(self, timeout: float) -> None:
        """Stop accepting, let in-flight commands finish for up to ``timeout`` seconds, then close all."""
        self.stop_accepting()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=timeout)
        for task in list(self._tasks):
            task.cancel()
        await asyncio.sleep(0)  # let the last answers reach the transports
        for conn in list(self.connections):
            if conn.transport is not None:
                conn.transport.close()
        if self._sweeper:
            self._sweeper.cancel()

    def bucket_for(self, peer: Peer) -> TokenBucket:
        bucket, count = self._buckets.get(peer.pid, (None, 0))
        if bucket is None:
            bucket = TokenBucket(self.limits.rate_limit, self.limits.rate_burst)
        self._buckets[peer.pid] = (bucket, count + 1)
        return bucket

    def release_bucket(self, peer: Peer) -> None:
        bucket, count = self._buckets[peer.pid]
        if count <= 1:
            del self._buckets[peer.pid]
        else:
            self._buckets[peer.pid] = (bucket, count - 1)

    async def _sweep(self) -> None:
        """Close connections that have been idle (no command running) longer than idle_timeout."""
        while True:
            await asyncio.sleep(min(self.limits.idle_timeout / 4, 5.0))
            cutoff = time.monotonic() - self.limits.idle_timeout
            for conn in list(self.connections):
                if not conn.busy and conn.last_active < cutoff and conn.transport is not None:
                    log.debug("closing idle connection of pid %d", conn.peer.pid)
                    conn.transport.abort()
