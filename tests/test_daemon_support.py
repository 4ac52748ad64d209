"""Helpers the cortexd tests share: a daemon in a thread, one as a subprocess, raw socket clients, a fake LLM.

No tests here; the other ``test_daemon_*`` modules import from this one.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal as signals
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from cortex.config import Config, load_config
from cortex.daemon.app import Daemon
from cortex.daemon.monitor_loader import SnapshotMonitor
from cortex.paths import get_paths


def poll(predicate, timeout: float = 30.0) -> bool:
    """Whether ``predicate()`` turns true within ``timeout`` seconds (checked every 10 ms)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return False


def write_conf(path: Path, sections: dict[str, dict[str, Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = []
    for section, values in sections.items():
        lines.append(f"[{section}]")
        lines += [f"{k}: {v}" for k, v in values.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


def make_config(home: Path, sections: dict[str, dict[str, Any]] | None = None) -> tuple[Config, Path]:
    """A user-mode Config under ``home`` read from ``home/daemon.conf`` (written from ``sections``)."""
    conf = write_conf(home / "daemon.conf", sections or {})
    env = {"CORTEX_HOME": str(home), "PATH": os.environ.get("PATH", "")}
    return load_config(paths=get_paths("user", env), config_file=conf, env=env), conf


class ThreadedDaemon:
    """A Daemon (its startup and shutdown, no signals) on an event loop in a background thread: fast, and the
    test can look inside."""

    def __init__(self, config: Config, socket_path: Path, conf: Path | None = None):
        self.daemon = Daemon(config, socket_path, conf, monitor=SnapshotMonitor(config))
        self.server = self.daemon.server
        self.socket_path = socket_path
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._ready = threading.Event()
        self._error: BaseException | None = None

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self._main())

    async def _main(self) -> None:
        try:
            await self.daemon.startup()
        except BaseException as e:
            self._error = e
            self._ready.set()
            return
        self._ready.set()
        await self.daemon.shutdown_requested.wait()
        await self.daemon.shutdown()

    def __enter__(self) -> ThreadedDaemon:
        self._thread.start()
        self._ready.wait(10)
        if self._error:
            raise self._error
        return self

    def __exit__(self, *exc: object) -> None:
        self.loop.call_soon_threadsafe(self.daemon.shutdown_requested.set)
        self._thread.join(15)


class Conn:
    """A persistent raw connection: send bytes, read NDJSON lines."""

    def __init__(self, path: Path, timeout: float = 10.0):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(str(path))
        self.file = self.sock.makefile("rb")

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def read(self) -> dict[str, Any] | None:
        line = self.file.readline()
        return json.loads(line) if line else None

    def request(self, obj: dict[str, Any]) -> dict[str, Any]:
        self.send(json.dumps(obj).encode() + b"\n")
        response = self.read()
        assert response is not None, "daemon closed the connection"
        return response

    def close(self) -> None:
        self.file.close()
        self.sock.close()


def exchange(path: Path, data: bytes, timeout: float = 10.0) -> list[dict[str, Any]]:
    """Send ``data``, half-close, and return every frame the daemon answers before closing."""
    conn = Conn(path, timeout)
    try:
        conn.send(data)
        conn.sock.shutdown(socket.SHUT_WR)
        out = []
        while (frame := conn.read()) is not None:
            out.append(frame)
        return out
    finally:
        conn.close()


NOBODY = 65534


def as_other_user(socket_path: Path, requests: list[dict[str, Any]], uid: int = NOBODY) -> list[dict[str, Any]]:
    """The daemon's answers to ``requests`` sent by a forked child running as ``uid`` (needs root; the socket
    and its directory must let that user in): the peer SO_PEERCRED reports is then not an admin."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: become the other user, then connect
        try:
            os.setgid(uid)
            os.setuid(uid)
            conn = Conn(socket_path, timeout=60)
            os.write(write_end, json.dumps([conn.request(r) for r in requests]).encode())
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end) as pipe:
        answers = json.loads(pipe.read() or "null")
    os.waitpid(pid, 0)
    assert answers is not None, "the child running as the other user failed"
    return answers


class DaemonProcess:
    """``cortexd --foreground --user`` as a subprocess with its own CORTEX_HOME."""

    def __init__(self, home: Path, socket_path: Path, conf: Path | None = None, env: dict[str, str] | None = None):
        self.home, self.socket_path, self.conf = home, socket_path, conf
        self.env = {**os.environ, "CORTEX_HOME": str(home), **(env or {})}
        self.env.pop("CORTEX_SOCKET", None)
        self.proc: subprocess.Popen[str] | None = None

    def argv(self) -> list[str]:
        argv = [sys.executable, "-m", "cortex.daemon.main", "--foreground", "--user", "--socket", str(self.socket_path)]
        return argv + (["--config", str(self.conf)] if self.conf else [])

    def start(self, wait: bool = True) -> DaemonProcess:
        # stderr goes to a file, not a pipe: a child the monitor spawned (apt) may outlive cortexd holding it
        self.home.mkdir(parents=True, exist_ok=True)
        self.stderr_path = self.home / f"cortexd-{id(self)}.stderr"
        with open(self.stderr_path, "w") as err:
            self.proc = subprocess.Popen(self.argv(), env=self.env, stdout=subprocess.DEVNULL, stderr=err, text=True)
        if wait:
            wait_for_socket(self.socket_path, self.proc)
        return self

    def signal(self, sig: signals.Signals) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)

    def wait(self, timeout: float = 30) -> tuple[int, str]:
        """Let the process end by itself; return its exit code and stderr."""
        assert self.proc is not None
        code = self.proc.wait(timeout)
        return code, self.stderr_path.read_text()

    def stop(self) -> tuple[int, str]:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signals.SIGTERM)
        try:
            return self.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.wait()

    def __enter__(self) -> DaemonProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def wait_for_socket(path: Path, proc: subprocess.Popen[str] | None = None, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"cortexd exited with {proc.returncode}")
        with contextlib.suppress(OSError):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                s.connect(str(path))
                return
            finally:
                s.close()
        time.sleep(0.02)
    raise TimeoutError(f"no socket at {path}")


class FakeLLM:
    """A llama-server stand-in for flow tests (queueing, timeouts, shutdown): answers chat after ``delay`` s."""

    def __init__(self, delay: float = 0.0, reply: str = "hello"):
        self.delay, self.reply = delay, reply
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []  # each request's headers, beside its body
        self.release = threading.Event()  # set it to answer at once, whatever the delay
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # with wbufsize, one write per answer: no 40 ms delayed-ACK stall
            wbufsize = 1 << 16

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                body = b'{"status":"ok"}' if self.path == "/health" else b'{"data":[{"id":"fake-model"}]}'
                self._send(200, body)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                fake.requests.append(json.loads(self.rfile.read(length)))
                fake.headers.append(dict(self.headers))
                fake.release.wait(fake.delay)
                body = {
                    "model": "fake-model",
                    "choices": [{"message": {"role": "assistant", "content": fake.reply}}],
                    "usage": {"prompt_tokens": 3, "completion_tokens": 2},
                }
                self._send(200, json.dumps(body).encode())

            def _send(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                with contextlib.suppress(OSError):
                    self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> FakeLLM:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()


def collect(iterator: Iterator[str]) -> tuple[list[str], Any]:
    """All items of a generator and its return value."""
    items = []
    while True:
        try:
            items.append(next(iterator))
        except StopIteration as stop:
            return items, stop.value
