"""Against the real apt index of this machine: queries, simulation, and a dry run that changes nothing."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from cortex.install import apt
from cortex.install.simulate import simulate

pytestmark = pytest.mark.apt
if not any(Path("/var/lib/apt/lists").glob("*_Packages*")):
    pytest.skip("apt's package lists are empty; run 'apt-get update'", allow_module_level=True)


CORTEX = str(Path(sys.executable).parent / "cortex")


def dpkg_query(name: str) -> tuple[int, str]:
    result = subprocess.run(["dpkg-query", "-W", name], capture_output=True, text=True, check=False)
    return result.returncode, result.stdout


def test_dpkg_state_and_apt_candidates():
    state = apt.dpkg_state()
    assert "coreutils" in state and "dpkg" in state
    found = apt.candidates(["nginx", "no-such-package-cortex"])
    assert found["nginx"] and found["no-such-package-cortex"] is None
    assert apt.missing(["nginx", "no-such-package-cortex", "nginx=0.0-nope"]) == [
        "no-such-package-cortex",
        "nginx=0.0-nope",
    ]
    assert found["nginx"] in apt.versions("nginx")


def test_simulation_reports_without_changing_anything():
    before = dpkg_query("nginx")
    sim = simulate(["nginx"])
    assert sim.ok, sim.error
    if "nginx" not in apt.dpkg_state():
        assert "nginx" in [p["name"] for p in sim.install] and sim.download_bytes > 0
    assert dpkg_query("nginx") == before
    bad = simulate(["no-such-package-cortex"])
    assert not bad.ok and "no-such-package-cortex" in bad.error


def test_cortex_install_nginx_dry_run_json_changes_nothing(tmp_path):
    before = dpkg_query("nginx")
    env = {**os.environ, "CORTEX_HOME": str(tmp_path / "home"), "CORTEX_PROVIDER": "fake"}
    result = subprocess.run(
        [CORTEX, "install", "nginx", "--dry-run", "--json"],
        capture_output=True, text=True, env=env, timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["request"] == "nginx" and doc["packages"] == ["nginx"]
    for step in doc["steps"]:
        assert isinstance(step["argv"], list) and step["verdict"] in ("allow", "confirm")
        assert set(step) >= {"argv", "verdict", "reasons", "needs_root"}
    assert doc["steps"][0]["argv"][:2] == ["apt-get", "install"] and doc["steps"][0]["needs_root"] is True
    sim = doc["simulation"]
    assert sim["ok"] and set(sim) >= {"install", "upgrade", "remove", "download_bytes"}
    assert dpkg_query("nginx") == before
    listed = subprocess.run([CORTEX, "history", "--json"], capture_output=True, text=True, env=env, check=False)
    assert json.loads(listed.stdout) == []  # a dry run is not recorded


# apt's resolver in this process against apt-get itself -------------------------------------------------------------


def apt_get_s(*args: str) -> tuple[bool, set[tuple[str, str]], set[tuple[str, str, str]], set[str]]:
    """What plain ``apt-get -s -y ARGS`` (apt's own configuration, nothing of Cortex) says: ok, installs, upgrades,
    removals."""
    env = {**os.environ, "LC_ALL": "C", "DEBIAN_FRONTEND": "noninteractive"}
    result = subprocess.run(["apt-get", "-s", "-y", *args], capture_output=True, text=True, env=env, check=False)
    install, upgrade, remove = set(), set(), set()
    for line in result.stdout.splitlines():
        words = line.split()
        if words[:1] == ["Inst"] and words[2].startswith("["):
            upgrade.add((words[1], words[2].strip("[]"), words[3].lstrip("(")))
        elif words[:1] == ["Inst"]:
            install.add((words[1], words[2].lstrip("(")))
        elif words[:1] in (["Remv"], ["Purg"]):
            remove.add(words[1])
    ok = result.returncode == 0 and "\nE:" not in "\n" + result.stderr
    return ok, install, upgrade, remove


def first_upgradable() -> str | None:
    """An installed package apt would upgrade, if this machine has one."""
    _, _, upgrade, _ = apt_get_s("upgrade")
    return min(name for name, _, _ in upgrade) if upgrade else None


def installed_newest() -> str:
    """An installed package already at apt's candidate (installing it changes nothing)."""
    upgradable = {name for name, _, _ in apt_get_s("upgrade")[2]}
    state = apt.dpkg_state()
    return next(n for n in ("tmux", "socat", "git", "make", "procps") if n in state and n not in upgradable)


CASES = {
    "not installed, with new dependencies": (["nginx"], [], False),
    "already installed": (["@newest"], [], False),
    "installed, upgraded": (["@upgradable"], [], False),
    "virtual, one provider": (["python3-pypubsub"], [], False),
    "virtual, several providers": (["xmlformat"], [], False),
    "not found": (["no-such-package-cortex"], [], False),
    "removal with what depends on it": ([], ["python3-apt"], False),
    "purge": ([], ["tmux"], True),
    "essential": ([], ["coreutils"], False),
    "install and remove in one transaction": (["nginx"], ["socat"], False),
}


@pytest.mark.parametrize("case", CASES)
def test_the_in_process_resolver_answers_as_apt_get_does(case, monkeypatch):
    """The same lists of packages to install, upgrade and remove (with versions) as apt-get -s, or an error both."""
    from cortex.install import aptpkg

    if aptpkg.load() is None:
        pytest.skip("python3-apt is not linked into this virtualenv (scripts/bootstrap.sh does it)")
    install, remove, purge = CASES[case]
    if install == ["@newest"]:
        install = [installed_newest()]
    elif install == ["@upgradable"]:
        install = [first_upgradable() or pytest.skip("nothing on this machine is upgradable")]
    if install:
        args = ["install", *(["--purge"] if purge else []), "--", *install, *(f"{r}-" for r in remove)]
    else:
        args = ["purge" if purge else "remove", "--", *remove]
    ok, want_install, want_upgrade, want_remove = apt_get_s(*args)
    sim = aptpkg.simulate(install, remove, purge)
    assert sim.ok == ok, sim.error
    if not ok:
        assert sim.error.startswith("E: ") and "\n" not in sim.error
        return
    assert {(p["name"], p["version"]) for p in sim.install} == want_install
    assert {(p["name"], p["from"], p["version"]) for p in sim.upgrade} == want_upgrade
    assert {p["name"] for p in sim.remove} == want_remove
    monkeypatch.setenv(aptpkg.SWITCH, "0")  # apt-get and apt-cache show, as before: the download size agrees
    assert simulate(install, remove=remove, purge=purge).download_bytes == sim.download_bytes


def test_cli_dry_run_lists_what_apt_get_would_install(tmp_path):
    ok, want_install, want_upgrade, _ = apt_get_s("install", "--", "nginx")
    env = {**os.environ, "CORTEX_HOME": str(tmp_path / "home"), "CORTEX_PROVIDER": "fake"}
    result = subprocess.run(
        [CORTEX, "install", "nginx", "--dry-run", "--json"], capture_output=True, text=True, env=env, check=False
    )
    assert result.returncode == 0 and ok, result.stderr
    sim = json.loads(result.stdout)["simulation"]
    assert {(p["name"], p["version"]) for p in sim["install"]} == want_install
    assert {(p["name"], p["from"], p["version"]) for p in sim["upgrade"]} == want_upgrade


@pytest.mark.parametrize("inprocess", ["1", "0"])
def test_a_broken_apt_index_is_one_clear_line(tmp_path, inprocess):
    """apt cannot read its data (here dpkg's status file): the dry run says so in one line and exits 1."""
    status = tmp_path / "status"
    status.write_bytes(b"Package: foo\nStatus: garbage\nVersion\n\n\x00\x01")
    conf = tmp_path / "apt.conf"
    conf.write_text(f'Dir::State::status "{status}";\n')
    env = {
        **os.environ, "CORTEX_HOME": str(tmp_path / "home"), "CORTEX_PROVIDER": "fake", "APT_CONFIG": str(conf),
        "CORTEX_APT_INPROCESS": inprocess,
    }  # fmt: skip
    result = subprocess.run(
        [CORTEX, "install", "nginx", "--dry-run"], capture_output=True, text=True, env=env, check=False
    )
    assert result.returncode == 1, result.stdout
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert "apt refuses this plan: E: " in result.stderr and str(status) in result.stderr


@pytest.mark.parametrize("inprocess", ["1", "0"])
def test_a_dry_run_answers_while_another_apt_holds_its_locks(tmp_path, inprocess):
    """apt's locks guard changes: while another process holds dpkg's and the lists' locks (of a copy of this
    machine's apt state, so no real apt waits), a dry run still answers, the same as without them."""
    lists, dpkg = tmp_path / "lists", tmp_path / "dpkg"
    lists.mkdir()
    dpkg.mkdir()
    for path in Path("/var/lib/apt/lists").iterdir():
        if path.is_file() and path.name != "lock":
            (lists / path.name).symlink_to(path)
    shutil.copy("/var/lib/dpkg/status", dpkg / "status")
    conf = tmp_path / "apt.conf"
    conf.write_text(f'Dir::State::status "{dpkg / "status"}";\nDir::State::lists "{lists}/";\n')
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCKS, str(dpkg / "lock-frontend"), str(dpkg / "lock"), str(lists / "lock")],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        env = {
            **os.environ, "CORTEX_HOME": str(tmp_path / "home"), "CORTEX_PROVIDER": "fake", "APT_CONFIG": str(conf),
            "CORTEX_APT_INPROCESS": inprocess,
        }  # fmt: skip
        result = subprocess.run(
            [CORTEX, "install", "nginx", "--dry-run", "--json"], capture_output=True, text=True, env=env, check=False
        )
    finally:
        holder.kill()
        holder.wait()
    assert result.returncode == 0, result.stderr
    sim = json.loads(result.stdout)["simulation"]
    _, want_install, _, _ = apt_get_s("install", "--", "nginx")
    assert sim["ok"] and {(p["name"], p["version"]) for p in sim["install"]} == want_install


