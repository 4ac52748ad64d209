"""The Unix-socket server: framing, limits and permissions; what a command does lives in commands.py.

One asyncio task per connection reads NDJSON frames and answers them in order,
so a slow or silent client only ever holds its own task. A single sweeper task
(not a timer per read) closes connections idle longer than ``idle_timeout``,
which also ends half-open and trickling (slowloris) clients.
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

from cortex.daemon.protocol import MAX_FRAME, ErrorCode, ProtocolError, Request, decode_request, encode, error

log = logging.getLogger("cortexd.server")

Dispatch = Callable[[Request, "Connection"], Awaitable[dict[str, Any]]]


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


class Connection:
    """One client: its peer, its writer, and whether a command is running for it."""

    __slots__ = ("bucket", "busy", "last_active", "peer", "writer")

    def __init__(self, peer: Peer, writer: asyncio.StreamWriter, bucket: TokenBucket):
        self.peer, self.writer, self.bucket = peer, writer, bucket
        self.busy = False
        self.last_active = time.monotonic()

    async def send(self, message: dict[str, Any]) -> None:
        self.writer.write(encode(message))
        await self.writer.drain()

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


async def _linger_close(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, limit: float = 1.0) -> None:
    """Half-close, then discard what the client still sends (for up to ``limit`` s).

    Closing with unread input makes the kernel reset the connection, and the
    client could lose the error we just sent; reading the rest first avoids that.
    """
    with contextlib.suppress(Exception):
        await writer.drain()
        writer.write_eof()
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            if not await asyncio.wait_for(reader.read(1 << 16), deadline - time.monotonic()):
                break


class Server:
    """Accepts connections on a Unix socket and hands each frame to ``dispatch``."""

    def __init__(self, path: Path, dispatch: Dispatch, limits: Limits, mode: str = "user"):
        self.path, self.dispatch, self.limits, self.mode = path, dispatch, limits, mode
        self.connections: set[Connection] = set()
        self._buckets: dict[int, tuple[TokenBucket, int]] = {}  # peer pid -> (bucket, connection count)
        self._tasks: set[asyncio.Task[None]] = set()
        self._server: asyncio.AbstractServer | None = None
        self._sweeper: asyncio.Task[None] | None = None
        self.accepting = False

    async def start(self) -> None:
        prepare_socket_dir(self.path, self.mode)
        remove_stale_socket(self.path)
        old_umask = os.umask(0o177 if self.mode == "user" else 0o117)
        try:
            self._server = await asyncio.start_unix_server(
                self._on_connect, path=str(self.path), limit=MAX_FRAME, backlog=socket.SOMAXCONN
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
        deadline = time.monotonic() + timeout
        while any(c.busy for c in self.connections) and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        for conn in list(self.connections):
            conn.writer.close()
        if self._sweeper:
            self._sweeper.cancel()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=1.0)
        for task in self._tasks:
            task.cancel()

    def _bucket_for(self, peer: Peer) -> TokenBucket:
        bucket, count = self._buckets.get(peer.pid, (None, 0))
        if bucket is None:
            bucket = TokenBucket(self.limits.rate_limit, self.limits.rate_burst)
        self._buckets[peer.pid] = (bucket, count + 1)
        return bucket

    def _release_bucket(self, peer: Peer) -> None:
        bucket, count = self._buckets[peer.pid]
        if count <= 1:
            del self._buckets[peer.pid]
        else:
            self._buckets[peer.pid] = (bucket, count - 1)

    async def _on_connect(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            if len(self.connections) >= self.limits.max_connections or not self.accepting:
                writer.write(encode(error(None, ErrorCode.RATE_LIMITED, "too many connections to cortexd; retry")))
                await _linger_close(reader, writer)
                return
            peer = peer_credentials(writer.get_extra_info("socket"))
            conn = Connection(peer, writer, self._bucket_for(peer))
            self.connections.add(conn)
            try:
                await self._serve(reader, conn)
            finally:
                self.connections.discard(conn)
                self._release_bucket(peer)
        except (ConnectionError, BrokenPipeError):
            pass
        except Exception:
            log.exception("connection handler failed")
        finally:
            self._tasks.discard(task)
            with contextlib.suppress(Exception):
                writer.close()

    async def _serve(self, reader: asyncio.StreamReader, conn: Connection) -> None:
        while True:
            try:
                line = await reader.readuntil(b"\n")
            except asyncio.IncompleteReadError as e:  # EOF: a last request without newline counts
                if e.partial.strip():
                    await self._answer(e.partial, conn)
                return
            except asyncio.LimitOverrunError:
                await conn.send(error(None, ErrorCode.TOO_LARGE, f"request line is over {MAX_FRAME} bytes"))
                await _linger_close(reader, conn.writer)
                return
            if not line.strip():
                continue
            await self._answer(line, conn)
            if not self.accepting and not conn.writer.is_closing():
                return  # shutting down: finish this request, take no more

    async def _answer(self, frame: bytes, conn: Connection) -> None:
        conn.busy = True
        now = time.monotonic()
        try:
            try:
                request = decode_request(frame)
            except ProtocolError as e:
                response = error(e.id, e.code, e.message)
            else:
                if conn.bucket.allow(now):
                    response = await self.dispatch(request, conn)
                else:
                    response = error(request.id, ErrorCode.RATE_LIMITED, "too many requests; slow down and retry")
        finally:
            conn.busy = False
        try:
            data = encode(response)
        except (TypeError, ValueError) as e:  # a handler returned something JSON cannot carry
            log.error("cannot encode response to %r: %s", response.get("id"), e)
            data = encode(error(None, ErrorCode.INTERNAL, "response could not be encoded"))
        conn.writer.write(data)
        await conn.writer.drain()
        conn.last_active = time.monotonic()

    async def _sweep(self) -> None:
        """Close connections that have been idle (no command running) longer than idle_timeout."""
        while True:
            await asyncio.sleep(min(self.limits.idle_timeout / 4, 5.0))
            cutoff = time.monotonic() - self.limits.idle_timeout
            for conn in list(self.connections):
                if not conn.busy and conn.last_active < cutoff:
                    log.debug("closing idle connection of pid %d", conn.peer.pid)
                    conn.writer.transport.abort()
