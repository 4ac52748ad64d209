"""What removing packages would take from this machine, decided from dpkg's and apt's own data.

Only packages dpkg says are installed are removed. Before a removal is shown as
runnable, ``apt-get -s`` says what else would go with it (the packages that
depend on it), and dpkg's fields of all of them decide:

* blocked: ``Essential: yes``, ``Priority: required``, and what the running
  system stands on: the package of PID 1's program, of the running kernel, of
  sshd when this session came over ssh, of sudo when it got root through sudo
  (found by their files, ``dpkg-query -S``); and any removal apt refuses;
* confirmed with a warning: ``Priority: important``, and every package apt
  would remove besides those named.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from cortex.install.apt import INSTALLED, Runner, run_apt
from cortex.install.simulate import Simulation, simulate

SHOWN = 8  # names listed in one reason before "and N more"


@dataclass(frozen=True)
class Installed:
    """dpkg's fields of an installed package that say how much the system relies on it."""

    name: str
    version: str
    essential: bool
    priority: str


def installed(names: list[str], run: Runner = subprocess.run) -> dict[str, Installed]:
    """The packages among ``names`` dpkg says are installed (unknown names are simply absent)."""
    if not names:
        return {}
    fmt = "${Package}\t${Version}\t${Status}\t${Essential}\t${Priority}\n"
    result = run_apt(["dpkg-query", "-W", "-f", fmt, "--", *names], run)  # exit 1 when some name is unknown
    found = {}
    for line in result.stdout.splitlines():
        parts = line.split("\t")
        if len(parts) == 5 and parts[2] == INSTALLED:
            found[parts[0]] = Installed(parts[0], parts[1], parts[3] == "yes", parts[4])
    return found


def running_needs(env: Mapping[str, str] = os.environ) -> dict[str, str]:
    """Files the running system stands on -> why: PID 1's program, the running kernel, and sshd or sudo when
    this session came through them (the programs where PATH finds them, else where Debian puts them)."""
    needs = {f"/boot/vmlinuz-{os.uname().release}": "is the running kernel"}
    with contextlib.suppress(OSError):  # not ours to read (another user's PID 1)
        needs[os.path.realpath(os.readlink("/proc/1/exe"))] = "runs as PID 1 (the init system)"
    path = env.get("PATH", os.defpath) + ":/usr/sbin:/sbin"
    if env.get("SSH_CONNECTION") or env.get("SSH_CLIENT"):
        needs[shutil.which("sshd", path=path) or "/usr/sbin/sshd"] = "serves this ssh session"
    if env.get("SUDO_USER") or os.geteuid() != 0:
        needs[shutil.which("sudo", path=path) or "/usr/bin/sudo"] = "gives this session root (sudo)"
    return needs


def owners(paths: Mapping[str, str], run: Runner = subprocess.run) -> dict[str, str]:
    """Package -> why, for the packages dpkg says own ``paths`` (also as /usr-less paths: dpkg may list
    /lib/systemd/systemd where usr-merge made it /usr/lib/systemd/systemd)."""
    queries = {**paths, **{p[4:]: why for p, why in paths.items() if p.startswith("/usr/")}}
    result = run_apt(["dpkg-query", "-S", "--", *queries], run)
    found: dict[str, str] = {}
    for line in result.stdout.splitlines():
        packages, _, path = line.partition(": ")
        if path in queries and not line.startswith("diversion"):
            for name in packages.split(", "):
                found.setdefault(name.split(":", 1)[0], queries[path])
    return found


def _listed(names: list[str]) -> str:
    more = f" and {len(names) - SHOWN} more" if len(names) > SHOWN else ""
    return ", ".join(names[:SHOWN]) + more


def assess(
    names: list[str],
    purge: bool = False,
    run: Runner = subprocess.run,
    env: Mapping[str, str] = os.environ,
    sim: Simulation | None = None,
    named: Sequence[str] = (),
) -> tuple[list[str], list[str]]:
    """Why removing ``names`` must not run (blocks) and what the user should know before saying yes (warnings).

    ``sim`` is the whole plan's simulation when the plan has one (``named``: every package the plan removes by
    name); without it this removal alone is simulated."""
    if sim is None:
        sim = simulate([], run, remove=names, purge=purge)
    extra = [p["name"] for p in sim.remove if p["name"] not in names and p["name"] not in named]
    gone = [*names, *extra]
    facts = installed(gone, run)
    needed = owners(running_needs(env), run)
    blocks, warnings = [], []
    essential = [n for n in gone if n in facts and facts[n].essential]
    required = [n for n in gone if n in facts and facts[n].priority == "required" and n not in essential]
    important = [n for n in gone if n in facts and facts[n].priority == "important"]
    if essential:
        blocks.append(f"removes {_listed(essential)}, marked Essential: yes: Debian does not work without it")
    if required:
        blocks.append(f"removes {_listed(required)}, of Priority: required: the system may not work without it")
    blocks += [f"{n} {needed[n]}: removing it can lock you out or stop the system" for n in gone if n in needed]
    if not sim.ok:
        blocks.append(f"apt refuses this removal: {sim.error}")
    if important:
        warnings.append(f"removes {_listed(important)}, of Priority: important: expected on every Debian system")
    if extra:
        warnings.append(f"apt would also remove: {_listed(extra)} (they depend on what is removed)")
    return blocks, warnings
