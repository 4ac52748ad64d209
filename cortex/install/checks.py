"""The checks every plan passes before it is shown as runnable (DESIGN section 6).

1. Each step's argv goes through the command validator: its verdict and
   reasons are stored on the step.
2. Each package a step installs must exist in apt's own index: a step naming a
   package apt cannot install is blocked, saying which one.
3. Each step that removes packages is weighed by ``removal.assess`` (dpkg's
   Essential and Priority fields, what ``apt-get -s`` would remove with them,
   what the running system stands on): blocked or warned, saying why.
"""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from typing import TYPE_CHECKING

from cortex.install import apt, removal
from cortex.install.plan import Plan, Step
from cortex.install.simulate import Simulation, simulate_plan
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


def removes(step: Step) -> bool:
    """Whether the step removes (or purges) the packages it names."""
    return bool(step_packages(step)) and ("remove" in step.argv or "purge" in step.argv)


def validate_step(step: Step) -> Step:
    """Set ``step.verdict`` and ``step.reasons`` from the validator."""
    verdict = validate(list(step.argv))
    step.verdict, step.reasons = verdict.verdict, list(verdict.reasons)
    return step


def check_step(
    step: Step, run: apt.Runner = subprocess.run, sim: Simulation | None = None, named: Sequence[str] = ()
) -> Step:
    """The validator's verdict, and for a removal what dpkg's and apt's data add to it (``removal.assess``):
    from ``sim``, the whole plan's simulation where given (``named``: every package its steps remove), else
    from a simulation of this step alone."""
    validate_step(step)
    if removes(step):
        blocks, warnings = removal.assess(step_packages(step), "purge" in step.argv, run, sim=sim, named=named)
        if blocks:
            step.verdict = "block"
        step.reasons = [*blocks, *step.reasons, *warnings]
    return step


def check_steps(plan: Plan, run: apt.Runner = subprocess.run) -> Plan:
    """Validate every step and weigh every removal: a plan that removes is simulated once, as a whole
    (``simulate_plan``), and each removal step weighed from that answer."""
    removing = [s for s in plan.steps if removes(s)]
    sim = simulate_plan(plan, run) if removing else None
    named = [p for s in removing for p in step_packages(s)]
    for step in plan.steps:
        check_step(step, run, sim, named)
    return plan


def check_plan(plan: Plan, run: apt.Runner = subprocess.run, index: PackageIndex | None = None) -> Plan:
    """``check_steps`` (once: the planners leave it to this) and, for steps that install packages, that
    apt's index has them: by the package index when given (built from apt's lists and kept current, so no
    apt process: 0.5 s less per plan), else by asking apt."""
    check_steps(plan, run)
    installing = [s for s in plan.steps if step_packages(s) and not removes(s)]
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
