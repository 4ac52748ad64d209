"""``apt-get -s``: what a plan would add, upgrade and remove, and how much it downloads.

A plan that installs and removes ("remove nginx and install apache2") is
simulated as one apt transaction (``install apache2 nginx-``), so the answer is
what the whole plan does, not the sum of two guesses.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from cortex.install.apt import Runner, run_apt

if TYPE_CHECKING:
    from cortex.install.plan import Plan


@dataclass
class Simulation:
    """What ``apt-get -s`` says would happen; nothing is changed to find out."""

    install: list[dict[str, str]] = field(default_factory=list)  # {"name", "version"}
    upgrade: list[dict[str, str]] = field(default_factory=list)  # {"name", "from", "version"}
    remove: list[dict[str, str]] = field(default_factory=list)  # {"name", "version"}
    download_bytes: int = 0
    ok: bool = True
    error: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


_INST = re.compile(r"^Inst (\S+) (?:\[(\S+)\] )?\((\S+)")
_REMV = re.compile(r"^(?:Remv|Purg) (\S+)(?: \[(\S+)\])?")


def simulate(
    packages: list[str], run: Runner = subprocess.run, remove: Sequence[str] = (), purge: bool = False
) -> Simulation:
    """Ask apt what installing ``packages`` and removing (or purging) ``remove`` would do, and the download."""
    if packages:
        argv = ["install", *(["--purge"] if purge else []), "--", *packages, *(f"{r}-" for r in remove)]
    else:
        argv = ["purge" if purge else "remove", "--", *remove]
    result = run_apt(["apt-get", "-s", "-y", *argv], run)
    sim = Simulation()
    if result.returncode != 0:
        lines = [ln for ln in (result.stderr + result.stdout).splitlines() if ln.startswith(("E:", "W:"))]
        sim.ok, sim.error = False, " ".join(lines) or f"apt-get -s exited with {result.returncode}"
        return sim
    for line in result.stdout.splitlines():
        if m := _INST.match(line):
            name, old, new = m.groups()
            if old:
                sim.upgrade.append({"name": name, "from": old, "version": new})
            else:
                sim.install.append({"name": name, "version": new})
        elif m := _REMV.match(line):
            sim.remove.append({"name": m.group(1), "version": m.group(2) or ""})
    sim.download_bytes = download_size([*sim.install, *sim.upgrade], run)
    return sim


def download_size(packages: list[dict[str, str]], run: Runner = subprocess.run) -> int:
    """Sum of the archive sizes (``Size``) of the exact versions apt would fetch."""
    if not packages:
        return 0
    result = run_apt(
        ["apt-cache", "show", "--no-all-versions", *(f"{p['name']}={p['version']}" for p in packages)], run
    )
    return sum(int(m) for m in re.findall(r"^Size: (\d+)$", result.stdout, re.M))


def simulate_plan(plan: Plan, run: Runner = subprocess.run) -> Simulation:
    """What apt says the plan's install, remove and purge steps would do together."""
    from cortex.install.checks import removes, step_packages  # checks needs this module (through removal)

    install: list[str] = []
    remove: list[str] = []
    purge = False
    for step in plan.steps:
        names = step_packages(step)
        if removes(step):
            remove += names
            purge = purge or "purge" in step.argv
        else:
            install += names
    return simulate(install, run, remove=remove, purge=purge)
