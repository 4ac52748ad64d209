"""Generation speed of llama-server at 1, 2 and 4 threads and at Cortex's default, in one run.

    .venv/bin/python bench/llm_threads.py [--rounds N] [--tokens N]

Each setting is its own llama-server with the bundled model on a free loopback port; the rounds interleave
the settings (so a busy moment hurts all alike), each round generating ``--tokens`` tokens once per
setting. The figure is llama-server's own ``timings.predicted_per_second``, median over the rounds. Goal:
the default (the machine's physical cores) at least the best of the others.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import time
import urllib.request

from cortex.config import load_config
from cortex.llm_service.supervisor import LlamaServer, health

PROMPT = [{"role": "user", "content": "Write a short paragraph about the history of the Linux kernel."}]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(threads: int) -> tuple[subprocess.Popen, str, str]:
    port = free_port()
    os.environ.update({"CORTEX_LLM_PORT": str(port), "CORTEX_LLM_THREADS": str(threads)})
    config = load_config()
    server = LlamaServer(config)
    proc = subprocess.Popen(server.argv(*server.preflight()), stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    while health(url, timeout=0.5) != "ready":
        time.sleep(0.05)
    return proc, url, server.key


def tokens_per_second(url: str, key: str, tokens: int) -> float:
    body = {"messages": PROMPT, "max_tokens": tokens, "temperature": 0.0, "cache_prompt": False}
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {key}"}
    request = urllib.request.Request(f"{url}/v1/chat/completions", json.dumps(body).encode(), headers)
    with urllib.request.urlopen(request, timeout=300) as response:
        return float(json.load(response)["timings"]["predicted_per_second"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--tokens", type=int, default=128)
    args = parser.parse_args()
    os.environ.pop("CORTEX_LLM_THREADS", None)
    default = load_config().llm_threads
    settings = {"1": 1, "2": 2, "4": 4, f"default ({default})": default}
    servers = {name: start(threads) for name, threads in settings.items()}
    speeds: dict[str, list[float]] = {name: [] for name in settings}
    try:
        for _ in range(args.rounds):
            for name, (_, url, key) in servers.items():
                speeds[name].append(tokens_per_second(url, key, args.tokens))
    finally:
        for proc, _, _ in servers.values():
            proc.terminate()
            proc.wait()
    medians = {name: statistics.median(values) for name, values in speeds.items()}
    for name, value in medians.items():
        print(f"--threads {name:<12} {value:7.1f} tokens/s (median of {args.rounds})")
    best = max(v for name, v in medians.items() if not name.startswith("default"))
    print(f"default / best of 1, 2, 4: {medians[f'default ({default})'] / best:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
