"""cortexd under hostile local clients (issue 14's F1, F2 and the connection caps): memory and answers stay bounded.

A real cortexd as a subprocess when the test reads its RSS (VmHWM, its peak, from /proc), in-process when the test
looks at one connection's buffers. Nothing is timed: each test asserts bytes and the answers' codes.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from test_daemon_support import Conn, DaemonProcess, FakeLLM, ThreadedDaemon, exchange, make_config, poll, write_conf

from cortex.daemon.server import BACKLOG, OUTPUT_HIGH
from cortex.daemon_client import CortexDaemonClient

UNLIMITED_RATE = {"rate_limit": 1000000, "rate_burst": 1000000}  # these tests are about memory, not the limiter
READ_CHUNK = 256 << 10  # what asyncio reads from a socket at once


def memory(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (the peak RSS) of ``pid`` in bytes."""
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines())
    return {key: int(fields[key].split()[0]) * 1024 for key in ("VmRSS", "VmHWM")}


def push(socks: list[socket.socket], data: bytes) -> list[int]:
    """Send ``data`` on every socket without reading, until each has sent it all, was closed, or took
    nothing for a second (its peer stopped reading); return the bytes each sent."""
    sent = [0] * len(socks)
    stalled = [0.0] * len(socks)
    for s in socks:
        s.setblocking(False)
    while True:
        busy = False
        for i, s in enumerate(socks):
            if sent[i] >= len(data) or stalled[i] < 0:
                continue
            busy = True
            try:
                sent[i] += s.send(data[sent[i] : sent[i] + (1 << 16)])
                stalled[i] = 0.0
            except BlockingIOError:
                stalled[i] = stalled[i] or time.monotonic()
                if time.monotonic() - stalled[i] > 1.0:
                    stalled[i] = -1  # given up: the daemon is not reading this one
            except OSError:
                stalled[i] = -1  # closed by the daemon
        if not busy:
            break
        time.sleep(0.001)
    for s in socks:
        s.setblocking(True)
    return sent


def daemon_process(tmp_path: Path, **sections: dict[str, object]) -> DaemonProcess:
    home = tmp_path / "home"
    conf = write_conf(home / "daemon.conf", {"monitor": {"enabled": "false"}, **sections})
    return DaemonProcess(home, tmp_path / "run" / "c.sock", conf)


