"""The monitor inside a real cortexd process on a temporary socket: alerts over IPC, restarts, kill -9."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from cortex.daemon_client import CortexDaemonClient, DaemonError
from cortex.monitor.sampler import real_filesystems

CORTEXD = Path(sys.executable).with_name("cortexd")
WAIT = 60.0  # seconds a loaded 2-core machine may need; every wait ends as soon as its condition holds


def wait_for(what: str, check: Any, timeout: float = WAIT) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            result = check()
        except (DaemonError, OSError):
            result = None
        if result:
            return result
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


class Cortexd:
    def __init__(self, home: Path, socket_path: Path):
        self.home, self.socket_path = home, socket_path
        self.log = home / "cortexd.out"
        self.proc: subprocess.Popen[bytes] | None = None
        self.client = CortexDaemonClient(socket_path, timeout=20)

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [str(CORTEXD), "--foreground", "--user", "--socket", str(self.socket_path)],
                stdout=out, stderr=subprocess.STDOUT, env={**os.environ, "CORTEX_HOME": str(self.home)},
            )  # fmt: skip
        wait_for("cortexd to answer ping", lambda: self.client.call("ping"))

    def samples(self, n: int) -> None:
        """Wait until the monitor has taken ``n`` more samples (health's sample time moves on)."""
        for _ in range(n):
            first = self.client.health()["time"]
            wait_for("a new sample", lambda first=first: self.client.health()["time"] > first)

    def disk_alerts(self, status: str = "all") -> list[dict[str, Any]]:
        return self.client.alerts(category="disk", status=status)["alerts"]

    def stop(self, sig: int = signal.SIGTERM) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)
        self.proc.wait(30)

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


@pytest.fixture
def cortexd(cortex_home: Path, tmp_path: Path):
    cortex_home.mkdir(parents=True, exist_ok=True)
    # Disk alerts only: pending security updates (found by a slower check), a failed unit or a busy CPU would
    # raise others at any moment, and the counts below would then differ for reasons of the machine's own.
    (cortex_home / "daemon.conf").write_text(
        "[monitor]\ninterval: 1\n[thresholds]\ndisk_warning: 1\ndisk_critical: 100\nsecurity_updates: 0\n"
        "failed_units: false\ncpu_duration: 86400\nmemory_warning: 100\nmemory_critical: 100\n"
        "[alerts]\nrepeat_interval: 3600\n"
    )
    d = Cortexd(cortex_home, tmp_path / "run" / "cortex.sock")
    yield d
    d.close()


def test_disk_warning_of_one_percent_fires_one_alert_per_filesystem_and_ack_survives_restarts(cortexd):
    mounts = sorted(p.mountpoint for p in real_filesystems())
    assert mounts, "this machine has no real filesystem?"
    cortexd.start()
    wait_for("the disk alerts", lambda: len(cortexd.disk_alerts()) == len(mounts))
    cortexd.samples(3)
    alerts = cortexd.disk_alerts()
    assert sorted(a["resource"] for a in alerts) == mounts  # exactly one per filesystem, however many samples
    assert all(a["status"] == "firing" and a["severity"] == "warning" for a in alerts)
    health = cortexd.client.health()
    assert sorted(d["mountpoint"] for d in health["disks"]) == mounts
    assert health["thresholds"]["disk_warning"] == 1

    first = alerts[0]["id"]
    assert cortexd.client.acknowledge_alert(first)["changed"] == 1
    counts = cortexd.client.alerts()["counts"]
    cortexd.stop()  # a clean restart

    cortexd.start()
    cortexd.samples(2)
    after = {a["id"]: a for a in cortexd.disk_alerts()}
    assert sorted(after) == sorted(a["id"] for a in alerts)  # the same alerts, none duplicated
    assert after[first]["acknowledged"]
    assert cortexd.client.status()["alerts"]["active"] == counts["active"]

    assert cortexd.client.acknowledge_alert(all=True)["changed"] >= len(mounts) - 1
    cortexd.stop(signal.SIGKILL)  # no chance to close anything
    db = sqlite3.connect(cortexd.home / "state" / "alerts.db")
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    db.close()
    cortexd.start()
    assert all(a["acknowledged"] for a in cortexd.disk_alerts())
    with pytest.raises(DaemonError) as e:
        cortexd.client.acknowledge_alert(99999)
    assert e.value.code == "not_found"


def test_reload_config_applies_new_thresholds_and_the_cli_renders_them(cortexd):
    cortexd.start()
    wait_for("the disk alerts", lambda: cortexd.disk_alerts("open"))
    (cortexd.home / "daemon.conf").write_text("[monitor]\ninterval: 1\n[thresholds]\ndisk_warning: 99\n")
    assert "thresholds.disk_warning" in cortexd.client.reload_config()["changed"]
    wait_for("the disk alerts to resolve", lambda: not cortexd.disk_alerts("open"))
    assert all(a["status"] == "resolved" for a in cortexd.disk_alerts())

    env = {**os.environ, "CORTEX_SOCKET": str(cortexd.socket_path), "COLUMNS": "160"}
    cortex = [str(Path(sys.executable).with_name("cortex")), "daemon"]
    out = subprocess.run([*cortex, "alerts", "--all", "--json"], env=env, capture_output=True, text=True, check=True)
    assert {a["id"] for a in json.loads(out.stdout)["alerts"]} >= {a["id"] for a in cortexd.disk_alerts()}
    out = subprocess.run([*cortex, "health"], env=env, capture_output=True, text=True, check=True)
    assert "disk /" in out.stdout and "failed units" in out.stdout
    out = subprocess.run([*cortex, "alerts", "--ack", "424242"], env=env, capture_output=True, text=True)
    assert out.returncode == 1 and "not_found" in out.stderr
    out = subprocess.run([*cortex, "alerts", "--ack", "1", "--dismiss-all"], env=env, capture_output=True, text=True)
    assert out.returncode == 2
