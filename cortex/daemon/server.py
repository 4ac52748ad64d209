"""The Unix-socket server: framing, limits and permissions; what a command does lives in commands.py.

Each connection is an ``asyncio.Protocol`` (as in uvicorn: the protocol owns
the wire). Frames are split from the byte stream in ``data_received`` and
answered in order. A command that answers at once (ping, version, config...)
is answered right there, with no task or future; one that waits (inference,
health) runs as a task while later frames of that connection wait in its
buffer.

Every connection is bounded, whatever its client does (DESIGN section 2,
back-pressure): it is answered only while its unsent answers stay under
OUTPUT_HIGH and read only while that holds and its complete requests waiting
stay under BACKLOG, so a client that does not read its answers stops its own
reading and nobody else's; the line still arriving is cut with ``too_large``
once it passes MAX_FRAME, also while a command runs; at most BATCH requests
are answered per turn of the event loop, so a pipelining client cannot delay
the others; every line, bad ones too, takes a token of its process's bucket.
So a connection holds at most MAX_FRAME + BACKLOG + one read (256 KiB) of
input and OUTPUT_HIGH + one answer of output. Connections are capped per
daemon, per client process and per user (``Limits``). A client that closes
its connection while its command runs cancels the command (an inference frees
its place in the queue). One sweeper task (not a timer per read) closes
connections idle longer than ``idle_timeout``, which also ends half-open and
trickling (slowloris) clients.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import select
import socket
import stat
import struct
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cortex.protocol import MAX_FRAME, ErrorCode, ProtocolError, Request, decode_request, encode, error

log = logging.getLogger("cortexd.server")

# dispatch answers at once (a dict) or later (an awaitable of the dict).
Dispatch = Callable[[Request, "Connection"], "dict[str, Any] | Awaitable[dict[str, Any]]"]
OUTPUT_HIGH = 64 << 10  # bytes of unsent answers past which a connection is neither answered nor read
BACKLOG = 64 << 10  # bytes of complete requests waiting on a connection past which it is not read
BATCH = 64  # requests one connection has answered per turn of the event loop
LINGER = 1.0  # seconds a closing connection keeps discarding input, so the client reads our last error


class SocketInUse(RuntimeError):
    """Another daemon answers on the socket path; this one must not start."""


@dataclass(frozen=True)
class Peer:
    """SO_PEERCRED of the connecting process."""

    pid: int
    uid: int
    gid: int

    @property
    def is_admin(self) -> bool:
        """Root or the daemon's own user: admin commands, and no per-user connection cap."""
        return self.uid in (0, os.geteuid())


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
    """The ``[daemon]`` limits (config.py's KEYS hold their defaults and documentation)."""

    max_connections: int = 1024
    max_connections_per_process: int = 64
    max_connections_per_user: int = 256
    idle_timeout: float = 300.0
    rate_limit: float = 500.0
    rate_burst: int = 1000

    @classmethod
    def from_config(cls, config: Any) -> Limits:
        return cls(
            config["daemon.max_connections"],
            config["daemon.max_connections_per_process"],
            config["daemon.max_connections_per_user"],
            config["daemon.idle_timeout"],
            config["daemon.rate_limit"],
            config["daemon.rate_burst"],
        )


