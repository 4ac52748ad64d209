"""cortex-llm's keeper (user mode): a llama-server that keeps dying before it is ready is given up on, clearly."""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
from pathlib import Path

import pytest
from conftest import free_port

from cortex.llm_service.backoff import Backoff
from cortex.llm_service.keeper import GIVE_UP, Keeper
from cortex.llm_service.llama_api import probe

# Stands in for llama-server: answers /health the first time it runs, and dies at once every time after.
SERVER = """
import http.server, pathlib, sys
marker = pathlib.Path(sys.argv[1])
if marker.exists():
    sys.exit(3)
marker.touch()
class Health(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.end_headers()
    def log_message(self, *args):
        pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[2])), Health).serve_forever()
"""


def test_deaths_before_ready_after_a_kill_end_in_one_giving_up_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    port, script = free_port(), tmp_path / "server.py"
    script.write_text(SERVER, encoding="utf-8")
    pid_file, state = tmp_path / "cortex-llm.pid", tmp_path / "keeper.json"
    argv = [sys.executable, str(script), str(tmp_path / "served"), str(port)]
    keeper = Keeper(argv, f"http://127.0.0.1:{port}", pid_file, state, Backoff(0.01, 0.02))
    result: list[int] = []
    thread = threading.Thread(target=lambda: result.append(keeper.run()))
    thread.start()
    try:
        while thread.is_alive() and not (state.exists() and json.loads(state.read_text())["state"] == "up"):
            time.sleep(0.05)
        assert probe(keeper.url, 1.0) == "up"
        os.kill(int(pid_file.read_text()), signal.SIGKILL)
        thread.join(60)
    finally:
        keeper.stop(signal.SIGTERM, None)
        thread.join(10)
    assert result == [1]
    doc = json.loads(state.read_text())
    assert doc["state"] == "gave_up" and doc["restarts"] == GIVE_UP
    err = capsys.readouterr().err
    assert "was killed by SIGKILL after" in err and "restart 1 in 0.01 s" in err
    assert f"exited with status 3 before it was ready {GIVE_UP} times in a row; giving up" in err
    assert not pid_file.exists()
