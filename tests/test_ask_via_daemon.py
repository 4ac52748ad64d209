"""``cortex ask --via-daemon``: the grounded messages streamed through cortexd to the real llama-server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from test_daemon_support import DaemonProcess, ThreadedDaemon, make_config, write_conf

from cortex.providers import Options, ProviderError
from cortex.providers.daemon import DaemonProvider


def test_provider_streams_token_events_and_fills_the_stats(tmp_path: Path, llama_server) -> None:
    config, conf = make_config(tmp_path / "home", {"llm": llama_server.llm_conf()})
    with ThreadedDaemon(config, tmp_path / "c.sock", conf) as d:
        provider = DaemonProvider(d.socket_path)
        assert provider.available()
        messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Count from 1 to 20."}]
        response = provider.prompt(messages, Options(max_tokens=24, temperature=0, extra={"seed": 1}))
        chunks = list(response)
    assert len(chunks) >= 5  # token events, not one final blob
    assert response.first_token_ms is not None and response.first_token_ms < response.time_ms
    assert response.tokens_generated >= 5 and response.prompt_tokens > 10 and response.model
    assert response.text() == "".join(chunks)


def test_provider_errors_are_provider_errors(tmp_path: Path, llama_server) -> None:
    with pytest.raises(ProviderError, match="cortexd is not running"):
        DaemonProvider(tmp_path / "none.sock").prompt([{"role": "user", "content": "hi"}]).text()
    config, conf = make_config(tmp_path / "home", {"llm": llama_server.llm_conf()})
    with ThreadedDaemon(config, tmp_path / "c.sock", conf) as d:
        response = DaemonProvider(d.socket_path).prompt([{"role": "user", "content": "hi"}], Options(temperature=5))
        with pytest.raises(ProviderError, match=r"invalid_params.*temperature"):
            response.text()


def cortex_ask(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "cortex", "ask", *args]
    return subprocess.run(argv, env={**os.environ, **env}, capture_output=True, text=True, timeout=180)


def test_cli_ask_via_daemon_streams_a_grounded_answer(tmp_path: Path, llama_server) -> None:
    home, sock = tmp_path / "home", tmp_path / "run" / "c.sock"
    conf = write_conf(home / "daemon.conf", {"llm": llama_server.llm_conf(), "monitor": {"enabled": False}})
    env = {"CORTEX_HOME": str(home), "CORTEX_SOCKET": str(sock)}
    with DaemonProcess(home, sock, conf):
        out = cortex_ask(
            "How many CPUs does this machine have?", "--via-daemon", "--max-tokens", "24", "--json", env=env
        )
        assert out.returncode == 0, out.stderr
        data = json.loads(out.stdout)
        assert data["answer"].startswith(f"This machine has {os.cpu_count()} CPUs")
        assert data["tokens_generated"] >= 1 and data["prompt_tokens"] > 20 and data["model"]
        out = cortex_ask("What is the kernel?", "--via-daemon", "--max-tokens", "8", env=env)
        assert out.returncode == 0 and out.stdout.startswith(f"The running kernel is Linux {os.uname().release}.")


def test_cli_ask_via_daemon_when_cortexd_is_down_or_misused(tmp_path: Path) -> None:
    env = {"CORTEX_SOCKET": str(tmp_path / "none.sock")}
    out = cortex_ask("What is nginx?", "--via-daemon", env=env)
    assert out.returncode == 1 and "cortexd is not running" in out.stderr and "cortex daemon start" in out.stderr
    out = cortex_ask("What is nginx?", "--via-daemon", "--provider", "fake", env=env)
    assert out.returncode == 2 and "drop --provider" in out.stderr
