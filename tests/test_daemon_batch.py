"""Batched ``inference`` (``prompts`` -> ``outputs``) and requests from several clients sharing llama-server's slots."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from test_daemon_support import FakeLLM, ThreadedDaemon, make_config, poll

from cortex.daemon_client import CortexDaemonClient, DaemonError


def test_batch_on_the_real_model_returns_one_output_per_prompt(tmp_path: Path, llama_server) -> None:
    config, conf = make_config(tmp_path / "home", {"llm": llama_server.llm_conf()})
    prompts = ["Name a color.", "Name a fruit.", "Name a planet.", "Name an animal."]
    with ThreadedDaemon(config, tmp_path / "c.sock", conf) as d:
        data = CortexDaemonClient(d.socket_path, timeout=None).call(
            "inference", prompts=prompts, max_tokens=4, temperature=0
        )
    outputs = data["outputs"]
    assert len(outputs) == 4
    for out in outputs:
        assert out["output"].strip() and out["tokens_generated"] >= 1 and out["prompt_tokens"] > 5
        assert out["inference_time_ms"] > 0 and out["tokens_per_second"] > 0 and out["model"]
    assert data["tokens_generated"] == sum(o["tokens_generated"] for o in outputs)
    assert data["prompt_tokens"] == sum(o["prompt_tokens"] for o in outputs)
    assert data["inference_time_ms"] >= max(o["inference_time_ms"] for o in outputs)


def test_a_batch_fills_the_slots_and_queues_the_rest(tmp_path: Path) -> None:
    with FakeLLM(delay=60) as llm:
        config, conf = make_config(tmp_path / "home", {"llm": {"base_url": llm.url, "parallel": 2}})
        with ThreadedDaemon(config, tmp_path / "c.sock", conf) as d:
            result: dict = {}
            client = CortexDaemonClient(d.socket_path)
            t = threading.Thread(target=lambda: result.update(client.call("inference", prompts=["a", "b", "c", "d"])))
            t.start()
            assert poll(lambda: len(llm.requests) == 2)  # two at the model, two waiting for a slot
            assert client.status()["queue"]["depth"] == 4
            llm.release.set()
            t.join(30)
            assert [o["output"] for o in result["outputs"]] == ["hello"] * 4
            sent = [r["messages"][-1]["content"] for r in llm.requests]
            assert sorted(sent[:2]) == ["a", "b"] and sorted(sent[2:]) == ["c", "d"]  # first come, first served
            assert d.daemon.inference.depth == 0


def test_requests_from_several_clients_run_at_once_up_to_parallel(tmp_path: Path) -> None:
    with FakeLLM(delay=60) as llm:
        config, conf = make_config(tmp_path / "home", {"llm": {"base_url": llm.url, "parallel": 3}})
        with ThreadedDaemon(config, tmp_path / "c.sock", conf) as d:
            answers: list[str] = []
            threads = [
                threading.Thread(
                    target=lambda i=i: answers.append(CortexDaemonClient(d.socket_path).inference(f"q{i}")["output"])
                )
                for i in range(4)
            ]
            for t in threads:
                t.start()
            assert poll(lambda: len(llm.requests) == 3)  # three clients at the model together, one waiting
            assert d.daemon.inference.depth == 4  # three running, one waiting for a slot
            llm.release.set()
            for t in threads:
                t.join(30)
            assert answers == ["hello"] * 4


@pytest.mark.parametrize(
    ("params", "says"),
    [
        ({"prompts": []}, "non-empty list"),
        ({"prompts": "one"}, "non-empty list"),
        ({"prompts": ["a", 2]}, "non-empty list"),
        ({"prompts": ["a"], "prompt": "b"}, "not both"),
        ({"prompts": ["a"], "stream": True}, "cannot stream"),
        ({"prompts": ["a"] * 4}, "at most 3"),
        ({"prompts": ["a", "b"], "temperature": 9}, "temperature"),
        ({"prompts": ["a"], "max_token": 5}, "unknown inference params max_token"),
    ],
)
def test_bad_batches_are_invalid_params_and_reach_no_model(tmp_path: Path, params: dict, says: str) -> None:
    with FakeLLM() as llm:
        config, conf = make_config(tmp_path / "home", {"llm": {"base_url": llm.url, "queue_size": 3}})
        with ThreadedDaemon(config, tmp_path / "c.sock", conf) as d:
            client = CortexDaemonClient(d.socket_path)
            with pytest.raises(DaemonError) as e:
                client.call("inference", **params)
            assert e.value.code == "invalid_params" and says in e.value.message
            assert client.ping() and llm.requests == []


def test_batch_with_a_prompt_template_renders_each_prompt(tmp_path: Path) -> None:
    home = tmp_path / "home"
    (home / "prompts").mkdir(parents=True)
    (home / "prompts" / "ask.j2").write_text("In {{ lang }}: {{ prompt }}")
    with FakeLLM() as llm:
        config, conf = make_config(home, {"llm": {"base_url": llm.url}})
        with ThreadedDaemon(config, tmp_path / "c.sock", conf) as d:
            data = CortexDaemonClient(d.socket_path).call(
                "inference", prompts=["x", "y"], template="ask", variables={"lang": "fr", "prompt": "ignored"}
            )
    assert len(data["outputs"]) == 2
    assert sorted(r["messages"][-1]["content"] for r in llm.requests) == ["In fr: x", "In fr: y"]
