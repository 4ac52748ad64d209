"""Secrets are never printed (issue 14, F10): a provider or llama-server that echoes the API key in an error
body, a key pasted into the wrong setting, ``config set`` of a key. Real HTTP servers on loopback, the real
CLI and a real cortexd."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner
from test_daemon_support import Conn, DaemonProcess, write_conf

from cortex.cli.main import cli
from cortex.config import load_config
from cortex.providers import ProviderError, get_provider

OPENAI_KEY = "sk-test-0123456789abcdefOPENAI"
CLAUDE_KEY = "sk-ant-test-0123456789abcdefCLAUDE"
# Puts the key across the first 300 characters of the raw body, or of the error message in it: the part of an
# answer an error quotes. A key cut in half must not slip past redaction.
PADDINGS = {"short": "", "cut-raw": "x" * 190, "cut-message": "x" * 245}


class EchoServer:
    """A provider that answers every POST with ``status`` and the request's credentials in its error body."""

    def __init__(self, status: int = 400, padding: str = "", echo: str = ""):
        self.status, self.padding, self.echo = status, padding, echo
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                sent = (self.headers.get("Authorization"), self.headers.get("x-api-key"), server.echo)
                seen = " ".join(s for s in sent if s)
                message = f"{server.padding}invalid request; you sent credentials {seen}"
                body = json.dumps({"error": {"type": "invalid_request_error", "message": message}}).encode()
                self.send_response(server.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server() -> Iterator[EchoServer]:
    s = EchoServer()
    yield s
    s.close()


def provider_env(name: str, url: str) -> dict[str, str]:
    if name == "openai":
        return {"CORTEX_PROVIDER": "openai", "OPENAI_BASE_URL": f"{url}/v1", "OPENAI_API_KEY": OPENAI_KEY}
    return {"CORTEX_PROVIDER": "claude", "ANTHROPIC_BASE_URL": url, "ANTHROPIC_API_KEY": CLAUDE_KEY}


def leaked(text: str, key: str) -> bool:
    """The key, or a long piece of it, is in ``text``."""
    return any(key[i : i + 12] in text for i in range(len(key) - 11))


@pytest.mark.parametrize("padding", PADDINGS.values(), ids=PADDINGS.keys())
@pytest.mark.parametrize("status", [400, 429, 500])
@pytest.mark.parametrize("name", ["openai", "claude"])
def test_provider_errors_never_carry_the_key(
    server: EchoServer, monkeypatch: pytest.MonkeyPatch, name: str, status: int, padding: str
) -> None:
    server.status, server.padding = status, padding
    for var, value in provider_env(name, server.url).items():
        monkeypatch.setenv(var, value)
    key = OPENAI_KEY if name == "openai" else CLAUDE_KEY
    with pytest.raises(ProviderError) as e:
        get_provider(config=load_config()).prompt([{"role": "user", "content": "hi"}]).text()
    assert f"HTTP {status}" in str(e.value) and "you sent credentials" in str(e.value)
    assert not leaked(str(e.value), key), str(e.value)


def test_a_key_given_in_code_is_redacted_too(server: EchoServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """``CommandInterpreter(api_key=...)`` passes a key no configuration file holds."""
    monkeypatch.setenv("OPENAI_BASE_URL", f"{server.url}/v1")
    key = "sk-given-in-code-0123456789"
    with pytest.raises(ProviderError) as e:
        get_provider("openai", load_config(), api_key=key).prompt([{"role": "user", "content": "hi"}]).text()
    assert "Bearer ***" in str(e.value) and not leaked(str(e.value), key)


@pytest.fixture(scope="module")
def shared_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One home for the CLI runs below: the first ``cortex ask`` builds the package index there."""
    return tmp_path_factory.mktemp("secrets-home")


@pytest.mark.parametrize("status", [400, 429, 500])
@pytest.mark.parametrize("name", ["openai", "claude"])
def test_cortex_ask_never_prints_the_key(server: EchoServer, shared_home: Path, name: str, status: int) -> None:
    server.status = status
    env = {**os.environ, **provider_env(name, server.url), "CORTEX_HOME": str(shared_home)}
    result = subprocess.run(
        [sys.executable, "-m", "cortex", "ask", "What is nginx?"], capture_output=True, text=True, env=env, timeout=300
    )
    assert result.returncode == 1
    assert f"HTTP {status}" in result.stderr and "Traceback" not in result.stderr
    key = OPENAI_KEY if name == "openai" else CLAUDE_KEY
    assert not leaked(result.stdout + result.stderr, key), result.stderr


def test_config_set_and_get_of_a_secret_do_not_echo_it(cortex_home: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(cli, ["config", "set", "provider.openai_api_key", OPENAI_KEY])
    assert result.exit_code == 0 and "provider.openai_api_key = ***" in result.output
    assert not leaked(result.output, OPENAI_KEY)
    assert OPENAI_KEY in (cortex_home / ".env").read_text()  # it was written, only not shown
    result = runner.invoke(cli, ["config", "get", "provider.openai_api_key"])
    assert result.output.strip() == "***"
    result = runner.invoke(cli, ["config", "set", "provider.anthropic_api_key", CLAUDE_KEY + "\x1b"])
    assert result.exit_code == 1 and "control character" in result.output and not leaked(result.output, CLAUDE_KEY)


def test_cortexd_never_answers_or_logs_a_key(tmp_path: Path) -> None:
    """A llama-server that echoes a key the daemon knows, and a key pasted into the wrong setting."""
    home = tmp_path / "home"
    home.mkdir()
    (home / ".env").write_text(f"OPENAI_API_KEY={OPENAI_KEY}\n")
    llm = EchoServer(500, PADDINGS["cut-raw"], echo=OPENAI_KEY)  # the key where llama_api cuts an answer
    conf = write_conf(home / "daemon.conf", {"llm": {"base_url": llm.url, "timeout": 30}})
    sock = tmp_path / "run" / "cortex.sock"
    try:
        with DaemonProcess(home, sock, conf) as daemon:
            conn = Conn(sock, timeout=30)
            answer = conn.request({"command": "inference", "params": {"prompt": "hi", "max_tokens": 4}})
            assert answer["error"]["code"] == "llm_unavailable" and "HTTP 500" in answer["error"]["message"]
            assert not leaked(json.dumps(answer), OPENAI_KEY), answer
            write_conf(conf, {"llm": {"base_url": llm.url, "timeout": OPENAI_KEY}})  # pasted into the wrong key
            answer = conn.request({"command": "reload-config"})
            assert answer["error"]["code"] == "config_error" and "timeout = '***'" in answer["error"]["message"]
            conn.close()
        _, log = daemon.stop()
        assert "not reloaded" in log and "timeout = '***'" in log
        assert not leaked(log, OPENAI_KEY)
    finally:
        llm.close()


def test_placeholders_are_not_secrets_to_strip() -> None:
    """A local server's placeholder key ("none", "EMPTY") would garble every message if it were stripped."""
    from cortex.redact import redact, remember

    remember("EMPTY", "none", "sk-real-key-123")
    assert redact("none firing; EMPTY queue; key sk-real-key-123") == "none firing; EMPTY queue; key ***"
