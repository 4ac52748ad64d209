"""How fast cortex-llm comes up and how soon `cortex ask` shows the model's explanation.

Each figure is set against a baseline measured in the same run:

* start: ``cortex llm start`` as a user runs it (the ``cortex`` script in a new process: Python start, checks,
  spawn, /health wait, until it exits) against spawning llama-server by hand with the same argv and polling
  /health, the two interleaved, after one start that creates the home's files (API key, checked model header)
  as a user's first does;
* first output: a fresh ``cortex ask`` process, from its start to its first byte on stdout (the lead);
* first explanation character, and the ratio: ``cortex ask``'s request and the same request sent straight to
  llama-server both pass through a TCP relay in this process, which notes when each request's first byte
  arrives. For ``cortex ask`` the figure is that moment to the first byte of the model's explanation read
  from its stdout (after the lead and its space), so it holds the stream's parsing, the look-ahead filter
  and the printing; for the direct request it is that moment to the first token read from the response.
  The direct request replays the bytes ``cortex ask`` sent (same messages, options, prompt cache), right
  after each ``cortex ask``. The relay also notes when each token of ``cortex ask``'s answer passed, so the
  figure splits into the model's first token (what the direct request waits for too), the tokens the
  look-ahead rules held the first word for, and the way from the releasing token to stdout (parsing, rules,
  printing, the pipe). Each question's ratio is its median over its median; the summary is the median of the
  questions' ratios. Runs whose whole explanation the rules dropped have no such character and are counted
  apart; the default questions are ones whose explanation the bundled model writes, of several kinds.
  Each question also shows both times from the process's start, as a user waits for them.
* two cache states, each question measured in both: "asked again" (its prompt whole in llama-server's cache,
  as when the same question was asked before: the direct first token is then one token's generation, the
  state in which the look-ahead weighs most) and "new question" (before each measured request, cortex ask's
  and the direct one alike, every slot is given another question's prompt, so the system prompt is cached
  and the rest is read, as when a user asks something new; llama-server's host-memory prompt cache is off
  in this run, or it would hand the evicted prompt back).

Run: .venv/bin/python bench/llm_first_token.py [--runs N] [--question Q]... [--start-only]
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from cortex.config import load_config
from cortex.llm_service.llama_api import StreamReader
from cortex.llm_service.supervisor import LlamaServer, health
from cortex.paths import BUNDLED_MODEL_FILE, get_paths
from cortex.terminal import printable

# Questions of several kinds whose explanation the bundled model writes (of "What is nginx?" it writes only
# echoes of the lead, which are dropped: no first character to time).
QUESTIONS = [
    "What is curl?", "What does htop do?", "What is ffmpeg?", "What is postfix?", "What does ls do?",
    "What is openssh-server?", "Is python3 installed?", "How much memory does this machine have?",
]  # fmt: skip


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
    """The ``cortex`` script beside this interpreter, as a user runs it (``python -m cortex`` would add runpy's
    imports, 4 ms, that no user's start pays)."""
    cortex = str(Path(sys.executable).with_name("cortex"))
    t0 = time.monotonic()
    subprocess.run([cortex, "llm", "start"], env=env, check=True, capture_output=True)
    elapsed = time.monotonic() - t0
    subprocess.run([cortex, "llm", "stop"], env=env, check=True, capture_output=True)
    return elapsed


class Relay:
    """A TCP relay in front of llama-server that notes when each request's first byte arrives and what it
    was: the moment ``cortex ask`` sends its request, seen from outside the process, and its exact bytes to
    send again; and when each piece of the answer passes back, so the moment each token reached ``cortex ask``
    is known too. Both measured requests pass through it, so its cost (well under a millisecond) is in both."""

    def __init__(self, port: int):
        self.upstream = port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        # per connection: [request's first byte's monotonic time, the request's bytes, [(time, answer bytes)]]
        self.requests: list[list] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            client, _ = self.listener.accept()
            server = socket.create_connection(("127.0.0.1", self.upstream))
            for s in (client, server):
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            record: list = [None, bytearray(), []]
            self.requests.append(record)
            threading.Thread(target=self._pump, args=(client, server, record, None), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, None, record[2]), daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket, record: list | None, answer: list | None) -> None:
        try:
            while data := src.recv(65536):
                if record is not None:
                    record[0] = record[0] or time.monotonic()
                    record[1] += data
                if answer is not None:
                    answer.append((time.monotonic(), data))
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def last_chat(self) -> tuple[float, bytes, list[tuple[float, bytes]]]:
        """The last chat request: when its first byte came, its body, and its answer's pieces as they passed."""
        for sent, raw, answer in reversed(self.requests):
            if bytes(raw).startswith(b"POST /v1/chat/completions"):
                return sent, bytes(raw).split(b"\r\n\r\n", 1)[1], answer
        raise RuntimeError("no chat request went through the relay")


def token_times(answer: list[tuple[float, bytes]]) -> list[float]:
    """When each piece of text of a streamed answer passed the relay."""
    reader, rest, times = StreamReader(), b"", []
    for at, data in answer:
        *lines, rest = (rest + data).split(b"\n")
        times += [at for line in lines if reader.feed(line.decode("utf-8", "replace"))]
    return times


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


