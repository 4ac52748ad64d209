"""What the validator says about a command: allow, confirm or block, how risky, and why."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

LEVELS = ("allow", "confirm", "block")
RISKS = ("low", "medium", "high", "critical")


@dataclass(frozen=True)
class Finding:
    """One reason to confirm or block, from one rule."""

    level: str  # confirm | block
    risk: str  # low | medium | high | critical
    reason: str


@dataclass
class Verdict:
    command: str
    verdict: str = "allow"
    risk: str = "low"
    reasons: list[str] = field(default_factory=list)

    @property
    def blocked(self) -> bool:
        return self.verdict == "block"

    def to_dict(self) -> dict[str, Any]:
        return {"command": self.command, "verdict": self.verdict, "risk": self.risk, "reasons": list(self.reasons)}

    @classmethod
    def from_findings(cls, command: str, findings: list[Finding]) -> Verdict:
        """The strictest finding decides; reasons are listed strictest first, without repeats."""
        if not findings:
            return cls(command, "allow", "low", ["read-only or harmless"])
        ordered = sorted(findings, key=lambda f: (LEVELS.index(f.level), RISKS.index(f.risk)), reverse=True)
        top = ordered[0]
        reasons = list(dict.fromkeys(f.reason for f in ordered if f.level == top.level))
        return cls(command, top.level, top.risk, reasons)
