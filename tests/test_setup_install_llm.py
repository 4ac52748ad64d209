"""systemd/cortex-llm.service and scripts/install-llm.sh: the unit verifies, the script writes llm.env and undoes.

The script runs with DESTDIR (no /etc is touched, no systemctl); the unit it
renders points at this checkout's cortex-llm, so ``systemd-analyze verify``
checks a real ExecStart.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from test_daemon_systemd import unit_settings
from test_models_store import write_gguf

from cortex.config import read_env_file

REPO = Path(__file__).resolve().parents[1]
UNIT = REPO / "systemd" / "cortex-llm.service"
SCRIPT = REPO / "scripts" / "install-llm.sh"
BIN = Path(sys.executable).parent


def run_script(*args: str, destdir: Path) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "DESTDIR": str(destdir),
        "CORTEX_BIN": str(BIN / "cortex"),
        "CORTEX_LLM_BIN": str(BIN / "cortex-llm"),
    }
    return subprocess.run(["sh", str(SCRIPT), *args], env=env, capture_output=True, text=True, timeout=120)


@pytest.fixture
def model(tmp_path: Path) -> Path:
    return write_gguf(tmp_path / "tiny.gguf")


def test_unit_limits_memory_restarts_and_is_hardened() -> None:
    s = unit_settings(UNIT.read_text())
    assert s["MemoryMax"] == ["16G"] and s["MemoryHigh"] == ["14G"]
    assert s["Restart"] == ["on-failure"] and s["EnvironmentFile"] == ["/etc/cortex/llm.env"]
    assert s["NoNewPrivileges"] == ["yes"] and s["ProtectSystem"] == ["strict"]
    assert s["ProtectHome"] == ["read-only"] and s["PrivateTmp"] == ["yes"] and s["CapabilityBoundingSet"] == [""]
    assert s["ExecStart"][0].endswith("/cortex-llm")


def test_install_configure_status_uninstall_in_destdir(tmp_path: Path, model: Path) -> None:
    root = tmp_path / "root"
    result = run_script("install", str(model), "2", "1024", destdir=root)
    assert result.returncode == 0, result.stderr
    assert "nothing was started" in result.stdout
    env_file, unit = root / "etc/cortex/llm.env", root / "etc/systemd/system/cortex-llm.service"
    assert env_file.stat().st_mode & 0o777 == 0o600
    values = {k: v for k, (v, _) in read_env_file(env_file).items()}
    assert values == {
        "CORTEX_LLM_MODEL_PATH": str(model),
        "CORTEX_LLM_THREADS": "2",
        "CORTEX_LLM_CTX_SIZE": "1024",
        "CORTEX_LLM_PORT": "8085",
        "CORTEX_LLM_HOST": "127.0.0.1",
    }
    assert f"ExecStart={BIN / 'cortex-llm'}\n" in unit.read_text()
    if shutil.which("systemd-analyze"):
        verify = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=60)
        assert verify.returncode == 0, verify.stderr
        assert "cortex-llm.service" not in verify.stderr  # no warnings about our unit

    # What the unit's EnvironmentFile gives cortex-llm is a valid llama-server command line.
    check = subprocess.run(
        [str(BIN / "cortex-llm"), "--check"], capture_output=True, text=True, timeout=60, env={**os.environ, **values}
    )
    assert check.returncode == 0, check.stderr
    assert f"--model {model}" in check.stdout and "--threads 2" in check.stdout and "--port 8085" in check.stdout

    with env_file.open("a") as f:
        f.write("CORTEX_LLM_PORT=9099\n# mine\n")
    result = run_script("configure", str(model), "1", "2048", destdir=root)
    assert result.returncode == 0, result.stderr
    text = env_file.read_text()
    assert "CORTEX_LLM_THREADS=1\n" in text and "CORTEX_LLM_CTX_SIZE=2048\n" in text
    assert "CORTEX_LLM_PORT=9099" in text and "# mine" in text and "CORTEX_LLM_THREADS=2" not in text
    assert env_file.stat().st_mode & 0o777 == 0o600

    status = run_script("status", destdir=root)
    assert status.returncode == 0 and "CORTEX_LLM_THREADS=1" in status.stdout and "unit:" in status.stdout

    result = run_script("uninstall", destdir=root)
    assert result.returncode == 0 and "kept" in result.stdout
    assert not unit.exists() and env_file.exists()


@pytest.mark.parametrize(
    ("args", "code", "needle"),
    [
        (("install",), 2, "usage"),
        (("install", "{model}", "many", "1024"), 2, "THREADS must be"),
        (("install", "{model}", "2", "64"), 2, "CTX must be"),
        (("install", "{missing}", "2", "1024"), 1, "model file not found"),
        (("install", "{text}", "2", "1024"), 1, "not a GGUF model"),
        (("configure", "{model}", "0", "1024"), 2, "THREADS must be"),
        (("frobnicate",), 2, "usage"),
    ],
)
def test_bad_arguments_write_nothing(
    tmp_path: Path, model: Path, args: tuple[str, ...], code: int, needle: str
) -> None:
    text = tmp_path / "notes.gguf"
    text.write_text("not a model")
    fill = {"model": str(model), "missing": str(tmp_path / "nope.gguf"), "text": str(text)}
    root = tmp_path / "root"
    result = run_script(*(a.format(**fill) for a in args), destdir=root)
    assert result.returncode == code, result.stderr
    assert needle in result.stderr
    assert not (root / "etc/cortex/llm.env").exists() and not (root / "etc/systemd").exists()