@dataclass
class Ask:
    """One ``cortex ask`` process; times in seconds from the moment it sent its request, except where named."""

    first_output: float  # from the process's start: the first byte on stdout (the lead)
    sent: float  # from the process's start: its request's first byte reached the relay
    first_token: float  # the model's first token passed the relay on its way to cortex ask
    explained: float | None = None  # the first character of the explanation read from its stdout
    released: float | None = None  # the token after which that character came passed the relay
    held: int = 0  # tokens that came after the first one before that character was printed
    words: str = ""  # what the explanation began with


def cli_ask(env: dict[str, str], question: str, lead: str, relay: Relay) -> Ask:
    """A fresh `cortex ask` process, and when each part of its answer came (explained None: the rules dropped
    the whole explanation)."""
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
    sent, _, answer = relay.last_chat()
    tokens = token_times(answer)
    run = Ask(first_byte - t0, sent - t0, tokens[0] - sent)
    if explained is not None:
        held = max(i for i, at in enumerate(tokens) if at <= explained)
        run.explained, run.released, run.held = explained - sent, tokens[held] - sent, held
        run.words = " ".join(seen[need:].decode(errors="replace").split()[:3])
    return run


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def evict(config, key: str, others: list[str]) -> None:
    """Give every slot of llama-server another question's prompt (one token answered; ``id_slot`` pins each to
    its slot, or a prompt llama-server has seen would go back to the slot holding it): a measured request then
    finds the system prompt cached and reads the rest."""
    from cortex.ask.answer import build_messages

    for slot in range(config["llm.parallel"]):
        messages = build_messages(others[slot % len(others)], [], "")
        body = json.dumps({"messages": messages, "max_tokens": 1, "cache_prompt": True, "id_slot": slot})
        conn = http.client.HTTPConnection("127.0.0.1", config["service.port"])
        conn.request(
            "POST", "/v1/chat/completions", body, {"Content-Type": "application/json", "Authorization": f"Bearer {key}"}
        )
        response = conn.getresponse()
        response.read()
        conn.close()
        if response.status != 200:
            raise RuntimeError(f"llama-server answered {response.status} to a prompt meant to evict")


def first_explanation(
    env: dict[str, str], config, server: LlamaServer, question: str, runs: int, new: bool
) -> float | None:
    """Print one question's figures; its ratio (median first explanation character over median direct first
    token), None when the rules dropped every explanation. ``new``: each measured request as a new question's
    (see the module)."""
    from cortex.ask.answer import answer

    relay = Relay(config["service.port"])
    ask_env = {**env, "LLAMA_CPP_BASE_URL": f"http://127.0.0.1:{relay.port}"}
    warm = answer(question, config)  # builds the package index once, like a first ask would,
    warm.response.text()  # and puts the prompt in llama-server's cache, as a user's earlier ask would
    others = [f"{q} (asked before)" for q in QUESTIONS if q != question]
    asks, direct, bodies = [], [], set()
    for _ in range(runs):  # each cortex ask, then its own request again straight to llama-server
        if new:
            evict(config, server.key, others)
        asks.append(cli_ask(ask_env, question, warm.lead, relay))
        bodies.add(relay.last_chat()[1])
        if new:
            evict(config, server.key, others)
        direct.append(direct_first_token(relay, relay.last_chat()[1], server.key))
    kept = [a for a in asks if a.explained is not None]
    head = (
        f"{question!r} ({'new question' if new else 'asked again'}): first output "
        f"{ms(statistics.median(a.first_output for a in asks))} after the start; "
        f"direct first token {ms(statistics.median(direct))}; {len(bodies)} different request(s) in {runs} runs"
    )
    if not kept:
        print(f"{head}; the rules dropped every explanation")
        return None

    def med(part) -> float:
        return statistics.median(part(a) for a in kept)

    ours, theirs = med(lambda a: a.explained), statistics.median(direct)
    print(
        f"{head}\n  first explanation character {ms(ours)} after the request ({len(kept)} of {runs} runs had one), "
        f"ratio {ours / theirs:.2f}: the first token reached cortex ask at {ms(med(lambda a: a.first_token))}, "
        f"the rules held {med(lambda a: a.held):g} token(s) more ({ms(med(lambda a: a.released - a.first_token))}), "
        f"then {ms(med(lambda a: a.explained - a.released))} to stdout; from the start: "
        f"{ms(med(lambda a: a.sent + a.explained))}, the first token reached it at "
        f"{ms(med(lambda a: a.sent + a.first_token))}; began: " + ", ".join(sorted({repr(a.words) for a in kept}))
    )
    return ours / theirs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--question", action="append", help=f"repeatable; default: {'; '.join(QUESTIONS)}")
    parser.add_argument("--start-only", action="store_true", help="measure the start only")
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
    if args.start_only:
        return

    # No host-memory prompt cache (llama-server's --cache-ram): it would give an evicted prompt back, and a
    # new question is in no cache. A slot still keeps the last prompt it read, so "asked again" is as before.
    os.environ["LLAMA_ARG_CACHE_RAM"] = "0"
    server = LlamaServer(config)
    server.start()
    try:
        questions = args.question or QUESTIONS
        ratios: dict[bool, list[float]] = {False: [], True: []}
        for q in questions:
            for new in (False, True):
                if (r := first_explanation(env, config, server, q, args.runs, new)) is not None:
                    ratios[new].append(r)
        for new, found in ratios.items():
            if found:
                print(
                    f"first explanation character against the direct first token, "
                    f"{'new question' if new else 'asked again'}: median ratio {statistics.median(found):.2f} "
                    f"over {len(found)} question(s) with one (of {len(questions)})"
                )
    finally:
        server.stop()


if __name__ == "__main__":
    main()
