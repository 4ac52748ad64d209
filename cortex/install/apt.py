"""What apt and dpkg say: installed packages and the versions apt can install.

Every question goes to the package manager itself (``dpkg-query``,
``apt-cache``) as argv, never through a shell, so the answers
are the machine's own. ``run`` is injectable for the flow tests; by default it
is :func:`subprocess.run` with the programs found on ``PATH``.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Callable

from cortex.paths import locate

Runner = Callable[..., subprocess.CompletedProcess]
APT_ENV = {"DEBIAN_FRONTEND": "noninteractive", "LC_ALL": "C"}
INSTALLED = "install ok installed"


class AptError(RuntimeError):
    """apt or dpkg could not answer; the message says what to do."""


def cache_files() -> dict[str, str]:
    """apt's binary cache of its lists, kept in Cortex's state directory: Debian's container images switch
    apt's own off (``docker-clean``), and without one every apt question parses all lists again (2 s here).
    apt checks it against the lists and dpkg's status on every open and rebuilds it when they changed."""
    where = os.path.join(locate()["state_dir"], "apt-cache")
    with contextlib.suppress(OSError):  # not ours to write (system mode, not root): apt builds it in memory
        os.makedirs(where, exist_ok=True)
    return {
        "Dir::Cache::pkgcache": os.path.join(where, "pkgcache.bin"),
        "Dir::Cache::srcpkgcache": os.path.join(where, "srcpkgcache.bin"),
    }


def cache_options() -> list[str]:
    """``cache_files`` as apt-get's and apt-cache's ``-o`` options."""
    return [arg for key, path in cache_files().items() for arg in ("-o", f"{key}={path}")]


def run_apt(argv: list[str], run: Runner = subprocess.run) -> subprocess.CompletedProcess:
    """A question to apt or dpkg; apt-get and apt-cache read apt's cache in Cortex's state directory."""
    if argv[0] in ("apt-get", "apt-cache"):
        argv = [argv[0], *cache_options(), *argv[1:]]
    try:
        return run(argv, capture_output=True, text=True, env={**os.environ, **APT_ENV}, check=False)
    except FileNotFoundError:
        raise AptError(f"{argv[0]} is not installed; Cortex plans packages for Debian and Ubuntu (apt)") from None


def dpkg_state(run: Runner = subprocess.run) -> dict[str, str]:
    """Installed packages -> version, from ``dpkg-query`` (half-installed or removed-with-config are left out)."""
    result = run_apt(["dpkg-query", "-W", "-f", "${Package}\t${Version}\t${Status}\n"], run)
    if result.returncode != 0:
        raise AptError(f"dpkg-query failed: {result.stderr.strip() or result.returncode}")
    state = {}
    for line in result.stdout.splitlines():
        parts = line.split("\t")
        if len(parts) == 3 and parts[2] == INSTALLED:
            state[parts[0]] = parts[1]
    return state


def candidates(names: list[str], run: Runner = subprocess.run) -> dict[str, str | None]:
    """Each name -> the version apt would install (None: apt's index does not have it)."""
    if not names:
        return {}
    result = run_apt(["apt-cache", "policy", "--", *names], run)
    found: dict[str, str | None] = {n: None for n in names}
    current = None
    for line in result.stdout.splitlines():
        if line and not line.startswith(" ") and line.endswith(":"):
            current = line[:-1].split(":", 1)[0] if line.count(":") > 1 else line[:-1]
        elif current in found and line.strip().startswith("Candidate:"):
            value = line.split(":", 1)[1].strip()
            found[current] = None if value == "(none)" else value
    return found


def missing(names: list[str], run: Runner = subprocess.run) -> list[str]:
    """The names apt's index cannot install ('name=version' also checks that exact version)."""
    plain = [n.split("=", 1)[0] for n in names]
    have = candidates(plain, run)
    out = []
    for name, base in zip(names, plain, strict=True):
        if have.get(base) is None or ("=" in name and name.split("=", 1)[1] not in versions(base, run)):
            out.append(name)
    return out


def versions(name: str, run: Runner = subprocess.run) -> list[str]:
    """Every version of ``name`` apt can still fetch or has, newest first (``apt-cache madison``)."""
    result = run_apt(["apt-cache", "madison", "--", name], run)
    out = []
    for line in result.stdout.splitlines():
        parts = [p.strip() for p in line.split("|")]
        if len(parts) >= 2 and parts[0] == name and parts[1] not in out:
            out.append(parts[1])
    return out
