"""AI explanations of new critical alerts: attached to the same alert, bounded, and harmless without cortex-llm."""

from __future__ import annotations

import asyncio
import logging
import threading
from pathlib import Path
from typing import Any

import pytest
from test_daemon_support import FakeLLM, ThreadedDaemon, make_config
from test_monitor_lifecycle import Clock, snap

from cortex.config import load_config
from cortex.daemon.inference import InferenceQueue
from cortex.monitor.explain import MAX_TOKENS, MAX_WAITING, Explainer, clean
from cortex.monitor.monitor import Monitor


def explaining_monitor(tmp_path: Path, port: int, key_file: Path | None = None) -> Monitor:
    conf = tmp_path / "daemon.conf"
    conf.write_text("[alerts]\nai_explain: true\nai_timeout: 300\n[thresholds]\ndisk_critical: 95\n")
    config = load_config(config_file=conf, env={"CORTEX_HOME": str(tmp_path / "home"), "CORTEX_LLM_PORT": str(port)})
    llm = {**config.section("llm"), "base_url": config.llm_url}

    def infer(params: dict[str, Any], timeout: float) -> dict[str, Any]:  # cortexd's queue, on a loop of its own
        return asyncio.run(asyncio.wait_for(InferenceQueue(llm, key_file).run(params), timeout))

    return Monitor(config, clock=Clock(), sampler=object(), infer=infer)


def test_clean_keeps_two_trimmed_lines():
    assert clean("\n  Disk is full.  \n\nNext: sudo du -xh / | sort -h | tail\nmore rambling\n") == (
        "Disk is full.\nNext: sudo du -xh / | sort -h | tail"
    )


def test_without_cortex_llm_the_alert_is_the_same_and_has_no_explanation(tmp_path, caplog):
    caplog.set_level(logging.INFO, "cortex.monitor")
    m = explaining_monitor(tmp_path, 9)  # nothing listens on port 9
    events = m.evaluate(snap(disks={"/": 97}))
    assert [e["event"] for e in events] == ["firing"]
    m.explainer.close(wait=True)
    [alert] = m.alerts(status="all")["alerts"]
    assert alert["ai_explanation"] is None and alert["severity"] == "critical"
    assert "AI explanation of alert #1 unavailable" in caplog.text
    m.close()


def test_waiting_explanations_are_bounded(tmp_path):
    gate, attached = threading.Event(), []

    class Held(Explainer):
        def explain(self, alert: dict[str, Any]) -> str:
            gate.wait(30)
            return f"explained {alert['id']}"

    conf = tmp_path / "on.conf"
    conf.write_text("[alerts]\nai_explain: true\n")
    config = load_config(config_file=conf, env={"CORTEX_HOME": str(tmp_path)})
    e = Held(config, lambda i, text: attached.append((i, text)))
    accepted = [e.submit({"id": i}) for i in range(10)]
    assert accepted.count(True) == MAX_WAITING
    gate.set()
    e.close(wait=True)
    assert sorted(attached) == [(i, f"explained {i}") for i in range(MAX_WAITING)]
    assert Held(load_config(env={"CORTEX_HOME": str(tmp_path)}), attached.append).submit({"id": 1}) is False


@pytest.mark.llm
def test_real_cortex_llm_explains_a_new_critical_alert_on_the_same_alert(tmp_path, llama_server, caplog):
    caplog.set_level(logging.INFO, "cortex.monitor")
    m = explaining_monitor(tmp_path, llama_server.port, llama_server.key_file)
    m.evaluate(snap(disks={"/": 97}))
    m.explainer.close(wait=True)
    [alert] = m.alerts(status="all")["alerts"]
    assert alert["ai_explanation"], f"no explanation; log: {caplog.text}"
    assert 1 <= len(alert["ai_explanation"].splitlines()) <= 2
    m.clock.now += 30
    m.evaluate(snap(disks={"/": 97}))  # still the same alert: no second explanation, no second alert
    assert len(m.alerts(status="all")["alerts"]) == 1
    m.close()


def test_explanations_go_through_cortexds_inference_queue(tmp_path):
    attached: list[tuple[int, str]] = []
    alert = {"id": 7, "severity": "critical", "category": "disk", "resource": "/", "message": "/ is 97% full"}
    with FakeLLM(reply="The disk is full.\nNext: df -h") as llm:
        config, conf = make_config(tmp_path / "home", {"llm": {"base_url": llm.url}, "alerts": {"ai_explain": True}})
        with ThreadedDaemon(config, tmp_path / "c.sock", conf) as d:
            explainer = Explainer(config, lambda i, text: attached.append((i, text)), d.daemon.infer_from_thread)
            assert explainer.submit(alert)
            explainer.close(wait=True)
    assert attached == [(7, "The disk is full.\nNext: df -h")]
    [body] = llm.requests
    assert body["max_tokens"] == MAX_TOKENS and body["temperature"] == 0 and body["messages"][0]["role"] == "system"
