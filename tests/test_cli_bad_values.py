"""The real ``cortex`` over bad values (issue 14): NaN and infinities, control characters, decimals, in the
configuration file, the environment and ``config set``. Each gets one clear line naming where and what is
allowed, exit 1 (2 for a bad option), and never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

CORTEX = [sys.executable, "-m", "cortex"]


def cortex(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CORTEX, *args], capture_output=True, text=True, timeout=120, env={**os.environ, **(env or {})}
    )


def assert_clear_failure(result: subprocess.CompletedProcess[str], code: int, *needles: str) -> None:
    assert result.returncode == code, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr + result.stdout
    for needle in needles:
        assert needle in result.stderr, (needle, result.stderr)


FILE_VALUES = {
    "timeout-nan": ("[llm]\ntimeout: nan\n", "timeout = 'nan'", "a number of at least 1"),
    "interval-inf": ("[monitor]\ninterval: inf\n", "interval = 'inf'", "a number of at least 1"),
    "temperature-minus-inf": ("[llm]\ntemperature: -inf\n", "temperature = '-inf'", "a number from 0 to 2"),
    "threshold-overflow": ("[thresholds]\ndisk_critical: 1e999\n", "disk_critical = '1e999'", "from 1 to 100"),
    "prompt-escape": ("[llm]\nsystem_prompt: hi \x1b]52;c;eA==\x07\n", "system_prompt contains the control", ""),
}


@pytest.mark.parametrize("command", [["config", "show"], ["daemon", "status"], ["llm", "status"]])
@pytest.mark.parametrize("case", FILE_VALUES.values(), ids=FILE_VALUES.keys())
def test_a_bad_value_in_the_file_is_one_clear_line(cortex_home: Path, command: list[str], case) -> None:
    text, what, allowed = case
    conf = cortex_home / "daemon.conf"
    conf.parent.mkdir(parents=True, exist_ok=True)
    conf.write_text(text)
    result = cortex(*command)
    assert_clear_failure(result, 1, str(conf), what, allowed)
    assert "\x1b]" not in result.stderr and len(result.stderr.strip().splitlines()) == 1


SET_VALUES = {
    "nan": ("llm.timeout", "nan", "timeout = 'nan' is not valid; expected a number of at least 1"),
    "inf": ("monitor.interval", "inf", "interval = 'inf' is not valid"),
    "minus-inf": ("llm.temperature", "-inf", "expected a number from 0 to 2"),
    "overflow": ("thresholds.cpu_warning", "1e999", "expected a number from 1 to 100"),
    "cr": ("provider.llama_cpp_model", "x\rOPENAI_BASE_URL=http://evil.example", "control character U+000D"),
    "lf": ("llm.system_prompt", "a\nb", "control character U+000A"),
    "tab": ("service.host", "127.0.0.1\t", "control character U+0009"),  # (argv cannot carry a NUL)
    "esc": ("provider.ollama_model", "m\x1b[2J", "control character U+001B"),
    "key-esc": ("llm.n_ctx\x1b[2J", "2048", "control character"),
    "half-port": ("service.port", "8085.5", "expected a whole number from 1 to 65535"),
}


@pytest.mark.parametrize("case", SET_VALUES.values(), ids=SET_VALUES.keys())
def test_config_set_refuses_bad_values_clearly(cortex_home: Path, case) -> None:
    key, value, needle = case
    result = cortex("config", "set", key, value)
    assert_clear_failure(result, 1, needle)
    assert "\x1b[2J" not in result.stderr and "\r" not in result.stderr
    assert not any((cortex_home / f).exists() for f in ("daemon.conf", "llm.env", ".env"))


def test_decimals_are_taken_where_a_number_is_meant(cortex_home: Path) -> None:
    result = cortex("config", "set", "thresholds.disk_critical", "99.9")
    assert result.returncode == 0, result.stderr
    assert cortex("config", "get", "thresholds.disk_critical").stdout.strip() == "99.9"


def test_bad_environment_values_and_options(cortex_home: Path) -> None:
    result = cortex("config", "show", env={"CORTEXD_N_THREADS": "nan"})
    assert_clear_failure(result, 1, "environment CORTEXD_N_THREADS", "expected a whole number from 0 to 256")
    result = cortex("top", "--interval", "nan")
    assert_clear_failure(result, 2, "--interval", "nan")
