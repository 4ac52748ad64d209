"""The systemd unit and scripts/install.sh: the unit verifies, the installer lays out files and undoes them."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
UNIT = REPO / "systemd" / "cortexd.service"
INSTALLER = REPO / "scripts" / "install.sh"


def unit_settings(text: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for line in text.splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, value = line.split("=", 1)
            out.setdefault(key, []).append(value)
    return out


def test_unit_has_the_required_hardening_and_lifecycle() -> None:
    s = unit_settings(UNIT.read_text())
    assert s["Type"] == ["notify"] and s["WatchdogSec"] and s["ExecReload"] == ["/bin/kill -HUP $MAINPID"]
    assert s["MemoryMax"] == ["256M"] and s["MemoryHigh"]
    assert s["NoNewPrivileges"] == ["yes"] and s["ProtectSystem"] == ["strict"]
    assert s["ProtectHome"] == ["read-only"] and s["PrivateTmp"] == ["yes"]
    for key in ("RuntimeDirectory", "StateDirectory", "ConfigurationDirectory"):
        assert s[key] == ["cortex"]
    assert s["RuntimeDirectoryMode"] == ["0750"] and s["Group"] == ["cortex"]
    assert "--foreground --system" in s["ExecStart"][0]


def run_installer(action: str, destdir: Path, **env: str) -> subprocess.CompletedProcess[str]:
    cortexd = str(Path(sys.executable).parent / "cortexd")
    full_env = {**os.environ, "DESTDIR": str(destdir), "CORTEXD_BIN": cortexd, **env}
    return subprocess.run(["sh", str(INSTALLER), action], env=full_env, capture_output=True, text=True, timeout=60)


def test_installer_into_destdir_then_systemd_analyze_verify(tmp_path: Path) -> None:
    result = run_installer("install", tmp_path)
    assert result.returncode == 0, result.stderr
    unit = tmp_path / "etc/systemd/system/cortexd.service"
    assert (tmp_path / "etc/cortex/installed").is_file() and (tmp_path / "etc/cortex/daemon.conf").is_file()
    assert (tmp_path / "var/lib/cortex").is_dir() and oct(
        (tmp_path / "var/lib/cortex").stat().st_mode & 0o777
    ) == "0o750"
    assert f"ExecStart={Path(sys.executable).parent / 'cortexd'} --foreground --system" in unit.read_text()
    if shutil.which("systemd-analyze"):
        verify = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=60)
        assert verify.returncode == 0, verify.stderr
        assert "cortexd.service" not in verify.stderr  # no warnings about our unit
    (tmp_path / "etc/cortex/daemon.conf").write_text("[llm]\ntemperature: 0.1\n")
    assert run_installer("install", tmp_path).returncode == 0  # again: idempotent, keeps the user's config
    assert "temperature: 0.1" in (tmp_path / "etc/cortex/daemon.conf").read_text()
    result = run_installer("uninstall", tmp_path)
    assert result.returncode == 0 and "kept" in result.stdout
    assert not unit.exists() and not (tmp_path / "etc/cortex/installed").exists()
    assert (tmp_path / "etc/cortex/daemon.conf").exists()


def test_installer_needs_root_and_says_so(tmp_path: Path) -> None:
    if os.geteuid() != 0 or not shutil.which("setpriv"):
        pytest.skip("needs root and setpriv to run the installer as another user")
    result = subprocess.run(
        ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "sh", str(INSTALLER), "install"],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": os.environ["PATH"], "CORTEXD_BIN": "/bin/true"},
    )
    assert result.returncode == 1 and "needs root" in result.stderr and "cortex up" in result.stderr
    bad = subprocess.run(["sh", str(INSTALLER), "frobnicate"], capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "usage" in bad.stderr


def test_installer_links_the_cli_and_uninstall_removes_only_its_own_link(tmp_path: Path) -> None:
    link = tmp_path / "usr/local/bin/cortex"
    assert run_installer("install", tmp_path).returncode == 0
    assert link.is_symlink() and os.readlink(link) == str(Path(sys.executable).parent / "cortex")
    assert run_installer("uninstall", tmp_path).returncode == 0
    assert not link.exists() and not link.is_symlink()
    link.write_text("#!/bin/sh\n# someone else's cortex\n")  # not ours: install and uninstall leave it
    result = run_installer("install", tmp_path)
    assert result.returncode == 0 and "left alone" in result.stdout
    assert run_installer("uninstall", tmp_path).returncode == 0
    assert link.read_text().startswith("#!/bin/sh")


def test_purge_removes_configuration_state_and_logs(tmp_path: Path) -> None:
    assert run_installer("install", tmp_path).returncode == 0
    (tmp_path / "var/lib/cortex/alerts.db").write_text("")
    result = run_installer("purge", tmp_path)
    assert result.returncode == 0, result.stderr
    for path in ("etc/cortex", "var/lib/cortex", "var/log/cortex", "etc/systemd/system/cortexd.service"):
        assert not (tmp_path / path).exists(), path
    assert not (tmp_path / "usr/local/bin/cortex").is_symlink()
