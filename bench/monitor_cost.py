"""What the monitor costs cortexd, each figure a ratio against a baseline from the same run.

1. One monitor tick (full sample + rule evaluation + SQLite writes with 20 open alerts)
   against the bare psutil reads it is built on.
2. Resident memory of an idle cortexd (with the monitor) against a bare Python
   interpreter idling in an asyncio loop.

Run: .venv/bin/python bench/monitor_cost.py
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

from cortex.config import load_config
from cortex.daemon_client import CortexDaemonClient
from cortex.monitor.monitor import Monitor
from cortex.monitor.sampler import Disk, Sampler

ROUNDS = 50


def bare_psutil() -> None:
    psutil.cpu_percent(interval=None)
    psutil.virtual_memory()
    psutil.swap_memory()
    for part in psutil.disk_partitions(all=False):
        psutil.disk_usage(part.mountpoint)
    os.getloadavg()


def per_call(fn, rounds: int = ROUNDS) -> float:
    fn()
    start = time.perf_counter()
    for _ in range(rounds):
        fn()
    return (time.perf_counter() - start) / rounds


def tick_cost(home: Path) -> None:
    conf = home / "daemon.conf"
    conf.write_text("[thresholds]\ndisk_warning: 1\n")
    config = load_config(config_file=conf, env={"CORTEX_HOME": str(home), "CORTEX_LLM_PORT": "9"})
    sampler = Sampler(config)
    real_sample = sampler.sample

    def sample_with_many_disks():
        snap = real_sample()
        snap.disks += [Disk(f"/bench/{i}", f"/dev/b{i}", "ext4", 100, 50, 50, 50.0) for i in range(19)]
        return snap

    sampler.sample = sample_with_many_disks  # 20 filesystems over the threshold: 20 open alerts updated per tick
    monitor = Monitor(config, sampler=sampler)
    base = per_call(bare_psutil)
    tick = per_call(monitor.tick)
    evaluate = per_call(lambda: monitor.evaluate(sample_with_many_disks())) - per_call(sample_with_many_disks)
    monitor.close()
    print(f"bare psutil reads     {base * 1e3:8.2f} ms")
    print(f"monitor tick          {tick * 1e3:8.2f} ms  ({tick / base:.1f}x the bare reads)")
    print(f"  of which evaluate   {evaluate * 1e3:8.2f} ms  (20 open alerts, SQLite WAL, synchronous=FULL)")


def rss_after_start(argv: list[str], env: dict[str, str], ready) -> int:
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while not ready() and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(3)  # a few monitor samples, apt's count started
        return psutil.Process(proc.pid).memory_info().rss
    finally:
        proc.terminate()
        proc.wait(30)


def idle_rss(home: Path) -> None:
    env = {**os.environ, "CORTEX_HOME": str(home)}
    (home / "daemon.conf").write_text("[monitor]\ninterval: 1\n")
    base = rss_after_start(
        [sys.executable, "-c", "import asyncio; asyncio.run(asyncio.sleep(3600))"], env, lambda: True
    )
    sock = home / "cortex.sock"
    client = CortexDaemonClient(sock, timeout=5)

    def up() -> bool:
        try:
            return client.ping()
        except Exception:
            return False

    cortexd = str(Path(sys.executable).with_name("cortexd"))
    rss = rss_after_start([cortexd, "--foreground", "--user", "--socket", str(sock)], env, up)
    print(f"python + asyncio idle {base / 2**20:8.1f} MiB")
    print(f"cortexd idle          {rss / 2**20:8.1f} MiB  ({rss / base:.2f}x the bare interpreter)")


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as tmp:
        tick_cost(Path(tmp))
    with tempfile.TemporaryDirectory() as tmp:
        idle_rss(Path(tmp))
