"""The sampler against this machine: psutil, mounts, systemd, apt and a cortex-llm that may or may not answer."""

from __future__ import annotations

import asyncio
import http.server
import socket
import threading
from pathlib import Path

import psutil
import pytest

from cortex.config import load_config
from cortex.monitor.monitor import Monitor
from cortex.monitor.sampler import (
    PSEUDO_FS,
    Sampler,
    Snapshot,
    count_updates,
    parse_apt_simulation,
    probe_llm,
    real_filesystems,
    systemd_running,
    tokens_per_second,
)

APT_OUTPUT = """NOTE: This is only a simulation!
Reading package lists...
The following packages will be upgraded:
  base-files bash libgcrypt20-dev
Inst base-files [12.4+deb12u11] (12.4+deb12u15 Debian:12.15/oldstable [amd64])
Inst bash [5.2.15-2+b8] (5.2.15-2+b13 Debian:12.15/oldstable [amd64])
Inst libgcrypt20-dev [1.10.1-3] (1.10.1-3+deb12u1 Debian:12.15/oldstable, Debian-Security:12/oldstable-security [amd64])
Inst openssl [3.0.11-1~deb12u2] (3.0.17-1~deb12u2 Debian-Security:12/stable-security [amd64])
Conf base-files (12.4+deb12u15 Debian:12.15/oldstable [amd64])
Conf bash (5.2.15-2+b13 Debian:12.15/oldstable [amd64])
"""


def test_apt_simulation_counts_inst_lines_and_security_origins():
    u = parse_apt_simulation(APT_OUTPUT)
    assert (u.pending, u.security) == (4, 2)
    assert (parse_apt_simulation("").pending, parse_apt_simulation("garbage\nInstall x").security) == (0, 0)


@pytest.mark.apt
def test_update_count_from_apt_itself():
    u = count_updates()
    assert u.checked_at is not None
    assert u.pending is not None and 0 <= u.security <= u.pending  # type: ignore[operator]


def test_real_sample_of_this_machine(tmp_path):
    config = load_config(env={"CORTEX_HOME": str(tmp_path), "CORTEX_LLM_PORT": "9"})
    snap = Sampler(config).sample()
    assert 0 <= snap.cpu["percent"] <= 100 and snap.cpu["count"] == psutil.cpu_count()
    assert snap.memory["total_bytes"] == psutil.virtual_memory().total
    assert 0 < snap.memory["percent"] < 100
    mounts = {d.mountpoint for d in snap.disks}
    assert "/" in mounts
    assert mounts == {p.mountpoint for p in real_filesystems()}
    assert not {d.fstype for d in snap.disks} & PSEUDO_FS
    assert all(d.total_bytes > 0 and 0 <= d.percent <= 100 for d in snap.disks)
    assert len(snap.load) == 3 and snap.uptime > 0
    assert snap.daemon["rss_bytes"] > 1 << 20
    assert snap.llm.state == "down" and not snap.llm.configured  # nothing on port 9, no model in this home
    data = snap.to_dict()
    for key in ("cpu", "memory", "swap", "disks", "load", "uptime", "failed_units", "updates", "llm", "daemon"):
        assert key in data
    if systemd_running():
        assert isinstance(data["failed_units"]["count"], int)
    else:  # this machine: systemd installed but not PID 1
        assert data["failed_units"] == {"count": "unknown", "units": []}
    assert data["updates"]["pending"] is None  # not counted until refresh_updates runs


class FakeLlama(http.server.BaseHTTPRequestHandler):
    status = 503

    def do_GET(self):
        body = b"llamacpp:predicted_tokens_seconds 41.5\n" if self.path == "/metrics" else b"{}"
        self.send_response(200 if self.path == "/metrics" else self.status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def fake_llama():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), FakeLlama)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_llm_states_from_health_and_tokens_from_metrics(fake_llama):
    _, url = fake_llama
    FakeLlama.status = 503
    assert probe_llm(url, True).state == "loading"
    FakeLlama.status = 200
    state = probe_llm(url, True)
    assert (state.state, state.tokens_per_second) == ("up", 41.5)
    FakeLlama.status = 500
    assert probe_llm(url, True).state == "error"
    assert tokens_per_second("# HELP x\nllamacpp:predicted_tokens_seconds nan-ish\n") is None


def test_something_that_is_not_http_on_the_llm_port_is_an_error():
    with socket.create_server(("127.0.0.1", 0)) as srv:

        def answer_garbage() -> None:
            conn, _ = srv.accept()
            with conn:
                conn.recv(4096)
                conn.sendall(b"SSH-2.0-OpenSSH_9.2\r\n")

        t = threading.Thread(target=answer_garbage)
        t.start()
        assert probe_llm(f"http://127.0.0.1:{srv.getsockname()[1]}", True).state == "error"
        t.join(10)


@pytest.mark.llm
def test_llm_state_of_the_real_llama_server(llama_server):
    assert probe_llm(llama_server.base_url, True).tokens_per_second is None  # /metrics needs the key
    state = probe_llm(llama_server.base_url, True, llama_server.key)
    assert state.state == "up"
    assert isinstance(state.tokens_per_second, float)  # cortex-llm runs with --metrics


def test_a_slow_apt_count_never_stops_the_sampling_loop(tmp_path):
    """refresh_updates blocks until released; meanwhile the loop keeps sampling and evaluating."""
    release, ticks = threading.Event(), []
    real = Sampler(load_config(env={"CORTEX_HOME": str(tmp_path), "CORTEX_LLM_PORT": "9"}))

    class SlowApt:
        def sample(self) -> Snapshot:
            ticks.append(1)
            return real.sample()

        def refresh_updates(self) -> None:
            release.wait(30)

    m = Monitor(load_config(env={"CORTEX_HOME": str(tmp_path)}), sampler=SlowApt())
    m.interval = 0.01

    async def main() -> None:
        m.start()
        while len(ticks) < 5:
            await asyncio.sleep(0.01)
        assert not release.is_set()  # five samples while apt was still "running"
        release.set()
        await asyncio.to_thread(m.stop)

    asyncio.run(main())
    assert m._done.is_set()


def test_health_before_the_first_sample_takes_one(tmp_path):
    m = Monitor(load_config(env={"CORTEX_HOME": str(tmp_path), "CORTEX_LLM_PORT": "9"}))
    try:
        h = m.health()
        assert h["thresholds"]["disk_warning"] == 85 and h["disks"]
        assert Path(m.store.path).is_file()
    finally:
        m.close()
