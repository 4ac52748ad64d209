"""Four prompts through cortexd as one batch (``prompts``) vs one request after another, same run.

    .venv/bin/python bench/batch.py [--url http://127.0.0.1:8085] [--tokens 16] [--rounds 5]

Without --url it starts its own llama-server with the bundled model and the
shipped ``[llm] parallel`` (4 slots), as 'cortex up' does. Every request uses
ignore_eos, so each prompt generates exactly --tokens tokens on both paths.
Rounds alternate the order; on a shared machine the load swings more than
batching gains, so the figure is the median of each round's ratio (the two
paths measured back to back), next to the median wall times.
Goal: the batch finishes >= 1.1x faster than the sequence on this 2-core machine.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from daemon_common import start_cortexd, stop
from daemon_inference import llama_server, llm_conf

from cortex.daemon_client import CortexDaemonClient

PROMPTS = [
    "Write a short story about a lighthouse keeper.",
    "Explain how a package manager resolves dependencies.",
    "Describe the water cycle to a child.",
    "List some uses of the tar command.",
]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", help="a running llama-server (default: start one with the bundled model)")
    parser.add_argument("--tokens", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    url, stop_llm, key_file = llama_server(args.url)
    tmp = Path(tempfile.mkdtemp(prefix="cortexd-bench-batch-"))
    conf = llm_conf(url, key_file) + f"max_tokens_per_request: {args.tokens}\n[monitor]\nenabled: false\n"
    cortexd = start_cortexd(tmp / "c.sock", conf)
    client = CortexDaemonClient(tmp / "c.sock", timeout=None)
    params = {"max_tokens": args.tokens, "ignore_eos": True, "temperature": 0, "seed": 1}

    def batch() -> float:
        started = time.perf_counter()
        data = client.inference(prompts=PROMPTS, **params)
        assert sum(o["tokens_generated"] for o in data["outputs"]) == len(PROMPTS) * args.tokens
        return time.perf_counter() - started

    def sequence() -> float:
        started = time.perf_counter()
        for prompt in PROMPTS:
            assert client.inference(prompt, **params)["tokens_generated"] == args.tokens
        return time.perf_counter() - started

    times: dict[str, list[float]] = {"batch": [], "sequence": []}
    try:
        batch(), sequence()  # warm-up: prompt cache, connections, lazy imports
        for r in range(args.rounds):
            runs = [("batch", batch), ("sequence", sequence)]
            for name, run in runs if r % 2 == 0 else runs[::-1]:
                times[name].append(run())
                print(f"round {r + 1} {name:<8} {times[name][-1]:6.2f} s")
    finally:
        stop(cortexd)
        if stop_llm:
            stop_llm()
    b, s = statistics.median(times["batch"]), statistics.median(times["sequence"])
    ratio = statistics.median(q / p for p, q in zip(times["batch"], times["sequence"], strict=True))
    print(f"median: batch of {len(PROMPTS)} {b:.2f} s, one after another {s:.2f} s")
    print(f"speed-up sequence/batch {ratio:.2f}x (median of paired rounds; goal >= 1.1)")


if __name__ == "__main__":
    main()
