"""Prometheus metrics: the HTTP endpoint of a real cortexd, scraped and parsed, with llama-server's re-exported."""

from __future__ import annotations

import http.client
import socket
from pathlib import Path

import pytest
from conftest import free_port
from prometheus_client.parser import text_string_to_metric_families
from test_daemon_support import DaemonProcess, write_conf

from cortex.daemon_client import CortexDaemonClient


def scrape(port: int, method: str = "GET", path: str = "/metrics") -> tuple[int, str, str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request(method, path)
        response = conn.getresponse()
        return response.status, response.getheader("Content-Type", ""), response.read().decode()
    finally:
        conn.close()


def families(text: str) -> dict:
    return {f.name: f for f in text_string_to_metric_families(text)}


def value(family, **labels) -> float:
    for s in family.samples:
        if all(s.labels.get(k) == v for k, v in labels.items()):
            return s.value
    raise AssertionError(f"no sample {labels} in {family.name}")


def test_endpoint_serves_cortex_and_llama_metrics(tmp_path: Path, llama_server) -> None:
    home, sock, port = tmp_path / "home", tmp_path / "run" / "c.sock", free_port()
    conf = write_conf(
        home / "daemon.conf",
        {"metrics": {"enabled": "true", "port": port}, "llm": llama_server.llm_conf()},
    )
    with DaemonProcess(home, sock, conf):
        client = CortexDaemonClient(sock, timeout=120)
        pieces = list(client.stream_inference("Say hello.", max_tokens=8, temperature=0))
        assert pieces
        client.inference(prompts=["a", "b"], max_tokens=4)
        status, content_type, text = scrape(port)
        ipc_text = client.metrics()
    assert status == 200 and content_type.startswith("text/plain; version=0.0.4")
    f = families(text)
    assert value(f["cortex_ipc_requests"], command="inference", outcome="ok") == 2
    assert value(f["cortex_ipc_request_seconds"], command="inference", le="+Inf") == 2
    assert value(f["cortex_inference_queue_depth"]) == 0
    assert value(f["cortex_inference_tokens_per_second"]) > 0
    assert value(f["cortex_inference_tokens_generated"]) >= 3
    assert value(f["cortex_inference_first_token_seconds"], le="+Inf") == 3  # the stream and the batch's two
    assert 0 <= value(f["cortex_cpu_percent"]) <= 100 and 0 < value(f["cortex_memory_percent"]) < 100
    assert 0 < value(f["cortex_disk_percent"], mountpoint="/") < 100
    assert value(f["cortex_alerts_firing"], severity="critical") == 0
    assert value(f["cortex_llm_up"]) == 1
    # llama-server's own metrics, renamed under cortex_llamacpp_
    llama = [name for name in f if name.startswith("cortex_llamacpp_")]
    assert "cortex_llamacpp_prompt_tokens" in llama and value(f["cortex_llamacpp_prompt_tokens"]) > 0
    assert not [name for name in f if not name.startswith("cortex_")]
    assert set(families(ipc_text)) >= {"cortex_ipc_requests", "cortex_cpu_percent", "cortex_llamacpp_prompt_tokens"}


def test_endpoint_answers_only_get_metrics_and_survives_bad_requests(tmp_path: Path) -> None:
    home, sock, port = tmp_path / "home", tmp_path / "run" / "c.sock", free_port()
    nothing_listens = f"http://127.0.0.1:{free_port()}"  # not 8085, where a developer's cortex-llm may run
    settings = {"metrics": {"enabled": "true", "port": port}, "monitor": {"enabled": "false"}}
    conf = write_conf(home / "daemon.conf", {**settings, "llm": {"base_url": nothing_listens}})
    with DaemonProcess(home, sock, conf):
        assert scrape(port, path="/")[0] == 404
        assert scrape(port, method="POST")[0] == 405
        assert scrape(port, method="HEAD")[0] == 200
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            s.sendall(b"garbage\r\n\r\n")
            assert s.recv(100).startswith(b"HTTP/1.1 400")
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            s.sendall(b"GET /metrics HTTP/1.1\r\n" + b"X: " + b"y" * 10000 + b"\r\n\r\n")
            assert s.recv(100).startswith(b"HTTP/1.1 431")
        assert CortexDaemonClient(sock).ping()  # IPC still answers, and is counted
        status, _, text = scrape(port)
        f = families(text)
        assert status == 200 and value(f["cortex_llm_up"]) == 0 and "cortex_llamacpp_prompt_tokens" not in f
        assert value(f["cortex_ipc_requests"], command="ping", outcome="ok") == 1


def test_endpoint_is_off_by_default_and_a_busy_port_is_a_clear_error(tmp_path: Path) -> None:
    port = free_port()
    home, sock = tmp_path / "home", tmp_path / "run" / "c.sock"
    conf = write_conf(home / "daemon.conf", {"metrics": {"port": port}})
    with DaemonProcess(home, sock, conf), pytest.raises(ConnectionRefusedError):
        scrape(port)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", port))
        busy.listen()
        conf = write_conf(home / "daemon.conf", {"metrics": {"enabled": "true", "port": port}})
        daemon = DaemonProcess(home, sock, conf).start(wait=False)
        code, stderr = daemon.wait(30)
    assert code == 1 and f"cannot serve metrics on 127.0.0.1:{port} ([metrics] port)" in stderr
    assert not sock.exists()
