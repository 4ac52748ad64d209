"""Shared inference (issue 16, item 3): cortexd in front of another machine's OpenAI-compatible server (another
box's cortex-llm, a llama-server, vLLM) over TLS, verified by default, with the key read from a 0600 file."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest
from test_daemon_support import DaemonProcess, FakeLLM, write_conf

from cortex.daemon_client import CortexDaemonClient, DaemonError

KEY = "sk-inference-box-0123456789abcdef"


def remote(llm: FakeLLM, certificate: tuple[Path, Path]) -> str:
    """Serve ``llm`` over TLS with the test certificate; its https URL."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certificate)
    llm.httpd.socket = context.wrap_socket(llm.httpd.socket, server_side=True)
    return llm.url.replace("http://", "https://")


def key_file(tmp_path: Path) -> Path:
    path = tmp_path / "inference-box.key"
    path.write_text(f"# the inference box's cortex-llm key (its llm.key)\n{KEY}\n")
    path.chmod(0o600)
    return path


def test_cortexd_sends_the_key_file_to_a_remote_server_over_verified_tls(
    tmp_path: Path, certificate: tuple[Path, Path]
) -> None:
    home, sock = tmp_path / "home", tmp_path / "run" / "c.sock"
    with FakeLLM(reply="from the inference box") as llm:
        url = remote(llm, certificate)
        llm_conf = {"base_url": url, "api_key_file": str(key_file(tmp_path))}
        conf = write_conf(home / "daemon.conf", {"llm": llm_conf, "monitor": {"enabled": "false"}})
        with DaemonProcess(home, sock, conf, env={"SSL_CERT_FILE": str(certificate[0])}):
            assert CortexDaemonClient(sock).inference("hello?", max_tokens=4)["output"] == "from the inference box"
    assert llm.headers[-1]["Authorization"] == f"Bearer {KEY}"


def test_an_unverified_certificate_is_refused_before_the_key_is_sent(
    tmp_path: Path, certificate: tuple[Path, Path]
) -> None:
    home, sock = tmp_path / "home", tmp_path / "run" / "c.sock"
    with FakeLLM() as llm:
        url = remote(llm, certificate)
        llm_conf = {"base_url": url, "api_key_file": str(key_file(tmp_path))}
        conf = write_conf(home / "daemon.conf", {"llm": llm_conf, "monitor": {"enabled": "false"}})
        with DaemonProcess(home, sock, conf), pytest.raises(DaemonError) as e:  # the machine does not trust it
            CortexDaemonClient(sock).inference("hello?", max_tokens=4)
    assert e.value.code == "llm_unavailable" and llm.headers == []
    assert KEY not in str(e.value)
