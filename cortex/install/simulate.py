"""``apt-get -s``: what an install would add, upgrade and remove, and how much it downloads."""

from __future__ import annotations

import re
import subprocess
from dataclasses import asdict, dataclass, field
from typing import Any

from cortex.install.apt import Runner, run_apt


@dataclass
class Simulation:
    """What ``apt-get -s install`` says would happen; nothing is changed to find out."""

    install: list[dict[str, str]] = field(default_factory=list)  # {"name", "version"}
    upgrade: list[dict[str, str]] = field(default_factory=list)  # {"name", "from", "version"}
    remove: list[dict[str, str]] = field(default_factory=list)  # {"name", "version"}
    download_bytes: int = 0
    ok: bool = True
    error: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


_INST = re.compile(r"^Inst (\S+) (?:\[(\S+)\] )?\((\S+)")
_REMV = re.compile(r"^Remv (\S+)(?: \[(\S+)\])?")


def simulate(packages: list[str], run: Runner = subprocess.run, action: str = "install") -> Simulation:
    """Ask apt what installing (or removing) ``packages`` would do, and how much it would download."""
    result = run_apt(["apt-get", "-s", "-y", action, "--", *packages], run)
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
