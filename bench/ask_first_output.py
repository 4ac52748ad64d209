"""How soon a how-to answer starts: a fresh `cortex ask` process, from its start to its first byte on stdout.

The first byte is the grounded lead (the commands), printed before the model is asked, so the model's
service does not change it. Each question is asked once unmeasured (Python writes its .pyc files, as an
install has them), then ``--runs`` times, the questions and the variants taking turns so that a change in the
machine's load falls on all of them alike. The baseline in the same run is ``cortex --version`` (the
interpreter, the CLI and its imports: what no answer can go below).

``--before CODE_DIR HOME_DIR`` also times another version of the code (a directory holding its ``cortex``
package, e.g. ``git archive COMMIT cortex | tar -x -C DIR``) with its own home (the index records where its
data files are, so two versions sharing a home would rebuild it on every switch).

Run: .venv/bin/python bench/ask_first_output.py [--runs 5] [--before DIR HOME] [QUESTION ...]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

QUESTIONS = [
    "How do I list failed systemd units?",
    "How do I see which process is using port 80?",
    "how to find files bigger than 100MB",
]
CORTEX = Path(sys.executable).with_name("cortex")


def first_output(argv: list[str], env: dict[str, str]) -> float:
    """Seconds from spawning ``argv`` to its first byte on stdout (the process is then killed)."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
    try:
        proc.stdout.read(1)
        return time.perf_counter() - start
    finally:
        proc.kill()
        proc.wait()
        proc.stdout.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("questions", nargs="*", default=QUESTIONS)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--before", nargs=2, metavar=("CODE_DIR", "HOME_DIR"), help="also time this code")
    args = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    variants = {"now": env}
    if args.before:
        variants = {"before": {**env, "PYTHONPATH": args.before[0], "HOME": args.before[1]}, **variants}
    times: dict[tuple[str, str], list[float]] = {}
    for venv in variants.values():
        for question in args.questions:
            first_output([str(CORTEX), "ask", question], venv)  # .pyc files written, caches filled
    for _ in range(args.runs):
        for question in args.questions:
            for name, venv in variants.items():
                times.setdefault((name, question), []).append(first_output([str(CORTEX), "ask", question], venv))
        times.setdefault(("now", "--version"), []).append(first_output([str(CORTEX), "--version"], env))
    for name in variants:
        every = [t for q in args.questions for t in times[(name, q)]]
        print(f"{name}: first output, median of {len(every)} runs: {statistics.median(every) * 1000:.0f} ms")
        for question in args.questions:
            runs = times[(name, question)]
            print(f"  {statistics.median(runs) * 1000:4.0f} ms  {[round(t * 1000) for t in runs]}  {question}")
    print(f"baseline: cortex --version {statistics.median(times[('now', '--version')]) * 1000:.0f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
