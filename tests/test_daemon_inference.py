"""``inference`` through cortexd: the request it builds, its queue and timeouts, and the real llama-server."""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import threading
import time
import urllib.request
from pathlib import Path

import pytest
from conftest import free_port
from test_daemon_support import Conn, FakeLLM, ThreadedDaemon, collect, make_config, poll

from cortex.daemon.inference import build_request
from cortex.daemon_client import CortexDaemonClient, DaemonError
from cortex.llm_service import api_key
from cortex.llm_service.supervisor import LlamaServer
from cortex.protocol import ProtocolError

LLM = {"max_tokens_per_request": 64, "temperature": 0.7, "system_prompt": ""}


def test_build_request_caps_defaults_and_passes_llama_options_through() -> None:
    path, body, stream = build_request(
        {"prompt": "hi", "max_tokens": 1000, "stop": "\n", "seed": 42, "ignore_eos": True, "top_k": 5},
        {**LLM, "system_prompt": "Be brief."},
    )
    assert path == "/v1/chat/completions" and stream is False
    assert body["max_tokens"] == 64 and body["temperature"] == 0.7 and body["stop"] == ["\n"]
    assert body["messages"] == [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi"}]
    assert (body["seed"], body["ignore_eos"], body["top_k"]) == (42, True, 5)
    path, body, stream = build_request({"prompt": "a b", "template": "raw", "stream": True, "temperature": 0}, LLM)
    assert path == "/completion" and stream is True
    assert body["prompt"] == "a b" and body["n_predict"] == 64 and body["temperature"] == 0
    messages = [{"role": "system", "content": "S"}, {"role": "user", "content": "U"}]
    _, body, _ = build_request({"messages": messages, "system_prompt": "ignored"}, LLM)
    assert body["messages"] == messages


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"prompt": "x", "messages": [{"role": "user", "content": "y"}]},
        {"prompt": 5},
        {"messages": []},
        {"messages": [{"role": "user"}]},
        {"prompt": "x", "max_tokens": 0},
        {"prompt": "x", "max_tokens": True},
        {"prompt": "x", "temperature": 3},
        {"prompt": "x", "temperature": "hot"},
        {"prompt": "x", "stop": [1]},
        {"prompt": "x", "stream": "yes"},
        {"prompt": "x", "seed": 1.5},
        {"prompt": "x", "ignore_eos": 1},
        {"prompt": "x", "template": "jinja"},
        {"messages": [{"role": "user", "content": "y"}], "template": "raw"},
        {"prompt": "x", "n_gpu_layers": 99},
    ],
)
def test_build_request_rejects_bad_params(params: dict) -> None:
    with pytest.raises(ProtocolError) as e:
        build_request(params, LLM)
    assert e.value.code.value == "invalid_params" and e.value.message


def daemon_for(tmp_path: Path, url: str, **llm: object) -> ThreadedDaemon:
    config, conf = make_config(tmp_path / "home", {"llm": {"base_url": url, **llm}})
    return ThreadedDaemon(config, tmp_path / "run" / "c.sock", conf)


def test_forwarded_body_and_result(tmp_path: Path) -> None:
    with FakeLLM() as llm, daemon_for(tmp_path, llm.url, max_tokens_per_request=16, temperature=0.2) as d:
        data = CortexDaemonClient(d.socket_path).inference("hello", max_tokens=100, seed=3)
    assert data["output"] == "hello" and data["model"] == "fake-model"
    assert data["prompt_tokens"] == 3 and data["tokens_generated"] == 2
    assert data["inference_time_ms"] > 0 and data["tokens_per_second"] > 0
    body = llm.requests[0]
    assert body["max_tokens"] == 16 and body["temperature"] == 0.2 and body["seed"] == 3
    assert body["messages"][-1] == {"role": "user", "content": "hello"}


