"""What a plan would add, upgrade and remove, and how much it downloads: apt's own answer, nothing changed.

A plan that installs and removes ("remove nginx and install apache2") is
simulated as one apt transaction (``install apache2 nginx-``), so the answer is
what the whole plan does, not the sum of two guesses. A plan is simulated once
(``simulate_plan`` keeps the answer on it): the removal checks and ``--dry-run``
share it. apt's resolver answers in this process where python-apt is there
(``cortex.install.aptpkg``), else ``apt-get -s`` does.
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


_MESSAGE = re.compile(r"(?:^|\n|, )([EW]):\s*")  # apt-get's lines, or apt_pkg's "E:a, W:b" in one string


def apt_error(text: str) -> str:
    """apt's errors in ``text`` as one line ('E: ...; E: ...'); its warnings only when it gave no error."""
    parts = _MESSAGE.split("\n" + text.strip())[1:]
    messages = [(kind, " ".join(body.split())) for kind, body in zip(parts[::2], parts[1::2], strict=True)]
    chosen = [m for m in messages if m[0] == "E"] or messages
    return "; ".join(f"{kind}: {body}" for kind, body in chosen)


_INST = re.compile(r"^Inst (\S+) (?:\[(\S+)\] )?\((\S+)")
_REMV = re.compile(r"^(?:Remv|Purg) (\S+)(?: \[(\S+)\])?")


def simulate(
    packages: list[str], run: Runner = subprocess.run, remove: Sequence[str] = (), purge: bool = False
) -> Simulation:
    """Ask apt what installing ``packages`` and removing (or purging) ``remove`` would do, and the download:
    in this process when python-apt can read the names as apt-get does and no test stand-in replaces ``run``."""
    if run is subprocess.run:
        from cortex.install import aptpkg

        if aptpkg.load() is not None and aptpkg.answers(packages, remove):
            return aptpkg.simulate(packages, remove, purge)
    if packages:
        argv = ["install", *(["--purge"] if purge else []), "--", *packages, *(f"{r}-" for r in remove)]
    else:
        argv = ["purge" if purge else "remove", "--", *remove]
    result = run_apt(["apt-get", "-s", "-y", *argv], run)
    sim = Simulation()
    error = apt_error(result.stderr + "\n" + result.stdout)
    if result.returncode != 0 or error.startswith("E:"):  # apt-get may say E: and still exit 0 (a bad status file)
        sim.ok, sim.error = False, error or f"apt-get -s exited with {result.returncode}"
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
    exact = [f"{p['name']}={p['version']}" for p in packages]
    result = run_apt(["apt-cache", "show", "--no-all-versions", *exact], run)
    return sum(int(m) for m in re.findall(r"^Size: (\d+)$", result.stdout, re.M))


def simulate_plan(plan: Plan, run: Runner = subprocess.run) -> Simulation:
    """What apt says the plan's install, remove and purge steps would do together; asked once per plan."""
    if plan.simulation is not None:
        return plan.simulation
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
    plan.simulation = simulate(install, run, remove=remove, purge=purge)
    return plan.simulation
