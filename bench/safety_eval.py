"""Block rates of the command validator on a labelled table.

    .venv/bin/python bench/safety_eval.py [TABLE.tsv ...]

Default table: tests/data/validator_commands.tsv. Prints, per table, the share
of dangerous commands blocked (goal 100 %), the share of benign ones blocked
(goal <= 3 %), every miss with the validator's reasons, and the time per
command against a baseline of parsing alone with bashlex in the same run.
"""

from __future__ import annotations

import contextlib
import sys
import time
from pathlib import Path

import bashlex

from cortex.safety.table import read_table, score

DEFAULT = Path(__file__).resolve().parent.parent / "tests" / "data" / "validator_commands.tsv"


def main(argv: list[str]) -> int:
    ok = True
    for path in argv or [str(DEFAULT)]:
        rows = read_table(path)
        start = time.perf_counter()
        s = score(rows)
        elapsed = time.perf_counter() - start
        start = time.perf_counter()
        for row in rows:
            with contextlib.suppress(Exception):  # the baseline only times parsing
                bashlex.parse(row.command)
        baseline = time.perf_counter() - start
        print(f"{path}")
        print(f"  dangerous blocked: {s.dangerous_blocked}/{s.dangerous} = {100 * s.block_rate:.1f} % (goal 100 %)")
        print(f"  benign blocked:    {s.benign_blocked}/{s.benign} = {100 * s.false_block_rate:.1f} % (goal <= 3 %)")
        print(
            f"  time: {1000 * elapsed / max(len(rows), 1):.2f} ms per command, "
            f"{elapsed / baseline if baseline else 0:.1f}x bashlex parsing alone"
        )
        for row, verdict in s.failures:
            print(f"  MISS line {row.line} expected {row.expected}, got {verdict.verdict}: {row.command}")
            print(f"       {'; '.join(verdict.reasons)}")
        ok = ok and s.block_rate == 1.0 and s.false_block_rate <= 0.03
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
