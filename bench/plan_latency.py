"""How long ``cortex install REQ --json`` (a plan, no simulation) takes on a warm index, as a user runs it.

    .venv/bin/python bench/plan_latency.py [--runs N]

Each request runs as its own process, like a user's command; the baseline, in
the same run, is ``cortex --version`` (the interpreter and the CLI's start-up,
which every command pays). Goal: median <= 0.5 s.
"""

from __future__ import annotations

import argparse
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


def timed(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    timed([CORTEX, "install", "nginx", "--json"])  # warm: the index is current, the page cache holds it
    baseline, plans = [], []
    for _ in range(args.runs):
        for request in REQUESTS:
            baseline.append(timed([CORTEX, "--version"]))
            plans.append(timed([CORTEX, "install", request, "--json"]))
    base, plan = statistics.median(baseline), statistics.median(plans)
    print(f"cortex --version (baseline):   {base * 1000:.0f} ms")
    print(f"cortex install REQ --json:     {plan * 1000:.0f} ms median, {max(plans) * 1000:.0f} ms worst"
          f"  (ratio to baseline {plan / base:.1f}; goal <= 500 ms)")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
