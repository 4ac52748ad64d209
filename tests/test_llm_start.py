"""``cortex llm start``: llama-server starts before the keeper's interpreter, which adopts it; a start that
fails in any way (an interrupt, an error of the starting process, a time-out) leaves nothing running."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import bundled_model_path, free_port

from cortex import process
from cortex.config import load_config
from cortex.llm_service import supervisor
from cortex.llm_service.supervisor import LlamaServer, ServiceError

# Stands in for a llama-server whose model never finishes loading: /health answers 503 for ever.
LOADING = """#!{python}
import http.server, sys
port = int(sys.argv[sys.argv.index("--port") + 1])
class Loading(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(503)
        self.end_headers()
    def log_message(self, *args):
        pass
http.server.HTTPServer(("127.0.0.1", port), Loading).serve_forever()
"""

# Stands in for a llama-server whose model loads while /health is asked LOADS times (by anyone), then is ready.
LOADS_THEN_READY = """#!{python}
import http.server, sys
port = int(sys.argv[sys.argv.index("--port") + 1])
asked = 0
class Server(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        global asked
        asked += self.path == "/health"
        self.send_response(503 if self.path == "/health" and asked <= {loads} else 200)
        self.end_headers()
        self.wfile.write(b"{{}}")
    def log_message(self, *args):
        pass
http.server.HTTPServer(("127.0.0.1", port), Server).serve_forever()
"""


def _env(home: Path, port: int, server: Path | None = None) -> dict[str, str]:
    env = {
        "CORTEX_HOME": str(home),
        "CORTEX_LLM_PORT": str(port),
        "CORTEX_LLM_MODEL_PATH": str(bundled_model_path()),
        "CORTEX_LLM_THREADS": "2",
    }
    return {**env, "CORTEX_LLM_SERVER_BIN": str(server)} if server else env


@pytest.fixture
def loading(tmp_path: Path) -> Path:
    script = tmp_path / "llama-server"
    script.write_text(LOADING.format(python=sys.executable), encoding="utf-8")
    script.chmod(0o755)
    return script


def _pids(home: Path) -> list[int]:
    return [int(p.read_text()) for p in (home / "run").glob("cortex-llm*.pid")]


def _wait_for_both(home: Path) -> list[int]:
    """The keeper's and llama-server's pids once both are recorded (bounded by count, not by time)."""
    for _ in range(2000):
        pids = _pids(home)
        if len(pids) == 2:
            return pids
        time.sleep(0.005)
    raise AssertionError(f"no keeper and llama-server under {home}")


def _gone(pids: list[int]) -> bool:
    for _ in range(400):
        if not any(process.alive(p) for p in pids):
            return True
        time.sleep(0.025)
    return False


def _running(under: Path) -> list[int]:
    """Live processes whose command line names a path under ``under`` (the keeper, the server, its script)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                if str(under).encode() in (entry / "cmdline").read_bytes() and process.alive(int(entry.name)):
                    found.append(int(entry.name))
            except OSError:
                pass
    return found


def test_llama_server_is_the_keepers_child_and_started_first(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = {**os.environ, **_env(home, free_port())}
    started = subprocess.run([sys.executable, "-m", "cortex", "llm", "start", "--json"], env=env, capture_output=True)
    assert started.returncode == 0, started.stderr
    try:
        server = json.loads(started.stdout)["pid"]
        keeper = int((home / "run" / "cortex-llm-keeper.pid").read_text())
        assert int(Path(f"/proc/{server}/stat").read_text().rsplit(")", 1)[1].split()[1]) == keeper
        argv = Path(f"/proc/{keeper}/cmdline").read_bytes().split(b"\0")
        assert argv[argv.index(b"--") - 1] == str(server).encode()  # it adopted the server it did not start
        log = (home / "logs" / "cortex-llm.log").read_text()
        assert log.count("starting:") == 1 and "llama-server" in log
    finally:
        subprocess.run([sys.executable, "-m", "cortex", "llm", "stop"], env=env, capture_output=True)
    assert _gone([server, keeper])


def test_an_interrupted_start_leaves_no_keeper_and_no_server(tmp_path: Path, loading: Path) -> None:
    home = tmp_path / "home"
    env = {**os.environ, **_env(home, free_port(), loading)}
    # As in a terminal: Ctrl-C raises KeyboardInterrupt. A run started in the background inherits SIGINT ignored,
    # and Python then keeps ignoring it, so the child gets the default action back first.
    cli = subprocess.Popen(
        [sys.executable, "-m", "cortex", "llm", "start"],
        env=env,
        stderr=subprocess.PIPE,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    pids = _wait_for_both(home)
    cli.send_signal(signal.SIGINT)  # Ctrl-C while the model "loads"
    cli.wait(60)
    assert cli.returncode != 0
    assert _gone(pids), f"left running: {[p for p in pids if process.alive(p)]}"
    assert _pids(home) == [] and _running(tmp_path) == []


@pytest.mark.parametrize("kept", [True, False], ids=["cortex-llm with its keeper", "a model cache server"])
def test_an_error_after_spawning_leaves_nothing_running(
    tmp_path: Path, loading: Path, monkeypatch: pytest.MonkeyPatch, kept: bool
) -> None:
    home = tmp_path / "home"
    config = load_config(env=_env(home, free_port(), loading))
    server = LlamaServer(config) if kept else LlamaServer.for_model(config, bundled_model_path())
    seen: list[int] = []

    def broken(self: LlamaServer, pid: int, timeout: float, keeper: bool = False) -> supervisor.Status:
        seen.extend([pid, *_wait_for_both(home)] if kept else [pid])
        raise OSError("the disk went away")  # any error of the starting process

    monkeypatch.setattr(LlamaServer, "wait_ready", broken)
    with pytest.raises(OSError, match="disk went away"):
        server.start(timeout=30)
    assert seen and _gone(seen), f"left running: {[p for p in seen if process.alive(p)]}"
    assert _pids(home) == [] and _running(tmp_path) == []


def test_a_start_that_times_out_leaves_nothing_running(tmp_path: Path, loading: Path) -> None:
    home = tmp_path / "home"
    config = load_config(env=_env(home, free_port(), loading))
    with pytest.raises(ServiceError, match="did not become ready within 1 s"):
        LlamaServer(config).start(timeout=1)
    assert _pids(home) == []
    assert _running(tmp_path) == []


def test_the_starter_waits_for_the_keepers_word_without_polling(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The keeper polls /health and says "up" on a pipe; the starter, meanwhile, only waits for that word (or for
    the pipe's end): its own probes are the one that sees nothing runs yet and the one that reports the status."""
    script = tmp_path / "llama-server"
    script.write_text(LOADS_THEN_READY.format(python=sys.executable, loads=40), encoding="utf-8")
    script.chmod(0o755)
    home = tmp_path / "home"
    server = LlamaServer(load_config(env=_env(home, free_port(), script)))
    probes: list[str] = []
    real = supervisor.health

    def counted(url: str, timeout: float = 1.0) -> str:
        probes.append(url)
        return real(url, timeout)

    monkeypatch.setattr(supervisor, "health", counted)
    try:
        assert server.start(timeout=60).state == "ready"
        assert json.loads((home / "run" / "cortex-llm-keeper.json").read_text())["state"] == "up"
    finally:
        server.stop()
    assert len(probes) == 2


# Stands in for a llama-server that fails while loading its model: a line on stderr, then exit status 1.
FAILS = """#!{python}
import sys
print("error: failed to load model: the file is cut short", file=sys.stderr)
sys.exit(1)
"""


@pytest.mark.parametrize("how", ["llama-server fails", "the keeper is killed"])
def test_a_start_whose_server_or_keeper_dies_says_so_and_leaves_nothing_running(
    tmp_path: Path, loading: Path, how: str
) -> None:
    home = tmp_path / "home"
    server = loading
    if how == "llama-server fails":
        server = tmp_path / "failing-server"
        server.write_text(FAILS.format(python=sys.executable), encoding="utf-8")
        server.chmod(0o755)
    env = {**os.environ, **_env(home, free_port(), server)}
    cli = subprocess.Popen(
        [sys.executable, "-m", "cortex", "llm", "start"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    if how == "the keeper is killed":
        _wait_for_both(home)
        os.kill(int((home / "run" / "cortex-llm-keeper.pid").read_text()), signal.SIGKILL)
    out, err = cli.communicate(timeout=120)
    assert cli.returncode == 1 and out == b""
    assert err.decode().count("\n") == 1 and "llama-server exited while starting" in err.decode()
    if how == "llama-server fails":
        assert "the file is cut short" in err.decode()
    assert _pids(home) == [] and _running(tmp_path) == []
