"""The CLI over every bad file of issue 14: one clear line on stderr and exit 1, never a traceback or a hang.

Each command runs as the user runs it (``python -m cortex`` in a fresh process) in a temporary home whose
configuration, env file or model is a FIFO, a directory, ``/dev/zero``, a socket, a broken link, bytes that
are not UTF-8, a huge file or a crafted GGUF. Nothing here can reach the shared llama-server: ports are free
ones, and commands that would start a server get a model that fails its checks.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import free_port
from hostile_files import CRAFTED, KIND_WORDS, NOT_REGULAR, make
from test_daemon_support import DaemonProcess, write_conf

from cortex.daemon_client import CortexDaemonClient

CONFIG_KINDS = ("fifo", "directory", "device", "latin1", "huge")
# Every command that reads the configuration files first (the click ones through one loader, daemon status
# through its own fast path).
READ_CONFIG = (
    ("config", "show"),
    ("config", "get", "llm.n_ctx"),
    ("daemon", "status"),
    ("daemon", "status", "--json"),
    ("model", "list"),
    ("llm", "status"),
    ("llm", "start"),
    ("llm", "ps"),
    ("ask", "hello"),
    ("install", "nginx", "--dry-run"),
    ("history",),
    ("prompts", "list"),
)


def cortex(home: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    dead = free_port()  # nothing listens there: no command may reach a real server
    variables = {
        **os.environ,
        "CORTEX_HOME": str(home),
        "LLAMA_CPP_BASE_URL": f"http://127.0.0.1:{dead}",
        "CORTEX_LLM_PORT": str(dead),
        "CORTEX_SOCKET": str(home / "none.sock"),
        **env,
    }
    return subprocess.run(
        [sys.executable, "-m", "cortex", *args], env=variables, capture_output=True, text=True, timeout=120
    )


def one_clear_line(result: subprocess.CompletedProcess[str], *needles: str) -> None:
    shown = f"{result.args[3:]}: rc {result.returncode}\n{result.stderr}"
    assert "Traceback" not in result.stderr + result.stdout, shown
    assert result.returncode == 1 and result.stderr.count("\n") == 1, shown
    for needle in needles:
        assert needle in result.stderr, shown


@pytest.mark.parametrize("kind", CONFIG_KINDS)
@pytest.mark.parametrize("name", ("daemon.conf", "llm.env", ".env"))
def test_each_bad_config_file(tmp_path: Path, name: str, kind: str) -> None:
    home = tmp_path / "home"
    path = make(kind, home / name)
    for args in (("config", "show"), ("daemon", "status")):
        one_clear_line(cortex(home, *args), str(path), KIND_WORDS[kind])
    result = cortex(home, "config", "set", "service.threads" if name == "llm.env" else "llm.n_ctx", "2")
    assert "Traceback" not in result.stderr
    if name != ".env":  # set writes the file it reads first; refusing leaves the file as it was
        one_clear_line(result, str(path))


@pytest.mark.parametrize(("name", "kind"), [("daemon.conf", "directory"), ("llm.env", "latin1"), (".env", "fifo")])
def test_every_command_over_a_bad_config_file(tmp_path: Path, name: str, kind: str) -> None:
    home = tmp_path / "home"
    path = make(kind, home / name)
    for args in READ_CONFIG:
        one_clear_line(cortex(home, *args), str(path), KIND_WORDS[kind])


BAD_MODELS = (*NOT_REGULAR, "latin1", "huge", *sorted(CRAFTED))


@pytest.mark.parametrize("kind", BAD_MODELS)
def test_every_command_over_a_bad_model_file(tmp_path: Path, kind: str) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "llm.env").write_text("# mine\n")
    path = tmp_path / "model.gguf"
    CRAFTED[kind](path) if kind in CRAFTED else make(kind, path)
    needle = "not a valid GGUF" if kind in CRAFTED else KIND_WORDS.get(kind, "not a GGUF model")
    needle = "not a GGUF model" if kind in ("latin1", "huge") else needle
    for args in (("model", "info", str(path)), ("model", "use", str(path)), ("llm", "load", str(path))):
        one_clear_line(cortex(home, *args), str(path), needle)
    one_clear_line(cortex(home, "llm", "start", CORTEX_LLM_MODEL_PATH=str(path)), str(path), needle)
    assert (home / "llm.env").read_text() == "# mine\n"  # use and load refused before writing


@pytest.mark.parametrize(
    ("name", "kind"), [("daemon.conf", "directory"), ("daemon.conf", "device"), ("llm.env", "latin1"), (".env", "fifo")]
)
def test_reload_config_of_a_running_cortexd(tmp_path: Path, name: str, kind: str) -> None:
    """cortexd's files go bad (its home is not the CLI's): the CLI shows the daemon's config_error."""
    daemon_home = tmp_path / "daemon-home"
    write_conf(daemon_home / "daemon.conf", {"llm": {"queue_size": 7, "base_url": f"http://127.0.0.1:{free_port()}"}})
    sock = tmp_path / "c.sock"
    with DaemonProcess(daemon_home, sock):
        before = CortexDaemonClient(sock).status()["queue"]["max"]  # parallel + queue_size 7
        path = daemon_home / name
        path.unlink(missing_ok=True)
        make(kind, path)
        result = cortex(tmp_path / "cli-home", "daemon", "reload-config", CORTEX_SOCKET=str(sock))
        one_clear_line(result, "config_error", str(path), KIND_WORDS[kind])
        assert CortexDaemonClient(sock).status()["queue"]["max"] == before  # the old configuration stays
