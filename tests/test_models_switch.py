"""``cortex llm load|unload|status``: switching the real llama-server between models, and rolling back.

These tests start their own llama-server (in the test's CORTEX_HOME, on a free
port), because they restart it; the session's shared server is left alone.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import bundled_model_path, free_port
from test_models_store import write_gguf

from cortex.config import load_config, read_env_file
from cortex.llm_service.supervisor import LlamaServer, ServiceError

CORTEX = [sys.executable, "-m", "cortex"]


def run_cortex(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CORTEX, *args], capture_output=True, text=True, timeout=240, env=dict(os.environ))


@pytest.fixture
def home(cortex_home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A user-mode home on a free port, the bundled model in llm.env and its models dir (as a symlink)."""
    monkeypatch.setenv("CORTEX_LLM_PORT", str(free_port()))
    models = cortex_home / "models"
    models.mkdir(parents=True)
    (models / "smollm2-copy.gguf").symlink_to(bundled_model_path())
    cortex_home.joinpath("llm.env").write_text(
        f"# written by the test\nCORTEX_LLM_MODEL_PATH={bundled_model_path()}\nCORTEX_LLM_THREADS=2\n"
    )
    yield cortex_home
    LlamaServer(load_config()).stop()


def model_in_env(home: Path) -> str:
    return read_env_file(home / "llm.env")["CORTEX_LLM_MODEL_PATH"][0]


def test_load_switches_then_rolls_back_a_model_that_does_not_come_up(home: Path, tmp_path: Path) -> None:
    started = run_cortex("llm", "start")
    assert started.returncode == 0, started.stderr

    switched = run_cortex("llm", "load", "smollm2-copy", "--json")
    assert switched.returncode == 0, switched.stderr
    assert json.loads(switched.stdout)["model"] == "smollm2-copy.gguf"
    assert model_in_env(home) == str(home / "models" / "smollm2-copy.gguf")
    assert "# written by the test" in (home / "llm.env").read_text()  # other lines kept

    # A well-formed GGUF header llama-server cannot load: the checks pass, the server fails.
    broken = write_gguf(tmp_path / "header-only.gguf")
    failed = run_cortex("llm", "load", str(broken))
    assert failed.returncode == 1
    assert failed.stderr.count("\n") == 1
    assert "header-only.gguf did not come up" in failed.stderr and "restored smollm2-copy.gguf" in failed.stderr
    assert model_in_env(home) == str(home / "models" / "smollm2-copy.gguf")
    status = json.loads(run_cortex("llm", "status", "--json").stdout)
    assert status["state"] == "ready" and status["model"] == "smollm2-copy.gguf"


def test_status_reports_context_threads_slots_and_speed(home: Path) -> None:
    assert run_cortex("llm", "start").returncode == 0
    config = load_config()
    import urllib.request

    body = json.dumps({"prompt": "Hello", "n_predict": 4}).encode()
    auth = {"Authorization": f"Bearer {LlamaServer(config).key}"}
    urllib.request.urlopen(urllib.request.Request(f"{config.llm_url}/completion", body, auth), timeout=60).read()
    status = json.loads(run_cortex("llm", "status", "--json").stdout)
    assert status["context"] == config.llm_ctx
    assert status["threads"] == 2
    assert status["slots"] == {"total": config["llm.parallel"], "busy": 0}
    assert status["tokens_per_second"] > 0
    human = run_cortex("llm", "status").stdout
    assert "tokens/s" in human and "slots:" in human

    unloaded = run_cortex("llm", "unload", "--json")
    assert json.loads(unloaded.stdout) == {"unloaded": True}
    down = json.loads(run_cortex("llm", "status", "--json").stdout)
    assert down["state"] == "down" and down["slots"] is None


@pytest.mark.parametrize(
    ("target", "needle"),
    [("missing.gguf", "model file not found"), ("phi-2", "not installed"), ("notes.txt", "not a GGUF model")],
)
def test_load_refuses_before_touching_anything(home: Path, target: str, needle: str) -> None:
    (home / "models" / "notes.txt").write_text("hello")
    before = (home / "llm.env").read_text()
    result = run_cortex("llm", "load", str(home / "models" / target) if target != "phi-2" else target)
    assert result.returncode == 1 and needle in result.stderr and result.stderr.count("\n") == 1
    assert (home / "llm.env").read_text() == before


def test_load_refuses_a_model_that_needs_more_memory_than_is_free(home: Path) -> None:
    before = (home / "llm.env").read_text()
    with pytest.raises(ServiceError, match="GiB of memory"):
        LlamaServer(load_config()).load(bundled_model_path(), available=1 << 20)
    assert (home / "llm.env").read_text() == before
