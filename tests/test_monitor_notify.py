"""Notification channels for real: an exec hook process, a webhook on a local HTTP server, failures in the log."""

from __future__ import annotations

import http.server
import json
import logging
import shlex
import sys
import threading
from pathlib import Path
from typing import Any, ClassVar

import pytest

from cortex.config import load_config
from cortex.monitor.notify import Notifier

ALERT: dict[str, Any] = {
    "id": 7, "rule": "disk", "resource": "/", "severity": "critical", "category": "disk", "status": "firing",
    "message": "/ is 97% full: $(touch /tmp/cortex-pwned) `id`; rm -rf ~ | cat", "value": 97.0, "threshold": 95,
    "created_at": 1.0, "fired_at": 1.0, "resolved_at": None, "acknowledged": False, "ai_explanation": None,
}  # fmt: skip


def notifier(tmp_path: Path, **alerts: Any) -> Notifier:
    conf = tmp_path / "daemon.conf"
    conf.write_text("[alerts]\n" + "".join(f"{k}: {v}\n" for k, v in alerts.items()))
    return Notifier(load_config(config_file=conf, env={"CORTEX_HOME": str(tmp_path)}))


def test_exec_hook_gets_json_on_stdin_and_no_shell(tmp_path):
    out = tmp_path / "hook.json"
    script = "import sys; open(sys.argv[1], 'w').write(sys.stdin.read())"
    n = notifier(tmp_path, exec_hook=shlex.join([sys.executable, "-c", script, str(out)]))
    n.notify("firing", ALERT)
    n.close(wait=True)
    body = json.loads(out.read_text())
    assert body["event"] == "firing" and body["alert"]["message"] == ALERT["message"]
    assert body["alert"]["id"] == 7 and body["source"] == "cortexd"
    assert not Path("/tmp/cortex-pwned").exists()


def test_failing_and_missing_hooks_are_logged_and_nothing_else_breaks(tmp_path, caplog):
    caplog.set_level(logging.INFO, "cortex.monitor")
    n = notifier(tmp_path, exec_hook=shlex.join([sys.executable, "-c", "import sys; sys.exit('disk full?')"]))
    n.notify("firing", ALERT)
    n.close(wait=True)
    missing = notifier(tmp_path, exec_hook="/nonexistent/hook --flag")
    missing.notify("repeat", ALERT)
    missing.close(wait=True)
    messages = [r.getMessage() for r in caplog.records]
    assert any("alert firing #7 [critical] disk /" in m for m in messages)  # the log always
    assert any("exec hook notification for alert #7 failed" in m and "exited with 1 disk full?" in m for m in messages)
    assert any("exec hook notification for alert #7 failed" in m and "nonexistent" in m for m in messages)


def test_a_hung_hook_is_cut_at_its_timeout_and_notify_never_waits(tmp_path, caplog):
    caplog.set_level(logging.WARNING, "cortex.monitor")
    done = tmp_path / "done"
    script = f"import time, pathlib; time.sleep(30); pathlib.Path({str(done)!r}).touch()"
    n = notifier(tmp_path, exec_hook=shlex.join([sys.executable, "-c", script]), notify_timeout=1)
    n.notify("firing", ALERT)  # returns while the hook sleeps
    assert not done.exists()
    n.close(wait=True)
    assert not done.exists()  # killed at the timeout, not left to finish
    assert any("timed out" in r.getMessage() for r in caplog.records)


def test_an_unsplittable_hook_is_reported_and_left_off(tmp_path, caplog):
    caplog.set_level(logging.ERROR, "cortex.monitor")
    n = notifier(tmp_path, exec_hook="'unterminated")
    assert n.hook == []
    assert "exec_hook" in caplog.text and "cannot be split" in caplog.text


class Sink(http.server.BaseHTTPRequestHandler):
    received: ClassVar[list[dict[str, Any]]] = []
    status = 200

    def do_POST(self):
        self.received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
        self.send_response(self.status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def sink():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Sink)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    Sink.received, Sink.status = [], 200
    yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    server.shutdown()
    server.server_close()


def test_webhook_posts_the_alert_as_json_and_logs_a_refusal(tmp_path, sink, caplog):
    caplog.set_level(logging.WARNING, "cortex.monitor")
    n = notifier(tmp_path, webhook_url=sink)
    n.notify("resolved", {**ALERT, "status": "resolved", "resolved_at": 2.0})
    n.close(wait=True)
    assert [(b["event"], b["alert"]["status"], b["alert"]["resolved_at"]) for b in Sink.received] == [
        ("resolved", "resolved", 2.0)
    ]
    Sink.status = 500
    n = notifier(tmp_path, webhook_url=sink)
    n.notify("firing", ALERT)
    n.close(wait=True)
    assert "webhook notification for alert #7 failed" in caplog.text and "500" in caplog.text


def test_webhook_url_must_be_http(tmp_path):
    from cortex.config import ConfigError

    with pytest.raises(ConfigError, match="webhook_url"):
        notifier(tmp_path, webhook_url="file:///etc/passwd")


def test_desktop_notification_failure_is_logged(tmp_path, caplog, monkeypatch):
    caplog.set_level(logging.WARNING, "cortex.monitor")
    monkeypatch.setenv("PATH", str(tmp_path))  # no notify-send here (nor on this machine)
    n = notifier(tmp_path, notify_desktop="true")
    n.notify("firing", ALERT)
    n.close(wait=True)
    assert "desktop notification for alert #7 failed: notify-send is not installed" in caplog.text