class Connection(asyncio.Protocol):
    """One client: its peer, its buffer, and the command running for it."""

    def __init__(self, server: Server):
        self.server = server
        self.transport: asyncio.Transport | None = None
        self.peer = Peer(0, -1, -1)
        self.bucket: TokenBucket | None = None
        self.buffer = bytearray()
        self.tail = 0  # bytes after the buffer's last newline: the line still arriving
        self.task: asyncio.Future[None] | None = None  # the command that holds the connection
        self.eof = False
        self.closing = False  # answered for the last time; input is discarded
        self.last_active = time.monotonic()
        self._out: list[bytes] = []  # answers encoded, not yet handed to the transport
        self._out_size = 0
        self._write_paused = False
        self._drained: asyncio.Future[None] | None = None
        self._next_batch: asyncio.Handle | None = None

    @property
    def busy(self) -> bool:
        """A command is running for this connection; later frames wait."""
        return self.task is not None

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        transport.set_write_buffer_limits(high=OUTPUT_HIGH)
        server = self.server
        if not server.accepting:
            self._close_with(error(None, ErrorCode.INTERNAL, "cortexd is shutting down; retry in a moment"))
            return
        try:
            self.peer = peer_credentials(transport.get_extra_info("socket"))
        except OSError:
            transport.abort()
            return
        refusal = server.admit(self)
        if refusal:
            self._close_with(error(None, ErrorCode.RATE_LIMITED, refusal))

    def connection_lost(self, exc: Exception | None) -> None:
        self.server.release(self)
        if self._next_batch is not None:
            self._next_batch.cancel()
        if self.task is not None:
            self.task.cancel()  # nobody will read its answer: an inference frees its place (and llama-server's)
        elif self._drained is not None and not self._drained.done():
            self._drained.set_exception(ConnectionResetError("client went away"))

    def data_received(self, data: bytes) -> None:
        if self.closing:
            return
        self.buffer += data
        newline = data.rfind(b"\n")
        self.tail = self.tail + len(data) if newline == -1 else len(data) - newline - 1
        if self.tail > MAX_FRAME:
            self._close_with(error(None, ErrorCode.TOO_LARGE, f"request line is over {MAX_FRAME} bytes"))
            return
        self._kick()

    def eof_received(self) -> bool:
        self.eof = True
        if self.closing:
            return False  # nothing more to discard: close now
        if self.busy and self.hung_up():
            return False  # closed, not half-closed: connection_lost cancels the command
        self._kick()
        return True  # keep our side open until the answers are out

    def pause_writing(self) -> None:
        self._write_paused = True
        self._flow()

    def resume_writing(self) -> None:
        self._write_paused = False
        if self._drained is not None and not self._drained.done():
            self._drained.set_result(None)
        self._kick()

    # framing
    def _flow(self) -> None:
        """Read from the client only while its answers drain and few of its requests wait."""
        transport = self.transport
        if transport is None or self.closing or self.eof:
            return
        if self._write_paused or len(self.buffer) - self.tail > BACKLOG:
            transport.pause_reading()
        else:
            transport.resume_reading()

    def _kick(self) -> None:
        """Answer what can be answered now (unless a batch is already scheduled), then adjust reading."""
        if self._next_batch is None:
            self._process()
        self._flow()

    def _next(self) -> None:
        self._next_batch = None
        self._kick()

    def _process(self) -> None:
        """Answer complete frames in order, until one needs to wait, the client stops reading, or a batch is done."""
        buffer = self.buffer
        answered = 0
        transport = self.transport
        while not self.busy and not self.closing:
            if transport is not None and self._out_size + transport.get_write_buffer_size() >= OUTPUT_HIGH:
                self._flush()  # pauses writing: at most OUTPUT_HIGH + one answer are ever waiting
            if self._write_paused:
                break
            end = buffer.find(b"\n")
            if end == -1:
                if self.eof:  # EOF: a last request without a newline counts
                    frame = bytes(buffer)
                    buffer.clear()
                    self.tail = 0
                    if frame.strip():
                        self._answer(frame)
                        continue
                    self._flush()
                    self._finish()
                break
            if end > MAX_FRAME:
                self._close_with(error(None, ErrorCode.TOO_LARGE, f"request line is over {MAX_FRAME} bytes"))
                return
            if answered == BATCH:  # the rest in a later turn: other connections' requests come first
                self._next_batch = asyncio.get_running_loop().call_soon(self._next)
                break
            frame = bytes(buffer[:end])
            del buffer[: end + 1]
            if frame.strip():
                self._answer(frame)
                answered += 1
        self._flush()

    def _answer(self, frame: bytes) -> None:
        """Take a token first, so bad lines are rate-limited like good ones (a refused line is not parsed)."""
        now = time.monotonic()
        self.last_active = now
        assert self.bucket is not None
        if not self.bucket.allow(now):
            self._write(error(None, ErrorCode.RATE_LIMITED, "too many requests; slow down and retry"))
            return
        try:
            request = decode_request(frame)
        except ProtocolError as e:
            self._write(error(e.id, e.code, e.message))
            return
        if not self.server.accepting:
            self._close_with(error(request.id, ErrorCode.INTERNAL, "cortexd is shutting down; retry in a moment"))
            return
        result = self.server.dispatch(request, self)
        if isinstance(result, dict):
            self._write(result)
        else:
            self.task = asyncio.ensure_future(self._later(result))
            self.server.track(self.task)

    async def _later(self, result: Awaitable[dict[str, Any]]) -> None:
        try:
            response = await result
        except ConnectionError:  # the client left while its command ran
            self.task = None
            return
        self.task = None
        self.last_active = time.monotonic()
        self._write(response)
        self._flush()
        if self.transport is not None and not self.transport.is_closing():
            self._kick()  # frames that arrived meanwhile

    def _write(self, message: dict[str, Any]) -> None:
        """Queue one answer; ``_flush`` hands the queued answers to the transport in one write."""
        try:
            data = encode(message)
        except (TypeError, ValueError) as e:  # a handler returned something JSON cannot carry
            log.error("cannot encode response to %r: %s", message.get("id"), e)
            data = encode(error(None, ErrorCode.INTERNAL, "response could not be encoded"))
        self._out.append(data)
        self._out_size += len(data)

    def _flush(self) -> None:
        if not self._out:
            return
        data = b"".join(self._out) if len(self._out) > 1 else self._out[0]
        self._out.clear()
        self._out_size = 0
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
        A command still running is cancelled: its answer could not be sent.
        """
        self.closing = True
        self.buffer.clear()
        self.tail = 0
        if self.task is not None:
            self.task.cancel()
        transport = self.transport
        if transport is None:
            return
        self._write(message)
        self._flush()
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
        self._flush()
        if self._write_paused:
            self._drained = asyncio.get_running_loop().create_future()
            await self._drained

    def hung_up(self) -> bool:
        """Whether the client closed its end (POLLHUP): a half-close (``shutdown(SHUT_WR)``) still reads answers."""
        sock = self.transport.get_extra_info("socket") if self.transport is not None else None
        if sock is None:
            return False
        poller = select.poll()
        poller.register(sock.fileno(), select.POLLIN)
        return any(events & select.POLLHUP for _, events in poller.poll(0))

    @property
    def is_admin(self) -> bool:
        """Root or the daemon's own user may run admin commands."""
        return self.peer.is_admin


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
        self._buckets: dict[int, TokenBucket] = {}  # by peer pid, shared by its connections
        self._per_pid: Counter[int] = Counter()  # connections by peer pid
        self._per_uid: Counter[int] = Counter()  # connections by peer uid
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

    def admit(self, conn: Connection) -> str | None:
        """Count a new connection against the caps, or say which cap it is over."""
        limits, peer = self.limits, conn.peer
        if len(self.connections) >= limits.max_connections:
            return f"too many connections to cortexd ({limits.max_connections}, [daemon] max_connections); retry"
        if self._per_pid[peer.pid] >= limits.max_connections_per_process:
            return (
                f"this process already holds {limits.max_connections_per_process} connections to cortexd "
                "([daemon] max_connections_per_process); close some"
            )
        if not peer.is_admin and self._per_uid[peer.uid] >= limits.max_connections_per_user:
            return (
                f"this user already holds {limits.max_connections_per_user} connections to cortexd "
                "([daemon] max_connections_per_user); close some"
            )
        self.connections.add(conn)
        self._per_pid[peer.pid] += 1
        self._per_uid[peer.uid] += 1
        conn.bucket = self._buckets.get(peer.pid) or TokenBucket(limits.rate_limit, limits.rate_burst)
        self._buckets[peer.pid] = conn.bucket
        return None

    def release(self, conn: Connection) -> None:
        """Uncount a connection that ``admit`` counted; a process's bucket goes with its last connection."""
        if conn not in self.connections:
            return
        self.connections.discard(conn)
        peer = conn.peer
        self._per_uid[peer.uid] -= 1
        if not self._per_uid[peer.uid]:
            del self._per_uid[peer.uid]
        self._per_pid[peer.pid] -= 1
        if not self._per_pid[peer.pid]:
            del self._per_pid[peer.pid]
            del self._buckets[peer.pid]

    async def _sweep(self) -> None:
        """Close connections idle (no command running) longer than idle_timeout, and those whose client
        closed while its command runs (a half-close first, as ``socat -t`` does, leaves no other sign)."""
        while True:
            await asyncio.sleep(min(self.limits.idle_timeout / 4, 5.0))
            cutoff = time.monotonic() - self.limits.idle_timeout
            for conn in list(self.connections):
                if conn.transport is None:
                    continue
                if conn.busy and conn.hung_up():
                    log.debug("client of pid %d left while its command ran", conn.peer.pid)
                    conn.transport.abort()
                elif not conn.busy and conn.last_active < cutoff:
                    log.debug("closing idle connection of pid %d", conn.peer.pid)
                    conn.transport.abort()
