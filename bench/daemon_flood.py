"""cortexd under floods (issue 14's F1 and F2): its peak RSS and a concurrent ``ping``'s latency.

    .venv/bin/python bench/daemon_flood.py [--seconds 10] [--only a,b,c,d]

Each flood runs against a fresh cortexd (shipped settings) on a temporary socket:

  a) 30 clients, each its own process, send 226 KB of ``1\\n`` (113,000 bad lines) and never read;
  b) one client sends 4 MiB of bad lines and reads every answer;
  c) 100 clients, each its own process, send ``config`` requests for as long as the socket takes them and
     never read;
  d) a connection starts a long inference (a real llama-server with the bundled model, started on a free
     loopback port, never 8085) and then pushes 512 MB without a newline on the same connection.

Meanwhile this process opens a new connection every 10 ms and sends one ``ping`` (as the CLI does), and
samples cortexd's VmRSS from /proc every 20 ms. Each flood lasts ``--seconds`` (b: until its answers are
read, at most 60 s). The flooding clients are separate processes, so neither their CPU nor the GIL is
counted in the ping's latency, and each one has its own pid, as an attacker's would.
Goal: peak RSS <= 64 MB and ping p99 <= 100 ms under every flood.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from daemon_common import llm_conf, rss_bytes, start_cortexd, start_llama_server, stop

PING = b'{"command":"ping"}\n'
INFERENCE_TOKENS = 1500  # about 10 s of generation at the bundled model's speed here


def connect(path: Path, timeout: float = 60.0) -> socket.socket:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(str(path))
    return s


def push(s: socket.socket, data: bytes, deadline: float) -> int:
    """Send ``data`` without reading answers until it is all sent, the peer closes, or ``deadline``."""
    s.setblocking(False)
    sent = 0
    while sent < len(data) and time.monotonic() < deadline:
        try:
            sent += s.send(data[sent : sent + (1 << 16)])
        except BlockingIOError:
            time.sleep(0.01)
        except OSError:  # closed by cortexd
            break
    return sent


def non_reader(path: Path, data: bytes, repeat: bool, seconds: float) -> None:
    """One flooding client: send ``data`` (again and again if ``repeat``), never read, hold the connection."""
    deadline = time.monotonic() + seconds
    with connect(path) as s:
        while True:
            sent = push(s, data, deadline)
            if not repeat or sent < len(data):
                break
        time.sleep(max(0.0, deadline - time.monotonic()))


def reader(path: Path, data: bytes, seconds: float) -> None:
    """One client that sends ``data`` and reads every answer (one per line) on another thread."""
    lines = data.count(b"\n")
    with connect(path, timeout=seconds) as s:
        sender = threading.Thread(target=s.sendall, args=(data,), daemon=True)
        sender.start()
        with s.makefile("rb") as f:
            for _ in range(lines):
                if not f.readline():
                    break


def giant_frame_during_inference(path: Path, seconds: float) -> None:
    """Start an inference, then push 512 MB without a newline on its connection."""
    deadline = time.monotonic() + seconds
    params = {"prompt": "Tell a long story.", "max_tokens": INFERENCE_TOKENS, "ignore_eos": True}
    with connect(path) as s:
        s.sendall(json.dumps({"command": "inference", "params": params}).encode() + b"\n")
        time.sleep(1.0)  # generating by now
        chunk = b"x" * (1 << 20)
        sent = 0
        s.settimeout(seconds)
        try:
            while sent < 512 << 20:
                s.sendall(chunk)
                sent += len(chunk)
        except OSError:
            pass
        print(f"    the 512 MB frame: {sent / 2**20:.0f} MiB sent before the connection closed", flush=True)
        time.sleep(max(0.0, deadline - time.monotonic()))


def in_children(count: int, job: Callable[[], None]) -> list[int]:
    """``count`` forked processes, each running ``job`` once (its own pid: the per-process caps apply to each)."""
    pids = []
    for _ in range(count):
        pid = os.fork()
        if pid == 0:
            try:
                job()
            finally:
                os._exit(0)
        pids.append(pid)
    return pids


def measure(path: Path, pid: int, seconds: float, children: list[int]) -> tuple[list[float], int]:
    """Ping every 10 ms and sample RSS every 20 ms until the children exit or ``seconds`` pass."""
    latencies: list[float] = []
    peak = [rss_bytes(pid)]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.02):
            peak[0] = max(peak[0], rss_bytes(pid))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    deadline, alive = time.monotonic() + seconds, set(children)
    while time.monotonic() < deadline and alive:
        alive = {c for c in alive if os.waitpid(c, os.WNOHANG) == (0, 0)}
        started = time.perf_counter()
        try:
            with connect(path, timeout=60) as s:
                s.sendall(PING)
                answer = s.makefile("rb").readline()
            assert b'"pong":true' in answer, answer
        except (OSError, AssertionError) as e:
            print(f"    ping failed: {e!r}", flush=True)
        latencies.append(time.perf_counter() - started)
        time.sleep(0.01)
    done.set()
    sampler.join()
    return latencies, peak[0]


def percentile(values: list[float], q: float) -> float:
    return sorted(values)[min(len(values) - 1, int(len(values) * q))]


def run(name: str, conf: str, flood: Callable[[Path], list[int]], seconds: float) -> None:
    path = Path(tempfile.mkdtemp(prefix="cortexd-flood-")) / "c.sock"
    cortexd = start_cortexd(path, conf)
    children: list[int] = []
    try:
        with connect(path) as s:  # lazy imports on the request path are counted in the idle figure
            s.sendall(PING)
            s.makefile("rb").readline()
        idle = rss_bytes(cortexd.pid)
        children = flood(path)
        latencies, peak = measure(path, cortexd.pid, seconds, children)
    finally:
        for child in children:
            try:
                if os.waitpid(child, os.WNOHANG) == (0, 0):  # not reaped, so the pid is still this child's
                    os.kill(child, signal.SIGKILL)
                    os.waitpid(child, 0)
            except ChildProcessError:
                pass  # reaped while measuring
        stop(cortexd)
    p50, p99 = percentile(latencies, 0.5) * 1000, percentile(latencies, 0.99) * 1000
    verdict = "ok" if peak <= 64e6 and p99 <= 100 else "over"
    print(
        f"{name:<58} RSS {idle / 1e6:5.1f} -> peak {peak / 1e6:6.1f} MB   ping p50 {p50:7.1f} ms  "
        f"p99 {p99:8.1f} ms  max {max(latencies) * 1000:8.1f} ms  ({len(latencies)} pings, mean "
        f"{statistics.mean(latencies) * 1000:.1f} ms)  {verdict}",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--only", default="a,b,c,d", help="which floods, comma-separated")
    args = parser.parse_args()
    only, seconds = set(args.only.split(",")), args.seconds
    conf = "[llm]\nbase_url: http://127.0.0.1:9\n"
    if "a" in only:
        lines = b"1\n" * 113_000

        def a(path: Path) -> list[int]:
            return in_children(30, lambda: non_reader(path, lines, False, seconds))

        run("a) 30 non-reading clients, 226 KB of '1\\n' each", conf, a, seconds)
    if "b" in only:
        bad = b"1\n" * (2 << 20)

        def b(path: Path) -> list[int]:
            return in_children(1, lambda: reader(path, bad, 60))

        run("b) 1 reading client, 4 MiB of bad lines", conf, b, 60)
    if "c" in only:
        config = b'{"command":"config"}\n' * 1000

        def c(path: Path) -> list[int]:
            return in_children(100, lambda: non_reader(path, config, True, seconds))

        run("c) 100 non-reading clients sending 'config'", conf, c, seconds)
    if "d" in only:
        url, stop_llm, key_file = start_llama_server(ctx_size=INFERENCE_TOKENS + 512)
        try:
            conf = llm_conf(url, key_file) + f"max_tokens_per_request: {INFERENCE_TOKENS}\ntimeout: 600\n"

            def d(path: Path) -> list[int]:
                return in_children(1, lambda: giant_frame_during_inference(path, seconds))

            run("d) a 512 MB frame without a newline during an inference", conf, d, seconds)
        finally:
            stop_llm()


if __name__ == "__main__":
    main()