@pytest.mark.parametrize(
    "line",
    [b"1\n", b'{"command":"config"}\n', b'{"command":"ping"}\n', b'{"command":"nope","id":"x"}\n'],
    ids=["bad line", "config", "ping", "unknown command"],
)
def test_clients_that_never_read_cannot_grow_the_daemon(tmp_path: Path, line: bytes) -> None:
    """F1: ten clients pipeline 226 KB of requests each and never read; the answers wait in bounded buffers."""
    with daemon_process(tmp_path, daemon=UNLIMITED_RATE) as d:
        assert d.proc is not None
        client = CortexDaemonClient(d.socket_path, timeout=60)
        assert client.ping()
        before = memory(d.proc.pid)["VmRSS"]
        hogs = [Conn(d.socket_path) for _ in range(10)]
        push([h.sock for h in hogs], line * (226_000 // len(line)))
        assert client.ping()  # others are still answered
        grown = memory(d.proc.pid)["VmHWM"] - before
        for h in hogs:
            h.close()
    assert grown < 24 << 20, f"cortexd grew by {grown / 2**20:.0f} MiB"


def _send_without_end(sock: socket.socket, size: int) -> None:
    """Send ``size`` bytes without a newline, until the daemon closes the connection."""
    chunk = b"x" * (1 << 20)
    with contextlib.suppress(OSError):
        for _ in range(size // len(chunk)):
            sock.sendall(chunk)


def _inference_running(conn: Conn, llm: FakeLLM) -> None:
    conn.send(b'{"command":"inference","params":{"prompt":"x"},"id":"slow"}\n')
    assert poll(lambda: len(llm.requests) == 1)


def _answers_unread(conn: Conn, llm: FakeLLM) -> None:
    push([conn.sock], b'{"command":"ping"}\n' * 20_000)


def _idle(conn: Conn, llm: FakeLLM) -> None:
    pass


@pytest.mark.parametrize("state", [_inference_running, _answers_unread, _idle], ids=lambda f: f.__name__[1:])
def test_a_line_without_end_is_cut_at_the_frame_limit_whatever_the_connection_does(
    tmp_path: Path, state: Callable[[Conn, FakeLLM], None]
) -> None:
    """F2: 64 MiB without a newline while an inference runs (or answers wait, or nothing happens) never reach
    memory; the client gets too_large once the line passes MAX_FRAME."""
    with FakeLLM(delay=30) as llm, daemon_process(tmp_path, daemon=UNLIMITED_RATE, llm={"base_url": llm.url}) as d:
        assert d.proc is not None and CortexDaemonClient(d.socket_path).ping()
        before = memory(d.proc.pid)["VmRSS"]
        conn = Conn(d.socket_path, timeout=20)
        state(conn, llm)
        sender = threading.Thread(target=_send_without_end, args=(conn.sock, 64 << 20))
        sender.start()
        answers = []  # read while the line goes out: the daemon reads again once its answers drain
        while (answer := conn.read()) is not None:
            answers.append(answer)
        sender.join()
        grown = memory(d.proc.pid)["VmHWM"] - before
        conn.close()
    assert grown < 16 << 20, f"cortexd grew by {grown / 2**20:.0f} MiB"
    assert answers and answers[-1]["error"]["code"] == "too_large"
    assert all(a["success"] for a in answers[:-1])  # pongs answered before; a cut inference is not answered


@pytest.mark.parametrize(
    "line",
    [b'{"command":"ping"}\n', b"1\n", b'{"command":"config"}\n', b"\xff\n"],
    ids=["ping", "bad line", "config", "bad utf-8"],
)
def test_unsent_answers_and_unread_requests_stay_under_their_bounds(tmp_path: Path, line: bytes) -> None:
    """Back-pressure on one connection: answered only while its answers drain, read only while few requests wait."""
    config, conf = make_config(tmp_path / "home", {"daemon": UNLIMITED_RATE})
    with ThreadedDaemon(config, tmp_path / "run" / "c.sock", conf) as d:
        count = 226_000 // len(line)
        hog = Conn(d.socket_path, timeout=30)
        push([hog.sock], line * count)
        (conn,) = d.server.connections
        largest_answer = max(len(json.dumps(a)) for a in exchange(d.socket_path, line))
        assert conn.transport is not None
        assert conn.transport.get_write_buffer_size() <= OUTPUT_HIGH + largest_answer + 1
        assert len(conn.buffer) <= BACKLOG + READ_CHUNK
        answers = [hog.read() for _ in range(count)]  # then every request is answered once the client reads
        assert all(a is not None for a in answers)
        assert CortexDaemonClient(d.socket_path).ping()
        hog.close()


@pytest.mark.parametrize(
    ("line", "code"),
    [
        (b"not json", "parse_error"),
        (b"1", "invalid_request"),
        (b"\xff\xfe", "parse_error"),
        (b'{"params": {}}', "invalid_request"),
        (b'{"command": "ping", "params": [1]}', "invalid_params"),
        (b'{"command": "nope"}', "unknown_command"),
    ],
)
def test_bad_lines_count_against_the_rate_limit(tmp_path: Path, line: bytes, code: str) -> None:
    config, conf = make_config(tmp_path / "home", {"daemon": {"rate_limit": 1, "rate_burst": 5}})
    with ThreadedDaemon(config, tmp_path / "run" / "c.sock", conf) as d:
        frames = exchange(d.socket_path, (line + b"\n") * 20)
    codes = [f["error"]["code"] for f in frames]
    assert len(codes) == 20 and codes[:5] == [code] * 5
    assert codes.count("rate_limited") >= 14


def _open(path: Path, count: int) -> tuple[list[Conn], list[str]]:
    """``count`` connections that each send a ping: the ones answered, and the errors of the ones refused."""
    held, refused = [], []
    for _ in range(count):
        conn = Conn(path)
        answer = conn.request({"command": "ping"})
        if answer["success"]:
            held.append(conn)
        else:
            refused.append(answer["error"]["code"] + ": " + answer["error"]["message"])
            conn.close()
    return held, refused


class Peer:
    """A forked process (another pid; another uid if given) that opens ``count`` connections, pings on each,
    and holds the ones answered until ``close`` kills it."""

    def __init__(self, path: Path, count: int, uid: int | None = None):
        result_r, result_w = os.pipe()
        self.pid = os.fork()
        if self.pid == 0:
            try:
                os.close(result_r)
                if uid is not None:
                    os.setgid(uid)
                    os.setuid(uid)
                held, refused = _open(path, count)
                os.write(result_w, json.dumps([len(held), refused]).encode())
                os.close(result_w)
                while True:
                    signal.pause()
            finally:
                os._exit(0)
        os.close(result_w)
        with os.fdopen(result_r) as pipe:
            self.held, self.refused = json.loads(pipe.read())

    def close(self) -> None:
        os.kill(self.pid, signal.SIGKILL)
        os.waitpid(self.pid, 0)


def test_one_process_cannot_hold_every_connection(tmp_path: Path) -> None:
    """With the shipped limits one process gets 64 of the 1,024 connections; the others still get in."""
    config, conf = make_config(tmp_path / "home", {"daemon": UNLIMITED_RATE})
    with ThreadedDaemon(config, tmp_path / "run" / "c.sock", conf) as d:
        held, refused = _open(d.socket_path, 70)
        assert len(held) == 64 and len(refused) == 6
        assert refused[0].startswith("rate_limited:") and "[daemon] max_connections_per_process" in refused[0]
        other = Peer(d.socket_path, 1)
        assert other.held == 1
        other.close()
        held.pop().close()  # a closed one makes room again
        assert poll(lambda: len(d.server.connections) == 63)
        more, refused = _open(d.socket_path, 1)
        assert len(more) == 1 and not refused
        for conn in held + more:
            conn.close()


def test_one_user_cannot_hold_every_connection(tmp_path: Path) -> None:
    """Another user's processes share a per-user cap; root and the daemon's own user have only the per-process one."""
    if os.geteuid() != 0:
        pytest.skip("needs root to switch to another uid")
    shared = Path(tempfile.mkdtemp(prefix="cortexd-peer-", dir="/tmp"))
    shared.chmod(0o711)
    limits = {**UNLIMITED_RATE, "max_connections_per_process": 2, "max_connections_per_user": 3}
    config, conf = make_config(tmp_path / "home", {"daemon": limits})
    with ThreadedDaemon(config, shared / "c.sock", conf) as d:
        d.socket_path.chmod(0o666)  # let the other user reach the socket; the gate under test is SO_PEERCRED
        peers = [
            Peer(d.socket_path, 2, uid=65534),
            Peer(d.socket_path, 2, uid=65534),  # the user's third connection is its last
            Peer(d.socket_path, 2),
            Peer(d.socket_path, 2),  # root: four connections from two processes
            Peer(d.socket_path, 3),  # but two per process
        ]
        results = [(p.held, p.refused) for p in peers]
        for p in peers:
            p.close()
    assert [held for held, _ in results] == [2, 1, 2, 2, 2]
    assert [len(refused) for _, refused in results] == [0, 1, 0, 0, 1]
    assert "[daemon] max_connections_per_user" in results[1][1][0]
    assert "[daemon] max_connections_per_process" in results[4][1][0]
