"""Tokens per second of the same inference request sent straight to llama-server and through cortexd.

    .venv/bin/python bench/daemon_inference.py [--url http://127.0.0.1:8085] [--tokens 64] [--rounds 5]

Without --url it starts its own llama-server with the bundled model (through
cortex.llm_service, as 'cortex up' does). Both paths send the identical body
(cortexd's own build_request makes it), with ignore_eos so every request
generates exactly --tokens tokens; tokens/s is measured by the caller, wall
clock, request to last byte. Rounds alternate the order; the median is kept.
Target: cortexd >= 0.97x direct.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))
from daemon_common import llm_conf, start_cortexd, start_llama_server, stop

from cortex.daemon.inference import build_request
from cortex.daemon_client import CortexDaemonClient
from cortex.llm_service import api_key

PROMPT = "Write a short story about a lighthouse keeper."


def llama_server(url: str | None) -> tuple[str, object, Path | None]:
    """(URL, stop or None, API key file) of ``--url`` (with the key file this user's configuration names), or of a
    llama-server of our own; cortexd is pointed at the key file in its [llm] section (``llm_conf``)."""
    if url is None:
        return start_llama_server()
    from cortex.config import load_config

    return url, None, load_config().llm_key_file


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", help="a running llama-server (default: start one with the bundled model)")
    parser.add_argument("--tokens", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    url, stop_llm, key_file = llama_server(args.url)
    params = {"prompt": PROMPT, "max_tokens": args.tokens, "ignore_eos": True, "temperature": 0, "seed": 1}
    llm = {"max_tokens_per_request": args.tokens, "temperature": 0.7, "system_prompt": ""}
    path, body, _ = build_request(params, llm)
    tmp = Path(tempfile.mkdtemp(prefix="cortexd-bench-inf-"))
    conf = llm_conf(url, key_file) + f"max_tokens_per_request: {args.tokens}\n[monitor]\nenabled: false\n"
    cortexd = start_cortexd(tmp / "c.sock", conf)
    client = CortexDaemonClient(tmp / "c.sock", timeout=300)
    key = api_key.read(key_file)
    http = httpx.Client(base_url=url, timeout=300, headers={"Authorization": f"Bearer {key}"} if key else None)

    def direct() -> float:
        started = time.perf_counter()
        response = http.post(path, json=body)
        elapsed = time.perf_counter() - started
        return response.json()["usage"]["completion_tokens"] / elapsed

    def through_cortexd() -> float:
        started = time.perf_counter()
        data = client.inference(**params)
        return data["tokens_generated"] / (time.perf_counter() - started)

    rates: dict[str, list[float]] = {"direct": [], "cortexd": []}
    try:
        direct(), through_cortexd()  # warm-up: prompt cache, connections, lazy imports
        for r in range(args.rounds):
            runs = [("direct", direct), ("cortexd", through_cortexd)]
            for name, run in runs if r % 2 == 0 else runs[::-1]:
                rates[name].append(run())
                print(f"round {r + 1} {name:<8} {rates[name][-1]:7.1f} tokens/s")
    finally:
        stop(cortexd)
        http.close()
        if stop_llm:
            stop_llm()
    d, c = statistics.median(rates["direct"]), statistics.median(rates["cortexd"])
    print(f"median: direct {d:.1f} tokens/s, through cortexd {c:.1f} tokens/s -> ratio {c / d:.3f}x (target >= 0.97)")
    d, c = max(rates["direct"]), max(rates["cortexd"])
    print(f"best:   direct {d:.1f} tokens/s, through cortexd {c:.1f} tokens/s -> ratio {c / d:.3f}x")
    added = overhead_ms()
    print(f"cortexd adds {added:.2f} ms per request (median, against an instant HTTP stub)")


def overhead_ms(rounds: int = 200) -> float:
    """Milliseconds cortexd adds to one request: the same call to an instant stub, through cortexd and direct.

    Unlike tokens/s on a busy machine this barely depends on what else runs; divide it by a
    request's generation time to see the ratio at any model speed.
    """
    sys.path.insert(0, str(Path(__file__).parents[1] / "tests"))
    from test_daemon_support import FakeLLM

    params = {"prompt": PROMPT, "max_tokens": 8}
    path, body, _ = build_request(params, {"max_tokens_per_request": 8, "temperature": 0.7, "system_prompt": ""})
    with FakeLLM() as stub:
        tmp = Path(tempfile.mkdtemp(prefix="cortexd-bench-stub-"))
        cortexd = start_cortexd(tmp / "c.sock", f"[llm]\nbase_url: {stub.url}\n[monitor]\nenabled: false\n")
        client, http = CortexDaemonClient(tmp / "c.sock"), httpx.Client(base_url=stub.url)
        try:
            direct, through = [], []
            for _ in range(rounds):
                started = time.perf_counter()
                http.post(path, json=body)
                direct.append(time.perf_counter() - started)
                started = time.perf_counter()
                client.inference(**params)
                through.append(time.perf_counter() - started)
        finally:
            stop(cortexd)
            http.close()
    return (statistics.median(through) - statistics.median(direct)) * 1000


if __name__ == "__main__":
    main()
