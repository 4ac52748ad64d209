"""Cortex's one HTTP client for real: Claude's stream and errors from a local server, TLS verified by default,
and no other HTTP client library anywhere in ``cortex/``."""

from __future__ import annotations

import ast
import json
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from cortex.providers import Options, ProviderError
from cortex.providers.claude import ClaudeProvider
from cortex.providers.openai_compat import OpenAICompatProvider

MESSAGES = [{"role": "system", "content": "be brief"}, {"role": "user", "content": "which web server?"}]
EVENTS = [
    {"type": "message_start", "message": {"usage": {"input_tokens": 11}}},
    {"type": "content_block_delta", "delta": {"text": "nginx"}},
    {"type": "content_block_delta", "delta": {"text": " is fine"}},
    {"type": "message_delta", "usage": {"output_tokens": 3}},
    {"type": "message_stop"},
]


class Server:
    """A local HTTP(S) server answering every POST with ``status`` and ``body``; it keeps what it was sent."""

    def __init__(self, status: int, body: bytes, context: ssl.SSLContext | None = None):
        self.received: list[tuple[dict[str, str], Any]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                server.received.append((dict(self.headers), json.loads(self.rfile.read(length))))
                self.send_response(status)
                self.send_header("Content-Type", "text/event-stream" if status == 200 else "application/json")
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        if context is not None:
            self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
        scheme = "https" if context is not None else "http"
        self.url = f"{scheme}://127.0.0.1:{self.httpd.server_address[1]}"

    def __enter__(self) -> Server:
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def sse(events: list[dict[str, Any]]) -> bytes:
    return "".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n" for e in events).encode()


def test_claude_streams_its_text_and_token_counts() -> None:
    with Server(200, sse(EVENTS)) as server:
        response = ClaudeProvider("sk-ant-test", "claude-x", base_url=server.url).prompt(
            MESSAGES, Options(max_tokens=9)
        )
        assert list(response) == ["nginx", " is fine"]
    assert (response.prompt_tokens, response.tokens_generated) == (11, 3)
    headers, body = server.received[0]
    assert headers["x-api-key"] == "sk-ant-test" and headers["anthropic-version"] == "2023-06-01"
    assert body["system"] == "be brief" and body["messages"] == MESSAGES[1:] and body["max_tokens"] == 9


@pytest.mark.parametrize(
    ("status", "expected"),
    [(500, "answered HTTP 500: .*overloaded"), (429, "answered HTTP 429"), (401, "rejected the API key")],
)
def test_claude_errors_name_the_status(status: int, expected: str) -> None:
    with Server(status, b'{"error": {"message": "overloaded"}}') as s, pytest.raises(ProviderError, match=expected):
        list(ClaudeProvider("sk-ant-test", "claude-x", base_url=s.url).prompt(MESSAGES, Options()))


def test_claude_names_an_unreachable_server() -> None:
    claude = ClaudeProvider("sk-ant-test", "claude-x", base_url="http://127.0.0.1:1")
    with pytest.raises(ProviderError, match="not reachable"):
        list(claude.prompt(MESSAGES, Options()))


@pytest.fixture
def tls_server(certificate: tuple[Path, Path]) -> Iterator[Server]:
    cert, key = certificate
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    with Server(200, sse(EVENTS), context) as server:
        yield server


def test_tls_is_verified_by_default(tls_server: Server, certificate: tuple[Path, Path], monkeypatch) -> None:
    claude = ClaudeProvider("sk-ant-test", "claude-x", base_url=tls_server.url)
    openai = OpenAICompatProvider("openai", tls_server.url, "gpt-x", "sk-test")
    for provider in (claude, openai):
        with pytest.raises(ProviderError, match="SSLCertVerificationError"):
            list(provider.prompt(MESSAGES, Options()))
    assert tls_server.received == []  # refused before anything was sent
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))  # the machine trusts it now
    assert "".join(claude.prompt(MESSAGES, Options())) == "nginx is fine"


def test_no_other_http_client_library_in_cortex() -> None:
    others = {"httpx", "requests", "urllib3", "aiohttp", "urllib.request"}
    found = []
    for path in Path(__file__).resolve().parent.parent.joinpath("cortex").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            found += [f"{path.name}: {n}" for n in names if any(n == o or n.startswith(o + ".") for o in others)]
    assert found == []
