"""ping throughput and p99 latency with 50 concurrent persistent clients: cortexd vs a bare asyncio NDJSON server.

    .venv/bin/python bench/daemon_ping.py [--clients 50] [--requests 400] [--rounds 3]

Targets: throughput >= 0.8x the bare server, p99 <= 1.5x its p99. Each round
runs both servers back to back (alternating which goes first) and the best
round of each is kept, which damps the noise of a shared machine. cortexd runs
with ``[daemon] rate_limit`` raised (all clients share one pid, and the bench
measures the server, not the limiter) and ``[monitor] enabled: false`` (so a
monitor sample does not land in one of the two measurements only).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from daemon_common import cpu_seconds, start_bare, start_cortexd, stop

CORTEXD_CONF = "[daemon]\nrate_limit: 1000000\nrate_burst: 1000000\n[monitor]\nenabled: false\n"


async def one_client(path: Path, requests: int, latencies: list[float]) -> None:
    reader, writer = await asyncio.open_unix_connection(str(path))
    line = json.dumps({"command": "ping", "id": 1}).encode() + b"\n"
    for _ in range(requests):
        started = time.perf_counter()
        writer.write(line)
        answer = await reader.readline()
        latencies.append(time.perf_counter() - started)
        assert b'"pong":true' in answer.replace(b" ", b""), answer
    writer.close()


async def load(path: Path, clients: int, requests: int) -> tuple[float, float]:
    """(requests per second, p99 latency in ms) for ``clients`` connections each sending ``requests`` pings."""
    latencies: list[float] = []
    started = time.perf_counter()
    await asyncio.gather(*(one_client(path, requests, latencies) for _ in range(clients)))
    elapsed = time.perf_counter() - started
    latencies.sort()
    return len(latencies) / elapsed, latencies[int(len(latencies) * 0.99)] * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="cortexd-ping-"))
    servers = {"bare": start_bare(tmp / "bare.sock"), "cortexd": start_cortexd(tmp / "cortexd.sock", CORTEXD_CONF)}
    best: dict[str, tuple[float, float]] = {}
    cpu: dict[str, list[float]] = {"bare": [], "cortexd": []}  # server CPU seconds per request, each round
    try:
        for name in servers:  # warm-up
            asyncio.run(load(tmp / f"{name}.sock", args.clients, 20))
        for r in range(args.rounds):
            order = ["bare", "cortexd"] if r % 2 == 0 else ["cortexd", "bare"]
            for name in order:
                before = cpu_seconds(servers[name].pid)
                rps, p99 = asyncio.run(load(tmp / f"{name}.sock", args.clients, args.requests))
                cpu[name].append((cpu_seconds(servers[name].pid) - before) / (args.clients * args.requests))
                print(f"round {r + 1} {name:<8} {rps:8.0f} req/s   p99 {p99:6.2f} ms")
                if name not in best or rps > best[name][0]:
                    best[name] = (rps, p99)
    finally:
        for proc in servers.values():
            stop(proc)
    (bare_rps, bare_p99), (rps, p99) = best["bare"], best["cortexd"]
    print(f"best: bare {bare_rps:.0f} req/s p99 {bare_p99:.2f} ms | cortexd {rps:.0f} req/s p99 {p99:.2f} ms")
    cpu_bare, cpu_cortexd = min(cpu["bare"]) * 1e6, min(cpu["cortexd"]) * 1e6
    print(
        f"server CPU per request (best round): bare {cpu_bare:.1f} us, cortexd {cpu_cortexd:.1f} us "
        f"-> CPU-bound throughput ratio {cpu_bare / cpu_cortexd:.2f}x"
    )
    print(
        f"throughput ratio cortexd/bare {rps / bare_rps:.2f}x (target >= 0.8)   "
        f"p99 ratio {p99 / bare_p99:.2f}x (target <= 1.5)"
    )


if __name__ == "__main__":
    main()
