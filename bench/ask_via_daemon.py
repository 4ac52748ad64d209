"""First-token time of ``cortex ask``'s grounded messages: straight to llama-server vs through cortexd's stream.

    .venv/bin/python bench/ask_via_daemon.py [--url http://127.0.0.1:8085] [--rounds 41]

Without --url it starts its own llama-server with the bundled model. Both paths
send the same messages (``cortex.ask.answer.build_messages`` with this machine's
facts) with the same options, through the two providers ``cortex ask`` uses:
the direct OpenAI-compatible one and ``--via-daemon``'s. The time is wall clock
from ``prompt()`` to the first text chunk in the caller's hands. Rounds
alternate the order; the medians are compared. Goal: cortexd adds at most 5 ms.
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

from cortex.ask.answer import build_messages, lead_sentence
from cortex.ask.facts import gather
from cortex.llm_service import api_key
from cortex.providers import Options, Provider
from cortex.providers.daemon import DaemonProvider
from cortex.providers.openai_compat import OpenAICompatProvider

QUESTION = "How much memory does this machine have?"


def first_token_ms(provider: Provider, messages: list[dict[str, str]], options: Options) -> float:
    started = time.perf_counter()
    response = provider.prompt(messages, options)
    for _ in response:
        elapsed = (time.perf_counter() - started) * 1000
        break
    response.text()  # drain, so the slot is free for the next round
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", help="a running llama-server (default: start one with the bundled model)")
    parser.add_argument("--rounds", type=int, default=41)
    args = parser.parse_args()
    url, stop_llm, key_file = llama_server(args.url)
    facts = gather(QUESTION)
    messages = build_messages(QUESTION, facts, lead_sentence(QUESTION, facts))
    options = Options(max_tokens=4, temperature=0.2, extra={"seed": 1})
    tmp = Path(tempfile.mkdtemp(prefix="cortexd-bench-ask-"))
    cortexd = start_cortexd(tmp / "c.sock", llm_conf(url, key_file) + "[monitor]\nenabled: false\n")
    direct = OpenAICompatProvider("llama_cpp", url, api_key=api_key.read(key_file))
    providers = {"direct": direct, "cortexd": DaemonProvider(tmp / "c.sock")}
    times: dict[str, list[float]] = {name: [] for name in providers}
    try:
        for provider in providers.values():  # warm-up: prompt cache, connections, lazy imports
            first_token_ms(provider, messages, options)
        for r in range(args.rounds):
            order = list(providers.items())
            for name, provider in order if r % 2 == 0 else order[::-1]:
                times[name].append(first_token_ms(provider, messages, options))
            print(f"round {r + 1:2}  direct {times['direct'][-1]:7.1f} ms  cortexd {times['cortexd'][-1]:7.1f} ms")
    finally:
        stop(cortexd)
        if stop_llm:
            stop_llm()
    d, c = statistics.median(times["direct"]), statistics.median(times["cortexd"])
    added = statistics.median(b - a for a, b in zip(times["direct"], times["cortexd"], strict=True))
    print(f"median first token: direct {d:.1f} ms, through cortexd {c:.1f} ms, ratio {c / d:.3f}x")
    print(f"cortexd adds {added:+.1f} ms (median of paired differences; goal: at most +5 ms)")


if __name__ == "__main__":
    main()
