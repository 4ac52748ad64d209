"""How fast cortex-llm comes up and how soon `cortex ask` shows the model's explanation.

Each figure is set against a baseline measured in the same run:

* start: ``cortex llm start`` as a user runs it (a new process: Python start, checks, spawn, /health wait,
  until it exits) against spawning llama-server by hand with the same argv and polling /health, the two
  interleaved, after one start that creates the home's files (API key, checked model header) as a user's first does;
* first output: a fresh ``cortex ask`` process, from its start to its first byte on stdout (the lead);
* first explanation character, and the ratio: ``cortex ask``'s request and the same request sent straight to
  llama-server both pass through a TCP relay in this process, which notes when each request's first byte
  arrives. For ``cortex ask`` the figure is that moment to the first byte of the model's explanation read
  from its stdout (after the lead and its space), so it holds the stream's parsing, the look-ahead filter
  and the printing; for the direct request it is that moment to the first token read from the response.
  The direct request replays the bytes ``cortex ask`` sent (same messages, options, prompt cache), right
  after each ``cortex ask``. Runs whose whole explanation the rules dropped have no such character and are
  counted apart; the default question is one whose explanation the bundled model writes so it is kept.

Run: .venv/bin/python bench/llm_first_token.py [--runs N] [--question Q]
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from cortex.config import load_config
from cortex.llm_service.llama_api import StreamReader
from cortex.llm_service.supervisor import LlamaServer, health
from cortex.paths import BUNDLED_MODEL_FILE, get_paths
from cortex.terminal import printable

QUESTION = "What is curl?"  # the bundled model's explanation of "What is nginx?" is all echo: dropped


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_health(url: str) -> None:
    while health(url, timeout=0.5) != "ready":
        time.sleep(0.01)


def bare_start(config) -> float:
    """Baseline: spawn llama-server with the same argv and poll /health."""
    server = LlamaServer(config)
    argv = server.argv(*server.preflight())
    t0 = time.monotonic()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    wait_health(config.llm_url)
    elapsed = time.monotonic() - t0
    proc.terminate()
    proc.wait()
    return elapsed


def cortex_start(env: dict[str, str]) -> float:
    t0 = time.monotonic()
    subprocess.run([sys.executable, "-m", "cortex", "llm", "start"], env=env, check=True, capture_output=True)
    elapsed = time.monotonic() - t0
    subprocess.run([sys.executable, "-m", "cortex", "llm", "stop"], env=env, check=True, capture_output=True)
    return elapsed


class Relay:
    """A TCP relay in front of llama-server that notes when each request's first byte arrives and what it
    was: the moment ``cortex ask`` sends its request, seen from outside the process, and its exact bytes to
    send again. Both measured requests pass through it, so its cost (well under a millisecond) is in both."""

    def __init__(self, port: int):
        self.upstream = port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.requests: list[tuple[float, bytes]] = []  # (first byte's monotonic time, the request's bytes)
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            client, _ = self.listener.accept()
            server = socket.create_connection(("127.0.0.1", self.upstream))
            for s in (client, server):
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            record: list = [None, bytearray()]
            self.requests.append(record)  # type: ignore[arg-type]
            threading.Thread(target=self._pump, args=(client, server, record), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, None), daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket, record: list | None) -> None:
        try:
            while data := src.recv(65536):
                if record is not None:
                    record[0] = record[0] or time.monotonic()
                    record[1] += data
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def last_chat(self) -> tuple[float, bytes]:
        """The last chat request: when its first byte came, and its body."""
        for sent, raw in reversed(self.requests):
            if bytes(raw).startswith(b"POST /v1/chat/completions"):
                return sent, bytes(raw).split(b"\r\n\r\n", 1)[1]
        raise RuntimeError("no chat request went through the relay")


def direct_first_token(relay: Relay, body: bytes, key: str) -> float:
    """The same request straight to llama-server (through the relay): first byte sent to first token read."""
    conn = http.client.HTTPConnection("127.0.0.1", relay.port)
    conn.request(
        "POST", "/v1/chat/completions", body, {"Content-Type": "application/json", "Authorization": f"Bearer {key}"}
    )
    reader = StreamReader()
    for raw in conn.getresponse():
        if reader.feed(raw.decode()):
            done = time.monotonic()
            conn.close()
            return done - relay.last_chat()[0]
    raise RuntimeError("no token")


def cli_first_token(
    env: dict[str, str], question: str, lead: str, relay: Relay
) -> tuple[float, float | None, float | None]:
    """A fresh `cortex ask` process: (its first output, and its first explanation character, from its start;
    that character from the moment its request was sent). None when the rules dropped the whole explanation."""
    t0 = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "cortex", "ask", question], env=env, stdout=subprocess.PIPE)
    seen, first_byte, explained = b"", None, None
    need = len((printable(lead) + " ").encode()) if lead else 0
    while chunk := os.read(proc.stdout.fileno(), 4096):
        now = time.monotonic()
        seen += chunk
        first_byte = first_byte or now
        if explained is None and len(seen.rstrip(b"\n")) > need:
            explained = now
    proc.wait()
    if explained is None:
        return first_byte - t0, None, None
    return first_byte - t0, explained - t0, explained - relay.last_chat()[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--question", default=QUESTION)
    args = parser.parse_args()
    model = get_paths("user", env={k: v for k, v in os.environ.items() if k != "CORTEX_HOME"}).models_dir
    home = tempfile.mkdtemp(prefix="cortex-bench-")
    env = {
        **os.environ,
        "CORTEX_HOME": home,
        "CORTEX_LLM_PORT": str(free_port()),
        "CORTEX_LLM_MODEL_PATH": str(Path(os.environ.get("CORTEX_TEST_MODEL", model / BUNDLED_MODEL_FILE))),
    }
    env["LLAMA_CPP_BASE_URL"] = f"http://127.0.0.1:{env['CORTEX_LLM_PORT']}"
    config = load_config(env=env)

    cortex_start(env)  # the first start creates the key and the home's files, as a user's first start does
    pairs = [(bare_start(config), cortex_start(env)) for _ in range(args.runs)]  # interleaved: same load
    bare, ours = statistics.median(p[0] for p in pairs), statistics.median(p[1] for p in pairs)
    print(
        f"start to ready: cortex llm start {ours * 1000:.0f} ms, bare llama-server {bare * 1000:.0f} ms, "
        f"ratio {ours / bare:.2f} (median of the pairs' ratios {statistics.median(o / b for b, o in pairs):.2f})"
    )

    server = LlamaServer(config)
    server.start()
    relay = Relay(config["service.port"])
    ask_env = {**env, "LLAMA_CPP_BASE_URL": f"http://127.0.0.1:{relay.port}"}
    try:
        from cortex.ask.answer import answer

        warm = answer(args.question, config)  # builds the package index once, like a first ask would,
        warm.response.text()  # and puts the prompt in llama-server's cache, as a user's earlier ask would
        lead = warm.lead
        outputs, explained, cortex_ft, direct_ft, bodies = [], [], [], [], set()
        for _ in range(args.runs):  # each cortex ask, then its own request again straight to llama-server
            first_output, first_explained, from_request = cli_first_token(ask_env, args.question, lead, relay)
            outputs.append(first_output)
            bodies.add(relay.last_chat()[1])
            direct_ft.append(direct_first_token(relay, relay.last_chat()[1], server.key))
            if from_request is not None:
                explained.append(first_explained)
                cortex_ft.append(from_request)
        print(f"cortex ask (new process, warm service) first output {statistics.median(outputs) * 1000:.0f} ms")
        direct = statistics.median(direct_ft)
        if not cortex_ft:
            print(
                f"the rules dropped every explanation of {args.question!r}; direct first token {direct * 1000:.1f} ms"
            )
            return
        ours = statistics.median(cortex_ft)
        print(
            f"first explanation character: {statistics.median(explained) * 1000:.0f} ms after cortex ask started, "
            f"{ours * 1000:.1f} ms after it sent its request ({len(cortex_ft)} of {args.runs} runs had one); "
            f"the same request direct: first token {direct * 1000:.1f} ms; ratio {ours / direct:.2f}; "
            f"{len(bodies)} different request(s) in {args.runs} runs (one: every prompt was in the cache)"
        )
    finally:
        server.stop()


if __name__ == "__main__":
    main()