def test_queue_full_beyond_queue_size(tmp_path: Path) -> None:
    with FakeLLM(delay=30) as llm, daemon_for(tmp_path, llm.url, parallel=1, queue_size=1) as d:
        results: list = []

        def ask() -> None:
            try:
                results.append(CortexDaemonClient(d.socket_path).inference("x"))
            except DaemonError as e:
                results.append(e.code)

        first = threading.Thread(target=ask)
        first.start()
        assert poll(lambda: len(llm.requests) == 1)  # running
        second = threading.Thread(target=ask)
        second.start()
        assert poll(lambda: d.daemon.inference.depth == 2)  # waiting for the one slot
        with pytest.raises(DaemonError) as e:
            CortexDaemonClient(d.socket_path).inference("x")
        assert e.value.code == "queue_full"
        assert CortexDaemonClient(d.socket_path).status()["queue"] == {"depth": 2, "max": 2}
        llm.release.set()
        first.join(10)
        second.join(10)
    assert [r["output"] for r in results] == ["hello", "hello"]


def inference_line(rid: object = None, **params: object) -> bytes:
    return json.dumps({"command": "inference", "params": {"prompt": "x", **params}, "id": rid}).encode() + b"\n"


def test_simultaneous_requests_never_exceed_parallel_plus_queue_size(tmp_path: Path) -> None:
    """F4: 20 requests at once, parallel 1 and queue_size 2: three are admitted, the 17 others get queue_full
    at once (not after the admitted ones, not as a timeout)."""
    with FakeLLM(delay=60) as llm, daemon_for(tmp_path, llm.url, parallel=1, queue_size=2) as d:
        conns = [Conn(d.socket_path, timeout=30) for _ in range(20)]
        for i, conn in enumerate(conns):
            conn.send(inference_line(i))
        answers: dict[int, dict] = {}
        while len(answers) < 17:
            ready, _, _ = select.select([c.sock for c in conns if conns.index(c) not in answers], [], [], 30)
            assert ready, f"only {len(answers)} answered before the admitted ones finished"
            for sock in ready:
                answer = conns[[c.sock for c in conns].index(sock)].read()
                assert answer is not None
                answers[answer["id"]] = answer
        assert {a["error"]["code"] for a in answers.values()} == {"queue_full"}
        client = CortexDaemonClient(d.socket_path)
        assert client.status()["queue"] == {"depth": 3, "max": 3}
        with pytest.raises(DaemonError) as e:
            client.call("inference", prompts=["a"])  # a batch is admitted the same way
        assert e.value.code == "queue_full"
        llm.release.set()
        admitted = [c.read() for i, c in enumerate(conns) if i not in answers]
        for conn in conns:
            conn.close()
    assert [a["success"] for a in admitted if a] == [True] * 3


def test_an_abandoned_request_frees_its_place(tmp_path: Path) -> None:
    """A client that closes its connection while its request waits or runs frees the place at once."""
    with FakeLLM(delay=60) as llm, daemon_for(tmp_path, llm.url, parallel=1, queue_size=1) as d:
        running = Conn(d.socket_path)
        running.send(inference_line("running"))
        assert poll(lambda: len(llm.requests) == 1)
        waiting = Conn(d.socket_path)
        waiting.send(inference_line("waiting"))
        assert poll(lambda: d.daemon.inference.depth == 2)
        waiting.close()
        assert poll(lambda: d.daemon.inference.depth == 1)
        running.close()
        assert poll(lambda: d.daemon.inference.depth == 0)
        llm.release.set()
        assert CortexDaemonClient(d.socket_path).inference("x")["output"] == "hello"


def test_a_half_closed_client_gets_its_answer_and_a_closed_one_frees_its_place(tmp_path: Path) -> None:
    """Half-closing (``echo ... | socat``) still gets the answer; closing later (socat's -t) frees the place."""
    with FakeLLM(delay=60) as llm:
        config, conf = make_config(
            tmp_path / "home", {"llm": {"base_url": llm.url, "parallel": 1}, "daemon": {"idle_timeout": 2}}
        )
        with ThreadedDaemon(config, tmp_path / "run" / "c.sock", conf) as d:
            later = Conn(d.socket_path)
            later.send(inference_line("later"))
            later.sock.shutdown(socket.SHUT_WR)
            assert poll(lambda: len(llm.requests) == 1)
            later.close()
            assert poll(lambda: d.daemon.inference.depth == 0)
            reader = Conn(d.socket_path)
            reader.send(inference_line("half"))
            reader.sock.shutdown(socket.SHUT_WR)
            assert poll(lambda: len(llm.requests) == 2)
            llm.release.set()
            answer = reader.read()
            reader.close()
    assert answer is not None and answer["id"] == "half" and answer["data"]["output"] == "hello"


