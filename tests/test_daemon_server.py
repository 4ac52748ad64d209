"""cortexd's IPC server in-process on a real Unix socket: commands, framing, limits, permissions."""

from __future__ import annotations

import contextlib
import json
import os
import stat
import tempfile
from pathlib import Path

import pytest
from test_daemon_support import Conn, ThreadedDaemon, as_other_user, exchange, make_config, write_conf

from cortex.daemon.server import TokenBucket
from cortex.daemon_client import CortexDaemonClient, DaemonError, DaemonNotRunning
from cortex.protocol import MAX_FRAME, ErrorCode


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture
def daemon(home: Path, tmp_path: Path):
    config, conf = make_config(home, {"llm": {"base_url": "http://127.0.0.1:9"}})
    with ThreadedDaemon(config, tmp_path / "run" / "cortex.sock", conf) as d:
        yield d


@pytest.fixture
def client(daemon: ThreadedDaemon) -> CortexDaemonClient:
    return CortexDaemonClient(daemon.socket_path, timeout=10)


def test_every_command_answers(client: CortexDaemonClient, daemon: ThreadedDaemon) -> None:
    assert client.ping() is True
    assert client.version() == {"name": "cortexd", "version": daemon.daemon.version, "protocol": 1}
    status = client.status()
    assert status["pid"] == os.getpid() and status["mode"] == "user"
    assert status["socket"] == str(daemon.socket_path)
    assert status["llm"]["state"] == "down" and status["llm"]["backend"] == "llama.cpp"
    assert status["alerts"] == {"active": 0, "critical": 0}
    assert status["queue"] == {"depth": 0, "max": 104}  # [llm] parallel 4 running + queue_size 100 waiting
    health = client.health()
    for key in ("cpu", "memory", "swap", "disks", "load", "uptime", "failed_units", "updates", "llm", "thresholds"):
        assert key in health
    assert health["daemon"]["rss_bytes"] > 1_000_000
    assert health["thresholds"]["disk_critical"] == 95
    config = client.config()
    assert config["llm.base_url"] == {"value": "http://127.0.0.1:9", "source": str(daemon.daemon.config_file)}
    assert client.alerts()["alerts"] == []
    assert client.reload_config() == {"reloaded": True, "changed": []}
    text = client.metrics()
    assert 'cortex_ipc_requests_total{command="ping",outcome="ok"} 1.0' in text
    assert "cortex_inference_queue_depth 0.0" in text
    assert "cortex_ipc_request_seconds_bucket" in text
    with pytest.raises(DaemonError) as e:
        client.inference("hi")
    assert e.value.code == "llm_unavailable" and "cortex llm start" in e.value.message
    assert client.shutdown() == {"shutdown": "initiated"}


def test_aliases_and_method_key(daemon: ThreadedDaemon) -> None:
    conn = Conn(daemon.socket_path)
    assert conn.request({"method": "ping"})["data"] == {"pong": True}
    assert conn.request({"command": "config.get"})["data"]["llm.queue_size"]["value"] == 100
    assert conn.request({"command": "config.reload"})["data"]["reloaded"] is True
    assert conn.request({"command": "alerts.list", "params": {"limit": 5}})["data"]["alerts"] == []
    conn.close()


@pytest.mark.parametrize("rid", [7, "abc", None, [1, {"x": 2}], {"k": "v"}, 1.5])
def test_id_is_echoed_on_success_and_error(daemon: ThreadedDaemon, rid: object) -> None:
    conn = Conn(daemon.socket_path)
    good = conn.request({"command": "ping", "id": rid})
    bad = conn.request({"command": "nope", "id": rid})
    conn.close()
    assert good["id"] == rid and good["success"] is True and isinstance(good["timestamp"], float)
    assert bad["id"] == rid and bad["error"]["code"] == "unknown_command" and "ping" in bad["error"]["message"]


@pytest.mark.parametrize(
    "rid", ["\ud800", "\udfff", "a\udc00b", "\udc00\ud800", ["\ud800", 1], {"k": "\udbff"}, {"\ud800": 1}]
)
def test_an_id_with_a_lone_surrogate_is_echoed_escaped(daemon: ThreadedDaemon, rid: object) -> None:
    """JSON can escape a lone surrogate (\\ud800) that UTF-8 cannot carry; the answer escapes it back, so a
    command that ran never loses its answer (DESIGN: the id is any JSON, echoed)."""
    conn = Conn(daemon.socket_path)
    requests = [
        {"command": "ping", "id": rid},
        {"command": "alerts.acknowledge", "params": {"all": True}, "id": rid},
        {"command": "nope\udfff", "id": rid},
        {"command": "ping", "params": {"\ud800": 1}, "id": rid},
    ]
    answers = []
    for request in requests:
        conn.send(json.dumps(request).encode() + b"\n")  # json.dumps escapes them: the request is ASCII
        answers.append(json.loads(conn.file.readline().decode("utf-8")))  # strict UTF-8 on the way back
    conn.close()
    assert [a["id"] for a in answers] == [rid] * 4
    assert [a["success"] for a in answers[:2]] == [True, True]
    assert [a["error"]["code"] for a in answers[2:]] == ["unknown_command", "invalid_params"]


