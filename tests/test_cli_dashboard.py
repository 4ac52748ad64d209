"""``cortex top``: sparklines and sample history, and the real dashboard in tmux against a real cortexd."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import free_port
from test_daemon_support import DaemonProcess, write_conf

from cortex.cli.dashboard import Series, Snapshot, render, sparkline


def test_sparkline_scales_and_keeps_the_latest_points() -> None:
    assert sparkline([0, 50, 100], 3) == "▁▅█"
    assert sparkline([0, 100], 5) == "   ▁█"
    assert sparkline([100] * 10 + [0], 2) == "█▁"
    assert sparkline([150, -5], 2) == "█▁"  # out of range is clamped
    assert sparkline([1, 2], 0) == ""


def test_series_takes_one_point_per_monitor_sample_and_forgets_the_oldest() -> None:
    series = Series(size=3)
    for t in (1.0, 1.0, 2.0, 3.0, 4.0):
        series.add({"time": t, "cpu": {"percent": t * 10}, "memory": {"percent": 5}, "disks": []})
    assert list(series.cpu) == [20.0, 30.0, 40.0]  # the repeated sample at t=1 counted once
    assert list(series.disk) == [0.0, 0.0, 0.0]


def test_render_fits_80x24_with_many_alerts() -> None:
    from rich.console import Console

    alerts = [{"severity": "critical", "message": f"disk /d{i} is full", "fired_at": 0.0} for i in range(40)]
    snap = Snapshot(status={"version": "1", "alerts": {"active": 40, "critical": 40}}, health={}, alerts=alerts)
    console = Console(width=80, height=24, record=True, color_system=None)
    console.print(render(snap, Series(), 80, 24))
    lines = console.export_text().splitlines()
    assert len(lines) <= 24
    assert "and 2" in lines[-2] and "more" in lines[-2]  # the overflow says how many are not shown


def tmux(*args: str) -> str:
    return subprocess.run(["tmux", *args], check=True, capture_output=True, text=True, timeout=10).stdout


def wait_for_screen(session: str, predicate, timeout: float = 30.0) -> str:
    deadline = time.monotonic() + timeout
    screen = ""
    while time.monotonic() < deadline:
        screen = tmux("capture-pane", "-p", "-t", session)
        if predicate(screen):
            return screen
        time.sleep(0.1)
    raise AssertionError(f"screen never matched:\n{screen}")


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed (apt-get install tmux)")
def test_top_in_tmux_shows_the_sections_and_q_quits(tmp_path: Path) -> None:
    home = tmp_path / "home"
    nothing_listens = f"http://127.0.0.1:{free_port()}"  # not 8085, where a developer's cortex-llm may run
    conf = write_conf(home / "daemon.conf", {"monitor": {"interval": 1}, "llm": {"base_url": nothing_listens}})
    sock = tmp_path / "run" / "c.sock"
    session = f"cortex-top-{os.getpid()}"
    done = tmp_path / "exit-code"
    env = f"CORTEX_HOME={shlex.quote(str(home))} CORTEX_SOCKET={shlex.quote(str(sock))}"
    command = f"env {env} {shlex.quote(sys.executable)} -m cortex top --interval 0.5; echo $? > {done}; sleep 30"
    daemon = DaemonProcess(home, sock, conf).start()
    tmux("new-session", "-d", "-s", session, "-x", "80", "-y", "24", command)
    try:
        screen = wait_for_screen(session, lambda s: "cortex-llm" in s and "alerts firing" in s)
        assert "cortex top" in screen and "q quits" in screen
        for section in ("system", "cpu", "memory", "disk", "queue 0/104", "tokens/s", "none firing"):
            assert section in screen, section
        assert "state down" in screen  # no llama-server in this test
        assert all(len(line) <= 80 for line in screen.splitlines())
        # a second monitor sample adds a sparkline point
        wait_for_screen(session, lambda s: any(sum(map(line.count, "▁▂▃▄▅▆▇█")) >= 2 for line in s.splitlines()))
        daemon.stop()  # top keeps running and says so
        wait_for_screen(session, lambda s: "cortexd is not answering" in s)
        tmux("send-keys", "-t", session, "q")
        deadline = time.monotonic() + 10
        while not done.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert done.read_text().strip() == "0"
    finally:
        daemon.stop()
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)


def test_top_without_a_daemon_says_how_to_start_it(tmp_path: Path) -> None:
    env = {**os.environ, "CORTEX_SOCKET": str(tmp_path / "none.sock")}
    out = subprocess.run([sys.executable, "-m", "cortex", "top"], env=env, capture_output=True, text=True, timeout=30)
    assert out.returncode == 1
    assert "cortexd is not running" in out.stderr and "cortex daemon start" in out.stderr
    assert out.stdout == ""


def test_top_json_is_one_snapshot(tmp_path: Path) -> None:
    import json

    home, sock = tmp_path / "home", tmp_path / "run" / "c.sock"
    with DaemonProcess(home, sock):
        env = {**os.environ, "CORTEX_HOME": str(home), "CORTEX_SOCKET": str(sock)}
        out = subprocess.run(
            [sys.executable, "-m", "cortex", "top", "--json"], env=env, capture_output=True, text=True, timeout=30
        )
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["status"]["queue"]["max"] == 104 and "cpu" in data["health"] and data["alerts"] == []
