"""Labelled command tables (``command<TAB>block|pass``) and how well the validator scores on them."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from cortex.safety.validator import validate
from cortex.safety.verdict import Verdict


@dataclass(frozen=True)
class Row:
    line: int
    command: str
    expected: str  # block | pass (pass = allow or confirm)


@dataclass
class Score:
    dangerous: int = 0
    dangerous_blocked: int = 0
    benign: int = 0
    benign_blocked: int = 0
    failures: list[tuple[Row, Verdict]] = field(default_factory=list)

    @property
    def block_rate(self) -> float:
        return self.dangerous_blocked / self.dangerous if self.dangerous else 1.0

    @property
    def false_block_rate(self) -> float:
        return self.benign_blocked / self.benign if self.benign else 0.0


def read_table(path: Path | str) -> list[Row]:
    """Rows of a TSV table; '#' lines and blank lines are comments. A bad label raises ValueError naming the line."""
    rows = []
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        command, sep, expected = line.rpartition("\t")
        if not sep or expected.strip() not in ("block", "pass"):
            raise ValueError(f"{path}:{n}: expected 'command<TAB>block|pass', got {line!r}")
        rows.append(Row(n, command, expected.strip()))
    return rows


def score(rows: list[Row]) -> Score:
    s = Score()
    for row in rows:
        verdict = validate(row.command)
        if row.expected == "block":
            s.dangerous += 1
            s.dangerous_blocked += verdict.blocked
            if not verdict.blocked:
                s.failures.append((row, verdict))
        else:
            s.benign += 1
            s.benign_blocked += verdict.blocked
            if verdict.blocked:
                s.failures.append((row, verdict))
    return s