def test_many_requests_per_connection_and_eof_ended_last_request(daemon: ThreadedDaemon) -> None:
    frames = exchange(
        daemon.socket_path, b'{"command":"ping","id":1}\n\n{"command":"version","id":2}\n{"command":"ping","id":3}'
    )
    assert [f["id"] for f in frames] == [1, 2, 3]
    assert all(f["success"] for f in frames)


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        (b"not json", "parse_error"),
        (b"\xff\xfe{}", "parse_error"),
        (b"[1, 2]", "invalid_request"),
        (b'{"params": {}}', "invalid_request"),
        (b'{"command": 5}', "invalid_request"),
        (b'{"command": "ping", "params": [1]}', "invalid_params"),
        (b'{"command": "ping", "params": {"x": 1}}', "invalid_params"),
        (b'{"command": "ping", "id": NaN}', "parse_error"),
        (b'{"command": "ping", "id": 1e999}', "parse_error"),
        (b'{"command": "ping", "id": ' + b"9" * 5000 + b"}", "parse_error"),
        (b"[" * 100_000, "parse_error"),
        (b'{"command": "alerts", "params": {"limit": "many"}}', "invalid_params"),
        (b'{"command": "alerts.dismiss", "params": {}}', "invalid_params"),
        (b'{"command": "alerts.acknowledge", "params": {"id": 12}}', "not_found"),
        (b'{"command": "inference", "params": {}}', "invalid_params"),
        (b'{"command": "inference", "params": {"prompt": "x", "max_tokens": -1}}', "invalid_params"),
        (b'{"command": "inference", "params": {"prompt": "x", "bogus": 1}}', "invalid_params"),
    ],
)
def test_bad_input_gets_an_error_and_the_connection_lives(daemon: ThreadedDaemon, frame: bytes, code: str) -> None:
    conn = Conn(daemon.socket_path)
    conn.send(frame + b"\n")
    answer = conn.read()
    assert answer is not None and answer["success"] is False
    assert answer["error"]["code"] == code and answer["error"]["message"]
    assert conn.request({"command": "ping"})["success"] is True
    conn.close()


def test_frame_over_one_mib_gets_too_large_then_close(daemon: ThreadedDaemon) -> None:
    conn = Conn(daemon.socket_path)
    body = b'{"command":"ping","pad":"' + b"x" * MAX_FRAME + b'"}\n'
    with contextlib.suppress(BrokenPipeError):
        conn.send(body)
    answer = conn.read()
    assert answer is not None and answer["error"]["code"] == "too_large"
    assert conn.read() is None  # closed
    conn.close()
    exactly = b'{"command":"ping","id":"' + b"y" * (MAX_FRAME - 30) + b'"}'
    assert len(exactly) <= MAX_FRAME
    assert exchange(daemon.socket_path, exactly + b"\n")[0]["success"] is True


def test_rate_limit_answers_rate_limited(home: Path, tmp_path: Path) -> None:
    config, conf = make_config(home, {"daemon": {"rate_limit": 1, "rate_burst": 5}})
    with ThreadedDaemon(config, tmp_path / "run" / "c.sock", conf) as d:
        frames = exchange(d.socket_path, b'{"command":"ping"}\n' * 20)
    codes = [f["error"]["code"] if not f["success"] else "ok" for f in frames]
    assert len(frames) == 20
    assert codes[:5] == ["ok"] * 5
    assert codes.count("rate_limited") >= 14


def test_token_bucket_refills_with_the_clock() -> None:
    now = [100.0]
    bucket = TokenBucket(rate=2, burst=3, clock=lambda: now[0])
    assert [bucket.allow() for _ in range(4)] == [True, True, True, False]
    now[0] += 0.5  # one token back
    assert [bucket.allow() for _ in range(2)] == [True, False]
    now[0] += 100  # never more than the burst
    assert sum(bucket.allow() for _ in range(10)) == 3


def test_connection_limit(home: Path, tmp_path: Path) -> None:
    config, conf = make_config(home, {"daemon": {"max_connections": 2}})
    with ThreadedDaemon(config, tmp_path / "run" / "c.sock", conf) as d:
        held = [Conn(d.socket_path) for _ in range(2)]
        assert held[0].request({"command": "ping"})["success"]
        held[1].request({"command": "ping"})
        frames = exchange(d.socket_path, b'{"command":"ping"}\n')
        assert frames[0]["error"]["code"] == "rate_limited" and "connections" in frames[0]["error"]["message"]
        held[0].close()
        assert held[1].request({"command": "ping"})["success"]
        for c in held[1:]:
            c.close()


def test_five_hundred_idle_connections_do_not_block_a_ping(home: Path, tmp_path: Path) -> None:
    config, conf = make_config(home, {"daemon": {"max_connections_per_process": 1000}})
    with ThreadedDaemon(config, tmp_path / "run" / "c.sock", conf) as daemon:
        idle = [Conn(daemon.socket_path) for _ in range(500)]
        try:
            idle[0].send(b'{"command": "pi')  # one half-sent frame too
            assert CortexDaemonClient(daemon.socket_path, timeout=30).ping()
            assert len(daemon.server.connections) >= 500
        finally:
            for c in idle:
                c.close()


