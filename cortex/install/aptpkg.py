"""apt's own resolver in this process (python-apt's ``apt_pkg``): what ``apt-get -s install`` or ``remove``
would do, without starting apt-get.

apt-get spends most of a simulation on things a plan does not need: it starts
dpkg to ask for foreign architectures, starts its http method and reads the
package records for the downloads it would make, and (as root) writes an xz
log of the whole solver input. The same depcache and problem resolver through
``apt_pkg`` answer in 0.35 s of CPU against 0.91 s for ``apt-get -s`` and
``apt-cache show`` (``bench/plan_latency.py``). The steps follow apt-get's
own (``apt-private/private-install.cc``): each named package is protected and
marked (installs without their dependencies first, then with them), a virtual
name with exactly one provider is read as that provider, and the problem
resolver runs once over the whole transaction. Names apt-get would read in
ways this does not follow ('pkg=version', 'pkg/release', 'pkg:arch') go to
apt-get itself (``simulate.simulate``).

``apt_pkg`` comes from Debian's python3-apt, linked into the virtualenv by
``scripts/bootstrap.sh``; without it simulations run apt-get.
``CORTEX_APT_INPROCESS=0`` asks for apt-get too (the benchmark's comparison, and
the tests' apt stand-in, which only replaces programs).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from types import ModuleType
from typing import Any

from cortex.install.apt import cache_files
from cortex.install.simulate import Simulation, apt_error

SWITCH = "CORTEX_APT_INPROCESS"
_EXACT = ("=", "/", ":")  # version, release and architecture selectors: apt-get reads those itself
_state: dict[str, Any] = {}


def load() -> ModuleType | None:
    """``apt_pkg``, configured as apt-get would be (``/etc/apt``, ``APT_CONFIG``); None when absent or switched off."""
    if os.environ.get(SWITCH, "1") == "0":
        return None
    if "module" not in _state:
        try:
            import apt_pkg  # type: ignore[import-not-found]  # Debian's python3-apt, not on PyPI

            apt_pkg.init_config()
            for key, path in cache_files().items():
                apt_pkg.config.set(key, path)
            apt_pkg.init_system()
            _state["module"] = apt_pkg
        except (ImportError, SystemError):  # no python3-apt, or apt's configuration is unreadable: apt-get says why
            _state["module"] = None
    return _state["module"]


def answers(packages: Sequence[str], remove: Sequence[str]) -> bool:
    """Whether the in-process resolver reads every name as apt-get would (plain package names)."""
    return not any(c in name for name in (*packages, *remove) for c in _EXACT)


def _error(text: str) -> Simulation:
    return Simulation(ok=False, error=apt_error(text) or f"E: {' '.join(text.split())}")


def _candidate(apt_pkg: ModuleType, cache: Any, depcache: Any, name: str) -> Any:
    """The package apt-get installs for ``name``: itself, or a virtual name's one provider; else an apt error."""
    try:
        pkg = cache[name]
    except KeyError:
        raise LookupError(f"E: Unable to locate package {name}") from None
    if depcache.get_candidate_ver(pkg) is not None:
        return pkg
    providers: dict[str, Any] = {}  # by name: another architecture of the same package is the same provider
    native = apt_pkg.config.find("APT::Architecture")
    for _, _, ver in pkg.provides_list:
        owner = ver.parent_pkg
        candidate = depcache.get_candidate_ver(owner)
        if candidate is None or candidate.id != ver.id:
            continue
        if owner.name not in providers or owner.architecture == native:
            providers[owner.name] = owner
    if len(providers) == 1:
        return next(iter(providers.values()))
    raise LookupError(f"E: Package '{pkg.get_fullname(True)}' has no installation candidate")


def simulate(packages: Sequence[str], remove: Sequence[str] = (), purge: bool = False) -> Simulation:
    """What installing ``packages`` and removing (or purging) ``remove`` in one transaction would do."""
    apt_pkg = load()
    assert apt_pkg is not None, "simulate.simulate checks load() first"
    try:
        cache = apt_pkg.Cache(None)  # None: no progress lines on stdout
        depcache = apt_pkg.DepCache(cache)
        fix = apt_pkg.ProblemResolver(depcache)
        marked = [_candidate(apt_pkg, cache, depcache, name) for name in packages]
        with apt_pkg.ActionGroup(depcache):
            for pkg in marked:
                fix.clear(pkg)
                fix.protect(pkg)
                depcache.mark_install(pkg, False, True)
            for name in remove:
                try:
                    pkg = cache[name]
                except KeyError:
                    return _error(f"E: Unable to locate package {name}")
                if pkg.current_ver is None:
                    continue  # apt-get: "Package 'x' is not installed, so not removed"
                fix.clear(pkg)
                fix.protect(pkg)
                fix.remove(pkg)
                depcache.mark_delete(pkg, purge)
            for pkg in marked:
                if depcache.marked_install(pkg) or depcache.marked_upgrade(pkg):
                    depcache.mark_install(pkg, True, True)
        fix.resolve(True)
        if depcache.broken_count:
            return _error("E: Unmet dependencies. Try 'apt --fix-broken install' with no packages.")
        return _read(cache, depcache)
    except (LookupError, SystemError) as e:  # a name apt lacks; unreadable lists or status; no solution
        return _error(str(e))


def _read(cache: Any, depcache: Any) -> Simulation:
    """The marked changes, as apt-get -s's ``Inst`` and ``Remv`` lines list them, and the archives' sizes."""
    sim = Simulation()
    essential = []
    left = depcache.inst_count + depcache.del_count  # changes to find: stop there, not after all 108,000 packages
    for pkg in cache.packages:
        if left <= 0:
            break
        if depcache.marked_keep(pkg):
            continue
        left -= 1
        name = pkg.get_fullname(True)
        if depcache.marked_delete(pkg):
            sim.remove.append({"name": name, "version": pkg.current_ver.ver_str})
            if pkg.essential or pkg.important:
                essential.append(name)
            continue
        new = depcache.get_candidate_ver(pkg)
        if depcache.marked_install(pkg):
            sim.install.append({"name": name, "version": new.ver_str})
        elif depcache.marked_upgrade(pkg) or depcache.marked_downgrade(pkg):
            sim.upgrade.append({"name": name, "from": pkg.current_ver.ver_str, "version": new.ver_str})
        else:
            continue
        sim.download_bytes += new.size
    if essential:
        return _error("E: Essential packages were removed and -y was used without --allow-remove-essential.")
    for changes in (sim.install, sim.upgrade, sim.remove):
        changes.sort(key=lambda p: p["name"])
    return sim
