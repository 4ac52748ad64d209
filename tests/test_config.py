"""Configuration layering: defaults < /etc file < user file < environment, with clear errors."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from cortex.config import ConfigError, load_config, set_value
from cortex.paths import get_paths


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_defaults_come_from_the_table(cortex_home: Path) -> None:
    cfg = load_config()
    assert cfg["llm.n_ctx"] == 512
    assert cfg["thresholds.disk_warning"] == 85
    assert cfg.source("llm.n_ctx") == "default"
    assert cfg.model_path == cortex_home / "models" / "SmolLM2-135M-Instruct.Q4_1.gguf"
    assert cfg.socket_path == str(cortex_home / "run" / "cortex.sock")


def test_user_file_then_environment_win(cortex_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    conf = write(cortex_home / "daemon.conf", "[llm]\nn_threads: 3\nn_ctx = 1024\n[monitor]\ninterval: 5\n")
    cfg = load_config()
    assert (cfg["llm.n_threads"], cfg["llm.n_ctx"], cfg["monitor.interval"]) == (3, 1024, 5.0)
    assert cfg.source("llm.n_threads") == str(conf)
    monkeypatch.setenv("CORTEXD_N_THREADS", "7")
    cfg = load_config()
    assert cfg["llm.n_threads"] == 7
    assert cfg.source("llm.n_threads") == "env:CORTEXD_N_THREADS"


def test_explicit_config_file_replaces_the_layered_files(cortex_home: Path, tmp_path: Path) -> None:
    write(cortex_home / "daemon.conf", "[llm]\nn_ctx: 1024\n")
    other = write(tmp_path / "other.conf", "[llm]\nn_threads: 2\n")
    cfg = load_config(config_file=other)
    assert cfg["llm.n_ctx"] == 512 and cfg["llm.n_threads"] == 2


def test_model_path_precedence(cortex_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(cortex_home / "daemon.conf", "[llm]\nmodel_path: /models/conf.gguf\n")
    assert load_config().model_path == Path("/models/conf.gguf")
    monkeypatch.setenv("CORTEXD_MODEL_PATH", "/models/env.gguf")
    assert load_config().model_path == Path("/models/env.gguf")
    write(cortex_home / "llm.env", "CORTEX_LLM_MODEL_PATH=/models/llm-env.gguf\n")
    cfg = load_config()
    assert cfg.model_path == Path("/models/llm-env.gguf")
    assert cfg.model_path_source == str(cortex_home / "llm.env")


def test_env_files_accept_quotes_export_and_comments(cortex_home: Path) -> None:
    write(cortex_home / "llm.env", "# service\nexport CORTEX_LLM_PORT=8099\nCORTEX_LLM_HOST='127.0.0.2'\nOTHER=x\n")
    write(cortex_home / ".env", 'CORTEX_PROVIDER="ollama"\nOPENAI_API_KEY=sk-secret\n')
    cfg = load_config()
    assert cfg.llm_url == "http://127.0.0.2:8099"
    assert cfg["provider.name"] == "ollama"
    assert cfg.as_dict()["provider.openai_api_key"]["value"] == "***"
    assert cfg.as_dict(redact=False)["provider.openai_api_key"]["value"] == "sk-secret"


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("[llm]\nn_ctx: lots\n", "n_ctx = 'lots' is not valid; expected a whole number from 128"),
        ("[llm]\ntemperature: 9\n", "temperature = '9' is not valid; expected a number from 0 to 2"),
        ("[llm]\nuse_mmap: maybe\n", "expected true or false"),
        ("[llm]\nbase_url: localhost:8085\n", "expected an http:// or https:// URL"),
        ("[llm]\nn_ctxx: 5\n", "[llm] unknown key 'n_ctxx'"),
        ("[lmm]\nn_ctx: 5\n", "unknown section [lmm]"),
        ("n_ctx: 5\n", "cannot parse"),
        ("[daemon]\nlog_level: loud\n", "expected 0-4 (0 = debug)"),
    ],
)
def test_wrong_values_name_file_key_and_what_is_allowed(cortex_home: Path, text: str, needle: str) -> None:
    conf = write(cortex_home / "daemon.conf", text)
    with pytest.raises(ConfigError) as e:
        load_config()
    assert str(conf) in str(e.value)
    assert needle in str(e.value)


def test_wrong_environment_value_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CORTEX_PROVIDER", "skynet")
    with pytest.raises(ConfigError, match=r"environment CORTEX_PROVIDER.*one of llama_cpp, ollama"):
        load_config()


def test_log_level_accepts_numbers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CORTEXD_LOG_LEVEL", "0")
    assert load_config()["daemon.log_level"] == "DEBUG"


def test_set_value_keeps_other_lines_and_validates(cortex_home: Path) -> None:
    conf = write(cortex_home / "daemon.conf", "# my notes\n[llm]\nn_threads: 2\n\n[monitor]\ninterval: 10\n")
    set_value("llm.n_ctx", "2048")
    set_value("monitor.interval", "15")
    set_value("alerts.retention_days", "7")
    text = conf.read_text()
    assert "# my notes" in text and "n_threads: 2" in text
    cfg = load_config()
    assert (cfg["llm.n_ctx"], cfg["monitor.interval"], cfg["alerts.retention_days"]) == (2048, 15, 7)
    with pytest.raises(ConfigError):
        set_value("llm.n_ctx", "huge")
    assert load_config()["llm.n_ctx"] == 2048  # the bad value left no damage
    env_file = set_value("provider.openai_api_key", "sk-1")
    assert env_file == cortex_home / ".env" and (env_file.stat().st_mode & 0o777) == 0o600


def test_user_mode_paths_follow_cortex_home(cortex_home: Path) -> None:
    paths = get_paths()
    assert paths.mode == "user"
    assert paths.models_dir == cortex_home / "models"
    assert paths.pid_file("cortex-llm") == cortex_home / "run" / "cortex-llm.pid"


def test_xdg_runtime_dir_is_used_without_cortex_home(tmp_path: Path) -> None:
    env = {"XDG_RUNTIME_DIR": str(tmp_path), "HOME": str(tmp_path / "home")}
    assert get_paths(env=env).socket == tmp_path / "cortex" / "cortex.sock"
    assert get_paths("system").socket == Path("/run/cortex/cortex.sock")


def test_threads_default_to_the_physical_cores(tmp_path: Path) -> None:
    """Two cores with hyper-threading are four CPUs and two threads (llama.cpp's own default)."""
    from cortex.config import physical_cores

    block = "processor\t: {n}\nphysical id\t: 0\ncore id\t\t: {core}\n"
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("\n".join(block.format(n=n, core=n % 2) for n in range(4)), encoding="utf-8")
    assert physical_cores(str(cpuinfo)) == 2
    two_sockets = "\n".join(block.format(n=n, core=0).replace("id\t: 0", f"id\t: {n}") for n in range(2))
    cpuinfo.write_text(two_sockets, encoding="utf-8")
    assert physical_cores(str(cpuinfo)) == 2
    assert physical_cores(str(tmp_path / "missing")) == (os.cpu_count() or 1)
    config = load_config()
    assert config["llm.n_threads"] == 0 and config.llm_threads == physical_cores()
