"""System mode's parts that need no systemd: how a member finds the system socket, what a refused user is
told, what reload-config says applies a cortex-llm change, which command each "start it" hint names. The real
thing runs in tests/test_system_mode.py."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from conftest import free_port

import cortex.paths
from cortex.cli.daemon_status import lines
from cortex.config import load_config
from cortex.daemon.inference import InferenceQueue
from cortex.daemon_client import CortexDaemonClient, DaemonNotRunning, socket_for
from cortex.hints import start_hint
from cortex.llm_service.supervisor import system_hint
from cortex.paths import Paths
from cortex.protocol import ProtocolError


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


# Every "start it with" hint, in the run mode's words (cortex/hints.py): a user-mode hint shown to an
# administrator would start a private copy instead of the service that is down.


def test_start_hints_name_systemctl_in_system_mode_and_the_cli_in_user_mode() -> None:
    for service in ("cortexd", "cortex-llm"):
        assert f"sudo systemctl start {service}" in start_hint(service, "system")
        assert f"journalctl -u {service}" in start_hint(service, "system")
    assert start_hint("cortexd", "user") == "start it with 'cortex daemon start' (or 'cortex up')"
    assert start_hint("cortex-llm", "user") == "start it with 'cortex llm start' (or 'cortex up')"


def test_cortexd_not_running_on_the_system_socket_names_systemctl(tmp_path: Path) -> None:
    assert "sudo systemctl start cortexd" in DaemonNotRunning("/run/cortex/cortex.sock", "no socket").message
    assert "cortex daemon start" in DaemonNotRunning(str(tmp_path / "cortex.sock"), "no socket").message


def test_status_of_a_system_cortexd_with_cortex_llm_down_names_systemctl() -> None:
    data = {
        "pid": 1, "uptime_seconds": 5, "version": "0.1.0", "mode": "system", "socket": "/run/cortex/cortex.sock",
        "llm": {"state": "down", "url": "http://127.0.0.1:8085", "backend": "llama_cpp", "model": "m"},
        "alerts": {"active": 0, "critical": 0}, "queue": {"depth": 0, "max": 4},
    }  # fmt: skip
    assert "sudo systemctl start cortex-llm" in lines(data)[-1]
    assert "cortex llm start" in lines({**data, "mode": "user"})[-1]


@pytest.mark.parametrize(
    ("mode", "said"), [("system", "sudo systemctl start cortex-llm"), ("user", "cortex llm start")]
)
def test_inference_with_cortex_llm_down_names_the_modes_start_command(tmp_path: Path, mode: str, said: str) -> None:
    config = load_config(env={"CORTEX_HOME": str(tmp_path), "CORTEX_LLM_PORT": str(free_port())})
    queue = InferenceQueue({**config.section("llm"), "base_url": config.llm_url}, None, mode)
    with pytest.raises(ProtocolError) as e:
        asyncio.run(queue.run({"prompt": "hi", "max_tokens": 4}))
    assert e.value.code == "llm_unavailable" and said in e.value.message
