"""``cortex daemon status`` stays a fast path: what a fresh interpreter imports to run it.

The command's wall time is almost all imports (bench/daemon_status.py), so the
test pins the imports, not a time: none of the heavy modules below may load,
whether the daemon answers or not. Modules a bare interpreter already has (a
sitecustomize's, say) are not the command's doing and are left out.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from fast_path import command, loaded, run
from test_daemon_support import ThreadedDaemon, make_config

# Each costs milliseconds to import, and status needs none of them.
HEAVY = {
    "click",
    "httpx",
    "rich",
    "jinja2",
    "psutil",
    "sqlite3",
    "asyncio",
    "subprocess",
    "threading",
    "dataclasses",
    "inspect",
    "typing",
    "pathlib",  # the socket is found as a string (cortex.paths.locate)
    "socket",  # the client speaks through _socket
    "cortex.cli.main",
}

STATUS = command("daemon", "status")


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """A user-mode home without daemon.conf, so the socket is the run mode's default one."""
    clean = {k: v for k, v in os.environ.items() if k != "CORTEX_SOCKET"}
    return {**clean, "CORTEX_HOME": str(tmp_path / "client")}


def heavy(modules: set[str], env: dict[str, str], tmp_path: Path) -> set[str]:
    return loaded(modules, HEAVY, env, tmp_path)


@pytest.mark.parametrize("flags", [[], ["--json"]])
def test_status_of_a_running_daemon_imports_nothing_heavy(flags: list[str], env, tmp_path: Path) -> None:
    config, conf = make_config(tmp_path / "home")
    socket = Path(env["CORTEX_HOME"]) / "run" / "cortex.sock"
    socket.parent.mkdir(parents=True)
    with ThreadedDaemon(config, socket, conf):
        proc, modules = run(STATUS, flags, env, tmp_path / "modules")
    assert proc.returncode == 0, proc.stderr
    if flags:
        assert json.loads(proc.stdout)["pid"] == os.getpid()
    else:
        assert f"running, pid {os.getpid()}" in proc.stdout
    assert heavy(modules, env, tmp_path) == set()


def test_status_without_a_daemon_imports_nothing_heavy(env, tmp_path: Path) -> None:
    proc, modules = run(STATUS, [], env, tmp_path / "modules")
    assert proc.returncode == 1 and "cortex daemon start" in proc.stderr and proc.stdout == ""
    assert "cortex.daemon_client" in modules  # it got as far as trying the socket
    assert heavy(modules, env, tmp_path) == set()