def test_timeout_after_llm_timeout(tmp_path: Path) -> None:
    with FakeLLM(delay=30) as llm, daemon_for(tmp_path, llm.url, timeout=1) as d:
        with pytest.raises(DaemonError) as e:
            CortexDaemonClient(d.socket_path).inference("x")
        assert e.value.code == "timeout" and "[llm] timeout" in e.value.message
        assert CortexDaemonClient(d.socket_path).status()["queue"]["depth"] == 0


def test_llm_down_says_how_to_start_it(tmp_path: Path) -> None:
    with daemon_for(tmp_path, f"http://127.0.0.1:{free_port()}") as d:
        client = CortexDaemonClient(d.socket_path)
        for stream in (False, True):
            with pytest.raises(DaemonError) as e:
                collect(client.stream_inference("x")) if stream else client.inference("x")
            assert e.value.code == "llm_unavailable"
            assert "cortex llm start" in e.value.message and "cortex up" in e.value.message


# The real llama-server.


@pytest.mark.llm
def test_real_inference_chat_raw_seed_and_caps(tmp_path: Path, llama_server) -> None:
    with daemon_for(
        tmp_path, llama_server.base_url, max_tokens_per_request=24, api_key_file=llama_server.key_file
    ) as d:
        client = CortexDaemonClient(d.socket_path, timeout=120)
        data = client._send_command({"command": "inference", "params": {"prompt": "Hello", "max_tokens": 32}})["data"]
        assert data["output"].strip() and 0 < data["tokens_generated"] <= 24 and data["prompt_tokens"] > 0
        assert data["model"] and data["inference_time_ms"] > 0 and data["tokens_per_second"] > 0
        fixed = {"prompt": "Name a colour.", "seed": 7, "temperature": 0.8, "max_tokens": 12}
        assert client.inference(**fixed)["output"] == client.inference(**fixed)["output"]
        long = client.inference("Count: 1, 2, 3,", template="raw", ignore_eos=True, max_tokens=16, temperature=0)
        assert long["tokens_generated"] == 16
        stopped = client.inference("1, 2, 3, 4,", template="raw", stop=[","], max_tokens=20, temperature=0)
        assert "," not in stopped["output"]
        status = client.status()["llm"]
        assert status["state"] == "up" and status["model"]


@pytest.mark.llm
def test_cortexd_without_cortex_llms_key_is_refused_and_says_which_setting(tmp_path: Path, llama_server) -> None:
    with daemon_for(tmp_path, llama_server.base_url) as d:  # its own home has no such key
        client = CortexDaemonClient(d.socket_path, timeout=120)
        with pytest.raises(DaemonError) as e:
            client.inference("Hello", max_tokens=4)
        assert e.value.code == "llm_unavailable" and "[llm] api_key_file" in e.value.message
        assert client.status()["llm"]["state"] == "up"  # /health is public


@pytest.mark.llm
def test_real_streaming_tokens_add_up_to_the_output(tmp_path: Path, llama_server) -> None:
    with daemon_for(tmp_path, llama_server.base_url, api_key_file=llama_server.key_file) as d:
        client = CortexDaemonClient(d.socket_path, timeout=120)
        pieces, final = collect(client.stream_inference("Tell me about Linux.", max_tokens=20, temperature=0))
        assert len(pieces) > 1 and "".join(pieces) == final["output"]
        assert final["tokens_generated"] > 1
        raw_pieces, raw = collect(client.stream_inference("Linux is", template="raw", max_tokens=10, temperature=0))
        assert "".join(raw_pieces) == raw["output"] and raw["tokens_generated"] == 10


def own_llama_server(tmp_path: Path):
    """A llama-server this test may kill (the session one is shared)."""
    from conftest import bundled_model_path

    from cortex.config import load_config

    env = {
        "CORTEX_HOME": str(tmp_path / "llm-home"),
        "CORTEX_LLM_PORT": str(free_port()),
        "CORTEX_LLM_MODEL_PATH": str(bundled_model_path()),
        "CORTEX_LLM_THREADS": "2",
        "CORTEX_LLM_CTX_SIZE": "1024",
        "PATH": os.environ.get("PATH", ""),
    }
    config = load_config(env=env)
    status = LlamaServer(config).start(timeout=120)
    return config, status.pid