HOLD_LOCKS = """
import fcntl, sys, time
files = [open(path, "a") for path in sys.argv[1:]]
for f in files:
    fcntl.lockf(f, fcntl.LOCK_EX | fcntl.LOCK_NB)  # apt's own kind of lock (fcntl F_SETLK)
print("held", flush=True)
time.sleep(600)
"""


def test_the_plan_s_versions_are_apt_s_candidates_security_suite_included(tmp_path):
    """A plan without --dry-run asks apt nothing: the package index answers which versions apt would install.
    For every package whose candidate comes from the security suite and that the release also has (nginx's
    deb12u12 over deb12u9), the index's version is apt's candidate."""
    from cortex.install import aptpkg
    from cortex.packages.index import PackageIndex

    apt_pkg = aptpkg.load()
    if apt_pkg is None:
        pytest.skip("python3-apt is not linked into this virtualenv (scripts/bootstrap.sh does it)")
    cache = apt_pkg.Cache(None)
    depcache = apt_pkg.DepCache(cache)
    security = {}
    for pkg in cache.packages:
        candidate = depcache.get_candidate_ver(pkg)
        if candidate is None or pkg.architecture not in ("amd64", "all", apt_pkg.config.find("APT::Architecture")):
            continue
        suites = {f.label for v in pkg.version_list for f, _ in v.file_list}
        if "Debian-Security" in {f.label for f, _ in candidate.file_list} and "Debian" in suites:
            security[pkg.name] = candidate.ver_str
    assert "nginx" in security or not security  # this machine's lists carry the security suite
    index = PackageIndex(tmp_path / "packages.db")
    index.ensure()
    found = index.get_many(sorted(security))
    assert {n: p.version for n, p in found.items()} == {n: security[n] for n in found}
    assert len(found) >= len(security) * 0.9  # a few are parts the index leaves out
