"""The checks every plan passes before it is shown as runnable (DESIGN section 6).

1. Each step's argv goes through the command validator: its verdict and
   reasons are stored on the step.
2. Each package a step names must exist in apt's own index: a step naming a
   package apt cannot install is blocked, saying which one.
"""

from __future__ import annotations

import subprocess
from typing import TYPE_CHECKING

from cortex.install import apt
from cortex.install.plan import Plan, Step
from cortex.safety.validator import validate

PACKAGE_VERBS = frozenset({"install", "reinstall", "remove", "purge"})

if TYPE_CHECKING:
    from cortex.packages.index import PackageIndex


def step_packages(step: Step) -> list[str]:
    """The package names an ``apt-get``/``apt`` step installs or removes ('pkg=version' kept whole)."""
    argv = step.argv
    if not argv or argv[0] not in ("apt-get", "apt"):
        return []
    verb = next((a for a in argv[1:] if not a.startswith("-")), "")
    if verb not in PACKAGE_VERBS:
        return []
    after = argv[argv.index(verb) + 1 :]
    return [a for a in after if not a.startswith("-")]


def validate_step(step: Step) -> Step:
    """Set ``step.verdict`` and ``step.reasons`` from the validator."""
    verdict = validate(list(step.argv))
    step.verdict, step.reasons = verdict.verdict, list(verdict.reasons)
    return step


def check_plan(plan: Plan, run: apt.Runner = subprocess.run, index: PackageIndex | None = None) -> Plan:
    """Validate every step (once: the planners leave it to this) and, for steps that install packages, that
    apt's index has them: by the package index when given (built from apt's lists and kept current, so no
    apt process: 0.5 s less per plan), else by asking apt."""
    for step in plan.steps:
        validate_step(step)
    installing = [s for s in plan.steps if step_packages(s) and "remove" not in s.argv and "purge" not in s.argv]
    names = list(dict.fromkeys(p for s in installing for p in step_packages(s)))
    if not names:
        absent: set[str] = set()
    elif index is not None:
        absent = set(names) - set(index.get_many(names))
    else:
        absent = set(apt.missing(names, run))
    for step in installing:
        gone = [p for p in step_packages(step) if p in absent]
        if gone:
            step.verdict = "block"
            step.reasons = [f"not in apt's package index: {', '.join(gone)} (try 'sudo apt-get update')", *step.reasons]
    return plan
