"""How fast cortex-llm comes up and how soon `cortex ask` shows its first token.

Each figure is set against a baseline measured in the same run:

* start: ``cortex llm start`` (checks + spawn + /health wait) against spawning
  llama-server by hand and polling /health;
* first token: ``cortex ask`` as a user runs it (a new process: Python start,
  fact gathering, request) against a bare HTTP streaming request with the
  same messages sent straight to llama-server from this process.

Run: .venv/bin/python bench/llm_first_token.py [--runs N]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from cortex.config import load_config
from cortex.llm_service.supervisor import LlamaServer, health
from cortex.paths import BUNDLED_MODEL_FILE, get_paths

QUESTION = "What is nginx?"


def free_port() -> int:
    import socket

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


def bare_first_token(config, messages: list[dict[str, str]]) -> float:
    """Baseline: POST the same chat request and wait for the first content chunk."""
    body = json.dumps({"messages": messages, "max_tokens": 64, "stream": True, "cache_prompt": True})
    t0 = time.monotonic()
    conn = http.client.HTTPConnection(config["service.host"], config["service.port"])
    auth = {"Authorization": f"Bearer {LlamaServer(config).key}"}  # cortex-llm's API key, as cortex ask sends it
    conn.request("POST", "/v1/chat/completions", body, {"Content-Type": "application/json", **auth})
    resp = conn.getresponse()
    for raw in resp:
        line = raw.decode().strip()
        if line.startswith("data:") and '"content":"' in line:
            elapsed = time.monotonic() - t0
            conn.close()
            return elapsed
    raise RuntimeError("no token")


def cli_first_token(env: dict[str, str], lead: str) -> tuple[float, float]:
    """(first byte on stdout, first byte of the model's own text) for a fresh `cortex ask` process."""
    t0 = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "cortex", "ask", QUESTION], env=env, stdout=subprocess.PIPE)
    seen, first_byte, first_model = b"", None, None
    need = len((lead + " ").encode()) if lead else 0
    while chunk := os.read(proc.stdout.fileno(), 4096):
        now = time.monotonic() - t0
        seen += chunk
        first_byte = first_byte or now
        if first_model is None and len(seen) > need:
            first_model = now
    proc.wait()
    return first_byte, first_model or first_byte


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
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

    bare = statistics.median(bare_start(config) for _ in range(args.runs))
    ours = statistics.median(cortex_start(env) for _ in range(args.runs))
    print(
        f"start to ready: cortex llm start {ours * 1000:.0f} ms, "
        f"bare llama-server {bare * 1000:.0f} ms, ratio {ours / bare:.2f}"
    )

    server = LlamaServer(config)
    server.start()
    try:
        from cortex.ask.answer import answer, build_messages

        result = answer(QUESTION, config)  # also builds the package index once, like a first ask would
        result.response.text()
        lead = result.lead
        messages = build_messages(QUESTION, result.facts, lead)
        bare_ft = statistics.median(bare_first_token(config, messages) for _ in range(args.runs))
        runs = [cli_first_token(env, lead) for _ in range(args.runs)]
        first_byte = statistics.median(r[0] for r in runs)
        first_model = statistics.median(r[1] for r in runs)
        print(
            f"warm first token: cortex ask (new process) first output {first_byte * 1000:.0f} ms, "
            f"first model token {first_model * 1000:.0f} ms; bare HTTP request {bare_ft * 1000:.0f} ms; "
            f"ratio (model token) {first_model / bare_ft:.2f}"
        )
    finally:
        server.stop()


if __name__ == "__main__":
    main()
