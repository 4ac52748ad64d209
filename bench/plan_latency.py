"""How long ``cortex install REQ --json`` (a plan) and ``--dry-run --json`` (a plan and apt's simulation) take on
a warm index, as a user runs them.

    .venv/bin/python bench/plan_latency.py [--runs N]

Each request runs as its own process, like a user's command. Baselines, in the same run and interleaved: for the
plan, ``cortex --version`` (the interpreter and the CLI's start-up, which every command pays); for the dry run,
bare ``apt-get -s install nginx`` (apt's own configuration, as a user would ask apt). The dry run is measured
twice: apt's resolver in this process (python-apt, the default where it is linked) and ``apt-get -s`` with
``CORTEX_APT_INPROCESS=0``, both with apt's cache in Cortex's state directory. Goals: plan median <= 0.5 s,
dry run median <= 1.5 s. Each line also gives the median CPU time (user + system) of the command and what it
started: on a machine shared with other work the wall times stretch, the CPU times much less.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

CORTEX = str(Path(sys.executable).with_name("cortex"))
REQUESTS = [
    "nginx",
    "a web server",
    "Traffic generator for testing network bandwidth.",
    "Create a hexadecimal representation (hexdump) from a binary file.",
    "something to edit photos",
    "Add one or more physical volumes to an existing volume group.",
]
APT_GET = {**os.environ, "CORTEX_APT_INPROCESS": "0"}


def timed(argv: list[str], env: dict[str, str] | None = None) -> tuple[float, float]:
    """Wall and CPU seconds of one command (CPU: user + system of it and its children)."""
    before, start = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, check=False)
    wall, after = time.perf_counter() - start, resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)


def median(runs: list[tuple[float, float]], which: int = 0) -> float:
    return statistics.median(r[which] for r in runs)


def line(label: str, runs: list[tuple[float, float]], note: str = "") -> None:
    wall, worst, cpu = median(runs) * 1000, max(r[0] for r in runs) * 1000, median(runs, 1) * 1000
    print(f"{label:<38} {wall:>5.0f} ms median, {worst:>5.0f} ms worst, CPU {cpu:>4.0f} ms{note}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    timed([CORTEX, "install", "nginx", "--dry-run", "--json"])  # warm: the index and apt's cache are current
    times: dict[str, list[tuple[float, float]]] = {k: [] for k in ("version", "plan", "apt", "dry", "dry_apt_get")}
    for _ in range(args.runs):
        for request in REQUESTS:
            times["version"].append(timed([CORTEX, "--version"]))
            times["plan"].append(timed([CORTEX, "install", request, "--json"]))
            times["apt"].append(timed(["apt-get", "-s", "install", "nginx"]))
            times["dry"].append(timed([CORTEX, "install", request, "--dry-run", "--json"]))
            times["dry_apt_get"].append(timed([CORTEX, "install", request, "--dry-run", "--json"], APT_GET))
    base, apt = median(times["version"]), median(times["apt"])
    ratio = median(times["plan"]) / base
    line("cortex --version (baseline)", times["version"])
    line("cortex install REQ --json", times["plan"], f"  ({ratio:.1f}x baseline; goal <= 500 ms)")
    line("apt-get -s install nginx (baseline)", times["apt"])
    ratio = median(times["dry"]) / apt
    line("cortex install REQ --dry-run --json", times["dry"], f"  ({ratio:.2f}x apt-get -s; goal <= 1500 ms)")
    ratio = median(times["dry_apt_get"]) / apt
    line("  the same through apt-get -s", times["dry_apt_get"], f"  ({ratio:.2f}x apt-get -s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
