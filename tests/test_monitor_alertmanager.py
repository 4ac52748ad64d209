"""cortexd's alerts in a real Alertmanager: posted to its v2 API as they fire, escalate and resolve, routed by it
to a webhook, retried while it is unreachable, and never holding up the monitor."""

from __future__ import annotations

import logging
import socket
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from conftest import free_port
from prometheus_support import alertmanager, request
from test_daemon_support import poll
from test_monitor_lifecycle import NoExplain, Recorder, make_config, snap
from test_monitor_notify import Sink, sink  # noqa: F401  (the webhook Alertmanager routes to)

from cortex.config import ConfigError
from cortex.monitor import alertmanager as alertmanager_channel
from cortex.monitor.monitor import Monitor


def new_monitor(tmp_path: Path, url: str, **sections: dict[str, Any]) -> Monitor:
    config = make_config(tmp_path, alerts={"alertmanager_url": url, "notify_timeout": 5}, **sections)
    return Monitor(config, clock=time.time, sampler=object(), notifier=Recorder(), explainer=NoExplain())


def active(am_url: str) -> list[dict[str, Any]]:
    status, alerts = request(am_url + "/api/v2/alerts")
    assert status == 200
    return alerts


def seconds(rfc3339: str) -> float:
    return datetime.fromisoformat(rfc3339.replace("Z", "+00:00")).timestamp()


def test_alerts_fire_escalate_and_resolve_in_a_real_alertmanager(tmp_path: Path, sink: str) -> None:  # noqa: F811
    with alertmanager(tmp_path / "am", sink) as am:
        m = new_monitor(tmp_path, am.url)
        try:
            m.evaluate(snap(disks={"/": 10, "/srv": 86}))
            assert poll(lambda: [a["labels"]["severity"] for a in active(am.url)] == ["warning"], 60), active(am.url)
            m.evaluate(snap(disks={"/": 10, "/srv": 97}))  # the same cortexd alert, now critical
            assert poll(lambda: [a["labels"]["severity"] for a in active(am.url)] == ["critical"], 60), active(am.url)
            [alert] = active(am.url)
            [stored] = m.alerts()["alerts"]
            assert alert["labels"] == {
                "alertname": "CortexDisk", "severity": "critical", "instance": socket.gethostname(),
                "rule": "disk", "resource": "/srv",
            }  # fmt: skip
            assert alert["annotations"] == {
                "summary": "/srv is 97% full (3.0 GiB free)",
                "description": stored["message"],
            }
            assert alert["status"]["state"] == "active"
            assert abs(seconds(alert["startsAt"]) - stored["fired_at"]) < 0.001  # when cortexd saw it fire
            assert seconds(alert["endsAt"]) > time.time()  # valid until re-sent, not resolved
            m.evaluate(snap(disks={"/": 10, "/srv": 50}))
            assert poll(lambda: active(am.url) == [], 60), active(am.url)

            # Alertmanager told its receiver: the warning and the critical fired, both were resolved
            def told() -> dict[tuple[str, str], dict]:
                return {(a["status"], a["labels"]["severity"]): a for b in Sink.received for a in b["alerts"]}

            assert poll(lambda: len(told()) == 4, 60), Sink.received
            resolved = told()[("resolved", "critical")]
            assert resolved["labels"]["alertname"] == "CortexDisk" and seconds(resolved["endsAt"]) <= time.time()
        finally:
            m.close()


def test_dismissed_and_silenced_alerts_are_resolved_in_alertmanager(tmp_path: Path, sink: str) -> None:  # noqa: F811
    with alertmanager(tmp_path / "am", sink) as am:
        m = new_monitor(tmp_path, am.url, thresholds={"memory_duration": 0})

        def rules() -> list[str]:
            return sorted(a["labels"]["rule"] for a in active(am.url))

        try:
            m.evaluate(snap(memory=97, disks={"/": 99}))
            assert poll(lambda: rules() == ["disk", "memory"], 60), active(am.url)
            [disk] = [a for a in m.alerts()["alerts"] if a["rule"] == "disk"]
            m.dismiss(disk["id"])
            m.evaluate(snap(memory=97, disks={"/": 99}))  # still full, but dismissed
            assert poll(lambda: rules() == ["memory"], 60), active(am.url)
            m.silence("memory", time.time() + 3600)
            m.evaluate(snap(memory=97, disks={"/": 99}))
            assert poll(lambda: rules() == [], 60), active(am.url)
        finally:
            m.close()


def test_reload_config_moves_the_alerts_to_another_alertmanager(tmp_path: Path, sink: str, monkeypatch) -> None:  # noqa: F811
    monkeypatch.setattr(alertmanager_channel, "RESEND", 3600.0)  # so only the reload can bring the alert over
    with alertmanager(tmp_path / "am1", sink) as first, alertmanager(tmp_path / "am2", sink) as second:
        m = new_monitor(tmp_path, first.url)
        try:
            m.evaluate(snap(disks={"/": 99}))
            assert poll(lambda: len(active(first.url)) == 1, 60), active(first.url)
            m.apply_config(make_config(tmp_path, alerts={"alertmanager_url": second.url}))
            m.evaluate(snap(disks={"/": 99}))  # nothing changed here, but the new Alertmanager has heard nothing
            assert poll(lambda: len(active(second.url)) == 1, 60), active(second.url)
        finally:
            m.close()


def test_an_unreachable_alertmanager_is_retried_until_it_answers(tmp_path: Path, sink: str, caplog) -> None:  # noqa: F811
    caplog.set_level(logging.WARNING, "cortex.monitor")
    am = alertmanager(tmp_path / "am", sink)  # its port is chosen, nothing listens there yet
    m = new_monitor(tmp_path, am.url)
    try:
        m.evaluate(snap(memory=10, disks={"/": 99}))
        assert poll(lambda: "retrying in 2 s" in caplog.text, 60), caplog.text  # refused, and retried
        assert f"Alertmanager at {am.url}: [Errno 111] Connection refused; retrying in 1 s" in caplog.text
        with am:
            assert poll(lambda: [a["labels"]["resource"] for a in active(am.url)] == ["/"], 120), active(am.url)
    finally:
        m.close()


def test_a_hung_alertmanager_never_holds_up_the_monitor(tmp_path: Path) -> None:
    with socket.socket() as hung:  # accepts connections (the kernel's backlog) and never answers
        hung.bind(("127.0.0.1", free_port()))
        hung.listen()
        hung.settimeout(60)
        m = new_monitor(tmp_path, f"http://127.0.0.1:{hung.getsockname()[1]}")
        try:
            events = m.evaluate(snap(disks={"/": 99}))  # returns while the POST waits for an answer
            assert [e["event"] for e in events] == ["firing"]
            conn, _ = hung.accept()
            with conn:
                conn.settimeout(60)
                head = b""
                while b"CortexDisk" not in head and (chunk := conn.recv(65536)):
                    head += chunk
                assert head.startswith(b"POST /api/v2/alerts HTTP/1.1") and b'"alertname": "CortexDisk"' in head
                m.evaluate(snap(disks={"/": 99}))  # the next evaluation does not wait either
        finally:
            m.close()


def test_alertmanager_url_must_be_http_or_empty(tmp_path: Path) -> None:
    assert make_config(tmp_path, alerts={"alertmanager_url": ""})["alerts.alertmanager_url"] == ""  # off, as unset
    with pytest.raises(ConfigError, match="alertmanager_url = 'file:///etc/passwd' is not valid"):
        make_config(tmp_path, alerts={"alertmanager_url": "file:///etc/passwd"})
