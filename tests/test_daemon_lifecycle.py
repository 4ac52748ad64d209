"""cortexd as a real process: start, refuse, reload on SIGHUP, stop on SIGTERM, notify systemd, daemonize, CLI."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from test_daemon_support import DaemonProcess, FakeLLM, make_config, poll, write_conf

from cortex.daemon.control import ControlError, read_pid, start_background, stop_background
from cortex.daemon.sd_notify import Notifier
from cortex.daemon_client import CortexDaemonClient, DaemonError


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


def test_socat_one_liner_and_eof_ended_request(home: Path, tmp_path: Path) -> None:
    if not shutil.which("socat"):
        pytest.skip("socat is not installed (apt-get install socat)")
    sock = tmp_path / "run" / "cortex.sock"
    with DaemonProcess(home, sock):
        out = subprocess.run(
            f'echo \'{{"command":"ping","id":1}}\' | socat - UNIX-CONNECT:{sock}',
            shell=True,
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout
        assert json.loads(out) | {"timestamp": 0} == {"id": 1, "success": True, "data": {"pong": True}, "timestamp": 0}
        out = subprocess.run(
            ["socat", "-", f"UNIX-CONNECT:{sock}"], input='{"command":"version"}', capture_output=True, text=True
        ).stdout
        assert json.loads(out)["data"]["name"] == "cortexd"


def test_stale_socket_is_replaced_and_a_second_daemon_refuses(home: Path, tmp_path: Path) -> None:
    sock = tmp_path / "run" / "cortex.sock"
    sock.parent.mkdir(parents=True)
    crashed = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    crashed.bind(str(sock))  # a socket file nobody listens on, as a crash leaves it
    crashed.close()
    assert sock.exists()
    with DaemonProcess(home, sock) as first:
        assert CortexDaemonClient(sock).ping()
        code, err = DaemonProcess(home, sock).start(wait=False).wait()
        assert code == 1
        assert "already running" in err and str(sock) in err
        assert CortexDaemonClient(sock).status()["pid"] == first.proc.pid


def test_sigterm_finishes_the_in_flight_request_then_exits_0(home: Path, tmp_path: Path) -> None:
    sock = tmp_path / "run" / "cortex.sock"
    with FakeLLM(delay=30) as llm:
        _, conf = make_config(home, {"llm": {"base_url": llm.url}, "daemon": {"shutdown_timeout": 20}})
        proc = DaemonProcess(home, sock, conf).start()
        result: dict = {}

        def ask() -> None:
            result["data"] = CortexDaemonClient(sock).inference("hello", max_tokens=4)

        asker = threading.Thread(target=ask)
        asker.start()
        assert poll(lambda: len(llm.requests) == 1)
        proc.signal(signal.SIGTERM)
        assert poll(lambda: not sock.exists())  # stopped accepting: the socket is gone at once
        assert proc.proc.poll() is None  # but it waits for the request
        llm.release.set()
        asker.join(10)
        code, err = proc.stop()
    assert result["data"]["output"] == "hello" and result["data"]["tokens_generated"] == 2
    assert code == 0, err
    assert "finishing in-flight" in err


def notify_listener(path: Path) -> socket.socket:
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind(str(path))
    listener.settimeout(10)
    return listener


def wait_for(listener: socket.socket, field: str) -> str:
    """The next notify datagram with a line starting with ``field``."""
    while True:
        message = listener.recv(4096).decode()
        if any(line.startswith(field) for line in message.splitlines()):
            return message


def test_sighup_reloads_a_valid_file_and_keeps_the_old_on_an_invalid_one(home: Path, tmp_path: Path) -> None:
    sock = tmp_path / "run" / "cortex.sock"
    _, conf = make_config(home, {"llm": {"queue_size": 5}})
    listener = notify_listener(tmp_path / "notify")  # tells us when each reload is done, no sleeping
    with DaemonProcess(home, sock, conf, env={"NOTIFY_SOCKET": str(tmp_path / "notify")}) as proc:
        client = CortexDaemonClient(sock)
        wait_for(listener, "READY=1")
        assert client.status()["queue"]["max"] == 4 + 5
        write_conf(conf, {"llm": {"queue_size": 9}})
        proc.signal(signal.SIGHUP)
        assert "STATUS=reloaded" in wait_for(listener, "STATUS=reload")
        assert client.status()["queue"]["max"] == 4 + 9
        conf.write_text("[llm]\nqueue_size: -3\n")
        proc.signal(signal.SIGHUP)
        assert "queue_size" in wait_for(listener, "STATUS=reload rejected")
        assert client.status()["queue"]["max"] == 4 + 9
        _, err = proc.stop()
    listener.close()
    assert "not reloaded, keeping the old one" in err and "queue_size" in err


def test_invalid_config_at_start_exits_1_with_the_reason(home: Path, tmp_path: Path) -> None:
    conf = write_conf(home / "daemon.conf", {"daemon": {"max_connections": "many"}})
    code, err = DaemonProcess(home, tmp_path / "c.sock", conf).start(wait=False).wait()
    assert code == 1 and "max_connections" in err and "whole number" in err


def test_notify_protocol_ready_watchdog_reload_stopping(home: Path, tmp_path: Path) -> None:
    listener = notify_listener(tmp_path / "notify")
    env = {"NOTIFY_SOCKET": str(tmp_path / "notify"), "WATCHDOG_USEC": "200000"}
    proc = DaemonProcess(home, tmp_path / "run" / "c.sock", env=env).start()
    ready = wait_for(listener, "READY=1")
    assert "STATUS=serving on" in ready and f"MAINPID={proc.proc.pid}" in ready
    wait_for(listener, "WATCHDOG=1")
    wait_for(listener, "WATCHDOG=1")  # keeps coming at half the interval
    proc.signal(signal.SIGHUP)
    assert "MONOTONIC_USEC=" in wait_for(listener, "RELOADING=1")
    wait_for(listener, "READY=1")
    proc.signal(signal.SIGTERM)
    wait_for(listener, "STOPPING=1")
    assert proc.stop()[0] == 0
    listener.close()


def test_notifier_abstract_socket_and_watchdog_interval() -> None:
    name = f"cortexd-test-{os.getpid()}"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind("\0" + name)
    listener.settimeout(5)
    notifier = Notifier({"NOTIFY_SOCKET": "@" + name, "WATCHDOG_USEC": "3000000"})
    assert notifier.watchdog_interval == 1.5
    assert notifier.status("warming up")
    assert listener.recv(100) == b"STATUS=warming up"
    listener.close()
    assert Notifier({}).ready("x") is False  # not under systemd: a no-op
    assert Notifier({"WATCHDOG_USEC": "1000", "WATCHDOG_PID": "1"}).watchdog_interval is None  # not our pid


def test_background_start_stop_and_cli(home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CORTEX_HOME", str(home))
    monkeypatch.delenv("CORTEX_SOCKET", raising=False)
    config, _ = make_config(home)
    config.paths.ensure()
    pid = start_background(config)
    try:
        assert read_pid(config) == pid
        assert config.paths.pid_file("cortexd").read_text().strip() == str(pid)
        assert CortexDaemonClient(config.socket_path).status()["pid"] == pid
        with pytest.raises(ControlError, match="already running"):
            start_background(config)
        env = {**os.environ, "CORTEX_HOME": str(home)}
        cli = [sys.executable, "-m", "cortex", "daemon"]
        out = subprocess.run([*cli, "status", "--json"], env=env, capture_output=True, text=True, timeout=30)
        assert out.returncode == 0, out.stderr
        assert json.loads(out.stdout)["pid"] == pid
        out = subprocess.run([*cli, "status"], env=env, capture_output=True, text=True, timeout=30)
        assert f"pid {pid}" in out.stdout and "queue" in out.stdout
        out = subprocess.run([*cli, "health", "--json"], env=env, capture_output=True, text=True, timeout=30)
        assert json.loads(out.stdout)["daemon"]["pid"] == pid
        out = subprocess.run([*cli, "alerts", "--json"], env=env, capture_output=True, text=True, timeout=30)
        assert "alerts" in json.loads(out.stdout)
        out = subprocess.run([*cli, "reload-config", "--json"], env=env, capture_output=True, text=True, timeout=30)
        assert json.loads(out.stdout)["reloaded"] is True
    finally:
        assert stop_background(config) == pid
    assert not os.path.exists(config.socket_path) and not config.paths.pid_file("cortexd").exists()
    assert stop_background(config) is None
    out = subprocess.run([*cli, "status"], env=env, capture_output=True, text=True, timeout=30)
    assert out.returncode == 1 and "cortex daemon start" in out.stderr and out.stdout == ""


def test_shutdown_command_stops_the_daemon(home: Path, tmp_path: Path) -> None:
    sock = tmp_path / "run" / "c.sock"
    proc = DaemonProcess(home, sock).start()
    assert CortexDaemonClient(sock).shutdown() == {"shutdown": "initiated"}
    code, _ = proc.wait()
    assert code == 0 and not sock.exists()
    with pytest.raises(DaemonError, match="not running"):
        CortexDaemonClient(sock).ping()
