"""Against the real apt index of this machine: queries, simulation, and a dry run that changes nothing."""

from __future__ import annotations

import json
import os
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