def test_idle_connection_is_closed(home: Path, tmp_path: Path) -> None:
    config, conf = make_config(home, {"daemon": {"idle_timeout": 1}})
    with ThreadedDaemon(config, tmp_path / "run" / "c.sock", conf) as d:
        conn = Conn(d.socket_path, timeout=15)
        conn.send(b'{"command": "pi')  # half a frame, then silence
        assert conn.read() is None  # the sweeper closed it
        conn.close()


def test_socket_and_directory_are_private(daemon: ThreadedDaemon) -> None:
    assert stat.S_IMODE(daemon.socket_path.stat().st_mode) == 0o600
    assert stat.S_IMODE(daemon.socket_path.parent.stat().st_mode) == 0o700


def test_reload_config_valid_then_invalid(daemon: ThreadedDaemon, client: CortexDaemonClient) -> None:
    conf = daemon.daemon.config_file
    write_conf(conf, {"llm": {"base_url": "http://127.0.0.1:9", "queue_size": 7}, "daemon": {"rate_burst": 2000}})
    result = client.reload_config()
    assert result["reloaded"] is True and set(result["changed"]) == {"llm.queue_size", "daemon.rate_burst"}
    assert client.status()["queue"]["max"] == 4 + 7
    conf.write_text("[llm]\nqueue_size: lots\n")
    with pytest.raises(DaemonError) as e:
        client.reload_config()
    assert e.value.code == "config_error" and "queue_size" in e.value.message and "old configuration" in e.value.message
    assert client.status()["queue"]["max"] == 4 + 7


def test_admin_commands_refuse_other_users(home: Path) -> None:
    """SO_PEERCRED: uid 65534 may ping but not shut down, reload or dismiss all alerts."""
    if os.geteuid() != 0:
        pytest.skip("needs root to switch to another uid")
    shared = Path(tempfile.mkdtemp(prefix="cortexd-peer-", dir="/tmp"))
    shared.chmod(0o711)
    config, conf = make_config(home)
    with ThreadedDaemon(config, shared / "c.sock", conf) as d:
        d.socket_path.chmod(0o666)  # let the other user reach the socket; the gate under test is SO_PEERCRED
        requests = [
            {"command": "ping"},
            {"command": "shutdown"},
            {"command": "reload-config"},
            {"command": "alerts.dismiss", "params": {"all": True}},
            {"command": "alerts.acknowledge", "params": {"all": True}},
        ]
        answers = as_other_user(d.socket_path, requests)
        assert answers[0]["success"] is True
        assert [a["error"]["code"] for a in answers[1:4]] == ["unauthorized"] * 3
        assert answers[4]["success"] is True
        assert CortexDaemonClient(d.socket_path).ping()  # still up: the shutdown was refused


def test_client_says_how_to_start_when_not_running(tmp_path: Path) -> None:
    with pytest.raises(DaemonNotRunning) as e:
        CortexDaemonClient(tmp_path / "none.sock").ping()
    assert "cortex daemon start" in str(e.value) and "cortex up" in str(e.value)


def test_every_error_code_is_reachable_by_name() -> None:
    assert {c.value for c in ErrorCode} == {
        "parse_error",
        "invalid_request",
        "unknown_command",
        "invalid_params",
        "unauthorized",
        "rate_limited",
        "too_large",
        "queue_full",
        "llm_unavailable",
        "timeout",
        "config_error",
        "not_found",
        "internal",
    }


def test_system_mode_socket_is_group_only(tmp_path: Path) -> None:
    import asyncio

    from cortex.daemon.server import Limits, Server

    async def noop(request, conn):  # never called
        raise AssertionError

    async def main() -> tuple[int, int]:
        server = Server(tmp_path / "sys" / "cortex.sock", noop, Limits(), mode="system")
        await server.start()
        modes = (server.path.stat().st_mode, server.path.parent.stat().st_mode)
        await server.stop(0)
        return modes

    sock_mode, dir_mode = asyncio.run(main())
    assert stat.S_IMODE(sock_mode) == 0o660 and stat.S_IMODE(dir_mode) == 0o750
    assert not (tmp_path / "sys" / "cortex.sock").exists()  # removed on stop


def test_a_client_that_never_reads_does_not_delay_others(home: Path, tmp_path: Path) -> None:
    config, conf = make_config(home, {"daemon": {"rate_limit": 1000000, "rate_burst": 1000000}})
    with ThreadedDaemon(config, tmp_path / "run" / "c.sock", conf) as daemon:
        _hog_and_ping(daemon)


def _hog_and_ping(daemon: ThreadedDaemon) -> None:
    hog = Conn(daemon.socket_path)
    hog.sock.setblocking(False)
    sent = 0
    try:
        while sent < 50_000_000:  # pipeline pings and never read: the daemon's writes to it back up
            sent += hog.sock.send(b'{"command":"ping"}\n' * 1000)
    except BlockingIOError:
        pass
    assert sent > 0
    assert CortexDaemonClient(daemon.socket_path, timeout=30).ping()
    hog.close()
