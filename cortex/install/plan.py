"""A plan is data: argv steps with verdicts, never a shell string (DESIGN section 6)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cortex.install.simulate import Simulation


@dataclass
class Step:
    """One command of a plan, as the argv it would run."""

    argv: list[str]
    why: str = ""  # what this step is for, shown to the user
    needs_root: bool = False
    verdict: str = ""  # allow | confirm | block, set by the validator
    reasons: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """What ``--json`` prints of a step (DESIGN section 3); ``why`` is for the terminal and the history."""
        return {"argv": self.argv, "verdict": self.verdict, "reasons": self.reasons, "needs_root": self.needs_root}


@dataclass
class Plan:
    """What ``cortex install REQUEST`` proposes: the packages and the steps that install or remove them."""

    request: str
    packages: list[str] = field(default_factory=list)  # every package a step names
    remove: list[str] = field(default_factory=list)  # those of them the plan removes (or purges)
    steps: list[Step] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # why these packages, what was uncertain
    simulation: Simulation | None = None  # apt's answer, once asked (``simulate_plan``): checks and --dry-run share it

    @property
    def runnable(self) -> bool:
        return bool(self.steps) and all(s.verdict in ("allow", "confirm") for s in self.steps)

    def to_dict(self) -> dict[str, Any]:
        """The plan as ``cortex install --json`` and ``cortex rollback --json`` print it."""
        return {
            "request": self.request,
            "packages": list(self.packages),
            "remove": list(self.remove),
            "steps": [s.to_dict() for s in self.steps],
            "notes": list(self.notes),
        }
