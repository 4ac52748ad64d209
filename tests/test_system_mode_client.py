"""System mode's parts that need no systemd: how a member finds the system socket, what a refused user is
told, what reload-config says applies a cortex-llm change. The real thing runs in tests/test_system_mode.py."""

from __future__ import annotations

from pathlib import Path

import pytest

import cortex.paths
from cortex.config import load_config
from cortex.daemon_client import CortexDaemonClient, DaemonNotRunning, socket_for
from cortex.llm_service.supervisor import system_hint
from cortex.paths import Paths


@pytest.fixture
def installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A machine where scripts/install.sh has run: its marker (moved into tmp_path, /etc is not ours)."""
    marker = tmp_path / "installed"
    marker.write_text("installed by scripts/install.sh\n")
    monkeypatch.setattr(cortex.paths, "SYSTEM_MARKER", str(marker))
    return marker


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HOME", str(tmp_path))  # ~ is expanded from the process's own HOME
    monkeypatch.delenv("CORTEX_HOME")
    return tmp_path


def user_env(home: Path) -> dict[str, str]:
    return {"HOME": str(home), "CORTEX_MODE": "user"}  # no CORTEX_HOME: the user's own ~/.cortex (also as root)


def test_a_user_without_a_cortexd_of_their_own_dials_the_system_socket(tmp_path: Path, installed: Path) -> None:
    env = user_env(tmp_path)
    config = load_config(env=env)
    assert config.where["mode"] == "user"
    assert socket_for(config, env) == "/run/cortex/cortex.sock"


def test_the_users_own_socket_setting_or_home_wins_over_the_system_one(tmp_path: Path, installed: Path) -> None:
    env = user_env(tmp_path)
    own = Path(load_config(env=env).socket_path)
    own.parent.mkdir(parents=True)
    own.touch()  # the user's own cortexd (its socket exists)
    assert socket_for(load_config(env=env), env) == str(own)
    chosen = {**env, "CORTEX_SOCKET": str(tmp_path / "elsewhere.sock")}
    assert socket_for(load_config(env=chosen), chosen) == str(tmp_path / "elsewhere.sock")
    with_home = {**env, "CORTEX_HOME": str(tmp_path / "home")}
    assert socket_for(load_config(env=with_home), with_home).startswith(str(tmp_path / "home"))


def test_without_the_system_service_a_user_dials_their_own_socket(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(cortex.paths, "SYSTEM_MARKER", str(tmp_path / "absent"))
    env = user_env(tmp_path)
    assert socket_for(load_config(env=env), env) == load_config(env=env).socket_path


def test_permission_denied_says_who_may_use_cortexd_not_that_it_is_down(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o000)
    refused = DaemonNotRunning(str(locked / "cortex.sock"), "permission denied")
    assert "cortex group" in refused.message and "usermod -aG cortex" in refused.message
    assert "not running" not in refused.message
    missing = DaemonNotRunning(str(tmp_path / "none.sock"), "no socket")
    assert "not running" in missing.message
    with pytest.raises(DaemonNotRunning) as raised:  # the real path: connect() itself refused
        CortexDaemonClient(tmp_path / "none.sock", timeout=2).ping()
    assert "not running" in raised.value.message


def system_config(tmp_path: Path, daemon_conf: str, llm_env: str):
    etc = tmp_path / "etc"
    etc.mkdir()
    (etc / "daemon.conf").write_text(daemon_conf)
    (etc / "llm.env").write_text(llm_env)
    paths = Paths("system", etc, tmp_path / "lib", tmp_path / "run", tmp_path / "log", tmp_path / "models")
    return load_config(paths=paths, config_file=etc / "daemon.conf", env={}), etc / "llm.env"


@pytest.mark.parametrize(
    ("key", "conf", "env"),
    [
        ("llm.model_path", "[llm]\nmodel_path: /m/other.gguf\n", "CORTEX_LLM_MODEL_PATH=/m/installed.gguf\n"),
        ("llm.n_ctx", "[llm]\nn_ctx: 8192\n", "CORTEX_LLM_CTX_SIZE=4096\n"),
        ("llm.n_threads", "[llm]\nn_threads: 4\n", "CORTEX_LLM_THREADS=2\n"),
    ],
)
def test_reload_hint_names_install_llm_configure_when_llm_env_overrides(
    tmp_path: Path, key: str, conf: str, env: str
) -> None:
    config, env_file = system_config(tmp_path, conf, env)
    hint = system_hint(config, [key])
    assert key in hint and str(env_file) in hint
    assert "sudo scripts/install-llm.sh configure MODEL THREADS CTX" in hint


@pytest.mark.parametrize(
    ("key", "conf"), [("llm.parallel", "[llm]\nparallel: 2\n"), ("llm.model_path", "[llm]\nmodel_path: /m/x.gguf\n")]
)
def test_reload_hint_is_a_restart_when_llm_env_does_not_override(tmp_path: Path, key: str, conf: str) -> None:
    config, _ = system_config(tmp_path, conf, "# nothing set\n")
    assert system_hint(config, [key]) == "apply it with 'sudo systemctl restart cortex-llm'"
