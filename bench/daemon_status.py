"""Wall time of ``cortex daemon status`` against ``python -c pass``, with a real cortexd answering.

    .venv/bin/python bench/daemon_status.py [--runs 40]

Target: ``cortex daemon status`` <= 60 ms wall. The command is what people put in
loops and shell prompts, so almost all of it is interpreter start and imports;
``python -c pass`` (the same interpreter, with site) is the floor it cannot beat,
and ``cortex --version`` shows what the click path would cost. The commands run
round-robin in the same loop, so load from other processes hits all of them
alike; the median is reported beside the mean because a shared machine adds
long outliers. cortexd runs with ``[monitor] enabled: false`` so its first
samples (an ``apt-get -s upgrade``) do not compete with the measured commands.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from daemon_common import start_cortexd, stop

GOAL_MS = 60.0


def wall_ms(argv: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, check=True)
    return (time.perf_counter() - started) * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=40)
    args = parser.parse_args()
    bin_dir = Path(sys.executable).parent
    commands = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "cortex daemon status": [str(bin_dir / "cortex"), "daemon", "status"],
        "cortex daemon status --json": [str(bin_dir / "cortex"), "daemon", "status", "--json"],
        "cortex --version (click)": [str(bin_dir / "cortex"), "--version"],
    }
    sock = Path(tempfile.mkdtemp(prefix="cortex-status-")) / "cortex.sock"
    daemon = start_cortexd(sock, "[monitor]\nenabled: false\n")
    env = {**os.environ, "CORTEX_SOCKET": str(sock)}
    times: dict[str, list[float]] = {name: [] for name in commands}
    try:
        for argv in commands.values():  # warm the page cache and byte-code
            wall_ms(argv, env)
        for _ in range(args.runs):
            for name, argv in commands.items():
                times[name].append(wall_ms(argv, env))
    finally:
        stop(daemon)
    floor = statistics.median(times["python -c pass"])
    for name, ms in times.items():
        median = statistics.median(ms)
        line = f"{name:<28} median {median:6.1f} ms  mean {statistics.fmean(ms):6.1f} ms  min {min(ms):6.1f} ms"
        if name != "python -c pass":
            line += f"  {median / floor:4.2f}x python -c pass"
        if name.startswith("cortex daemon status"):
            line += f"  {'ok' if median <= GOAL_MS else 'over'} {GOAL_MS:g} ms"
        print(line)


if __name__ == "__main__":
    main()