def slot_busy(base_url: str, key: str) -> bool:
    try:
        slots = urllib.request.Request(f"{base_url}/slots", headers={"Authorization": f"Bearer {key}"})
        with urllib.request.urlopen(slots, timeout=1) as r:
            return any(s.get("is_processing") for s in json.loads(r.read()))
    except OSError:
        return False


@pytest.mark.llm
@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
def test_killing_llama_server_mid_inference_gives_llm_unavailable(tmp_path: Path, stream: bool) -> None:
    config, pid = own_llama_server(tmp_path)
    try:
        llm = {"max_tokens_per_request": 4000, "timeout": 120, "api_key_file": config.llm_key_file}
        with daemon_for(tmp_path, config.llm_url, **llm) as d:
            client = CortexDaemonClient(d.socket_path, timeout=60)
            params = {"prompt": "Write a long story.", "max_tokens": 4000, "ignore_eos": True}
            if stream:
                tokens = client.stream_inference(**params)
                next(tokens)  # generating now
                killed = time.monotonic()
                os.kill(pid, signal.SIGKILL)
                with pytest.raises(DaemonError) as raised:
                    collect(tokens)
                error = raised.value
            else:
                outcome: dict = {}

                def ask() -> None:
                    try:
                        client.inference(**params)
                    except DaemonError as err:
                        outcome["error"] = err

                asker = threading.Thread(target=ask)
                asker.start()
                assert poll(lambda: slot_busy(config.llm_url, api_key.read(config.llm_key_file)))
                killed = time.monotonic()
                os.kill(pid, signal.SIGKILL)
                asker.join(30)
                error = outcome["error"]
            print(f"llm_unavailable {time.monotonic() - killed:.3f} s after the kill")
            assert error.code == "llm_unavailable" and "cortex llm start" in error.message
            assert client.ping()
    finally:
        LlamaServer(config).stop()  # its keeper, and the llama-server it started again after the kill


@pytest.mark.llm
def test_reload_config_moves_cortex_llm_to_a_new_model_and_keeps_it_on_a_bad_one(tmp_path: Path) -> None:
    """The seed's flow: edit [llm] model_path, 'cortex daemon reload-config', cortex-llm serves the new file."""
    from conftest import bundled_model_path

    home = tmp_path / "home"
    port = free_port()
    (home / "models").mkdir(parents=True)
    renamed = home / "models" / "renamed-smol.gguf"
    os.link(bundled_model_path(), renamed)
    url = f"http://127.0.0.1:{port}"
    (home / "llm.env").write_text(f"CORTEX_LLM_PORT={port}\nCORTEX_LLM_THREADS=2\nCORTEX_LLM_CTX_SIZE=512\n")
    config, conf = make_config(home, {"llm": {"model_path": bundled_model_path(), "base_url": url}})
    LlamaServer(config).start(timeout=120)
    try:
        with ThreadedDaemon(config, tmp_path / "run" / "c.sock", conf) as d:
            client = CortexDaemonClient(d.socket_path, timeout=180)
            conf.write_text(f"[llm]\nmodel_path: {renamed}\nbase_url: {url}\n")
            result = client.reload_config()
            assert result["changed"] == ["llm.model_path"]
            assert result["llm"]["restarted"] is True and result["llm"]["model"] == str(renamed)
            assert client.status()["llm"]["model_path"] == str(renamed)
            assert LlamaServer(d.daemon.config).status().model == "renamed-smol.gguf"
            assert client.inference("Hi", max_tokens=4)["tokens_generated"] > 0

            conf.write_text(f"[llm]\nmodel_path: {tmp_path / 'missing.gguf'}\nbase_url: {url}\n")
            result = client.reload_config()
            assert result["llm"]["restarted"] is False and "kept the running model" in result["llm"]["message"]
            assert LlamaServer(d.daemon.config).status().model == "renamed-smol.gguf"
    finally:
        LlamaServer(make_config(home)[0]).stop()
