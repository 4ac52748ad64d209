"""``cortex setup`` driven in a pseudo-terminal (pexpect) through the local llama.cpp path with the bundled model.

The session's llama-server serves the chosen model on its port, so the wizard
finds it running and uses it (it never restarts a server it did not start);
cortexd is started in the test's home and stopped afterwards. The files the
wizard wrote are read back; a second run keeps them; ``--dry-run`` writes
nothing; bad answers are asked again, bad flags fail in one line.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pexpect
import pytest
from rich.console import Console
from test_models_pull import FILE, entry, hub  # noqa: F401 (fixtures)

from cortex.config import load_config, read_env_file
from cortex.daemon import control
from cortex.setup.changes import Choices, file_value, plan
from cortex.setup.wizard import Options, SetupError, Wizard

CORTEX = [sys.executable, "-m", "cortex"]


@pytest.fixture
def env(llama_server, cortex_home: Path) -> Iterator[dict[str, str]]:
    """The test's own home, pointed at the shared llama-server's port; cortexd stopped at the end."""
    e = {**os.environ, "CORTEX_LLM_PORT": str(llama_server.port), "NO_COLOR": "1", "TERM": "dumb"}
    e["CORTEX_LLM_API_KEY_FILE"] = str(llama_server.key_file)
    yield e
    control.stop_background(load_config())


def spawn(env: dict[str, str], *args: str) -> pexpect.spawn:
    return pexpect.spawn(
        CORTEX[0], [*CORTEX[1:], "setup", *args], env=env, encoding="utf-8", timeout=90, dimensions=(60, 220)
    )


def files(home: Path) -> dict[str, str]:
    return {name: (home / name).read_text() for name in ("llm.env", ".env", "daemon.conf") if (home / name).exists()}


def test_wizard_local_llama_cpp_then_a_second_run_keeps_everything(env, llama_server, cortex_home: Path) -> None:
    model = str(llama_server.model)
    child = spawn(env)
    child.expect(r"Backend \[llama_cpp/ollama/openai/claude/none\] \(llama_cpp\): ")
    child.sendline("")
    child.expect(r"free memory now: [\d.]+ GB")
    child.expect("smollm2-135m")
    child.expect(r"Model \(number, name or path\)")
    child.sendline(str(cortex_home / "missing.gguf"))  # a bad answer is asked again
    child.expect("model file not found")
    child.expect(r"Model \(number, name or path\)")
    child.sendline(model)
    child.expect(r"Threads \(\d+\): ")
    child.sendline("0")
    child.expect("enter a number from 1 to 256")
    child.sendline("2")
    child.expect(r"Context size \(tokens\) \(512\): ")
    child.sendline("1024")
    child.expect("Write these changes")
    child.sendline("y")
    child.expect(f"already serving {Path(model).name}")
    child.expect("cortexd: running")
    child.expect("Test ask: How much memory does this machine have?")
    child.expect("This machine has [\\d.]+ GiB of memory", timeout=600)  # builds the package index first
    child.expect("Cortex is set up")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0

    llm_env = {k: v for k, (v, _) in read_env_file(cortex_home / "llm.env").items()}
    assert llm_env == {"CORTEX_LLM_MODEL_PATH": model, "CORTEX_LLM_THREADS": "2", "CORTEX_LLM_CTX_SIZE": "1024"}
    dotenv = {k: v for k, (v, _) in read_env_file(cortex_home / ".env").items()}
    assert dotenv == {"CORTEX_PROVIDER": "llama_cpp", "LLAMA_CPP_BASE_URL": llama_server.base_url}
    assert f"base_url: {llama_server.base_url}" in (cortex_home / "daemon.conf").read_text()
    assert (cortex_home / "llm.env").stat().st_mode & 0o777 == 0o600
    config = load_config()
    assert config.model_path == Path(model) and config.llm_threads == 2 and config.llm_ctx == 1024
    before = files(cortex_home)

    # Second run: the first run's answers are the defaults; Enter everywhere changes nothing.
    child = spawn(env, "--no-test")
    child.expect(r"\(llama_cpp\): ")
    child.sendline("")
    child.expect(rf"(\d+)  {Path(model).name} .*\r\nModel \(number, name or path\) \((\d+)\): ")
    assert child.match.group(1) == child.match.group(2)  # the configured model (outside the models dir) is offered
    child.sendline("")
    child.expect(r"Threads \(2\): ")
    child.sendline("")
    child.expect(r"Context size \(tokens\) \(1024\): ")
    child.sendline("")
    child.expect("Nothing to change")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert files(cortex_home) == before

    # Third run, unattended: only the one changed value is written; comments and other lines stay.
    with (cortex_home / "llm.env").open("a") as f:
        f.write("# my note\n")
    result = subprocess.run(
        [*CORTEX, "setup", "--threads", "1", "--yes", "--no-test"], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert "CORTEX_LLM_THREADS 2 -> 1" in result.stdout and result.stdout.count(" -> ") == 1
    assert "restart it to apply" in result.stdout  # the shared server is not ours to restart
    after = files(cortex_home)
    assert after["llm.env"] == before["llm.env"].replace("THREADS=2", "THREADS=1") + "# my note\n"
    assert after[".env"] == before[".env"] and after["daemon.conf"] == before["daemon.conf"]


def test_dry_run_writes_downloads_and_starts_nothing(env, cortex_home: Path) -> None:
    result = subprocess.run(
        [*CORTEX, "setup", "--model", "phi-2", "--threads", "2", "--ctx", "2048", "--yes", "--dry-run"],
        env={**env, "HF_ENDPOINT": "http://127.0.0.1:9"},  # any download attempt would fail loudly
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "would download phi-2" in result.stdout and "dry run" in result.stdout
    assert "CORTEX_LLM_MODEL_PATH (unset) -> " in result.stdout
    assert not cortex_home.exists() or not any(p.is_file() for p in cortex_home.rglob("*"))
    assert control.read_pid(load_config()) is None


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--model", "/nope/none.gguf"], "model file not found"),
        (["--threads", "0"], "threads must be from 1 to 256"),
        (["--ctx", "100000"], "context size (tokens) must be from 128 to 8192"),
        (["--backend", "skynet"], "Invalid value for '--backend'"),
    ],
)
def test_bad_flags_fail_in_one_line_and_write_nothing(env, llama_server, cortex_home: Path, args, needle) -> None:
    base = ["--model", str(llama_server.model)] if "--model" not in args else []
    result = subprocess.run(
        [*CORTEX, "setup", *base, *args, "--yes", "--no-test"], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode in (1, 2) and needle in result.stderr, result.stderr
    assert not (cortex_home / "llm.env").exists() and not (cortex_home / ".env").exists()


def test_remote_backend_writes_only_dotenv(env, cortex_home: Path) -> None:
    flags = ["--backend", "ollama", "--url", "http://127.0.0.1:11434", "--model", "llama3.2:1b", "--yes", "--no-test"]
    result = subprocess.run(
        [*CORTEX, "setup", *flags],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    dotenv = {k: v for k, (v, _) in read_env_file(cortex_home / ".env").items()}
    assert dotenv == {
        "CORTEX_PROVIDER": "ollama",
        "OLLAMA_BASE_URL": "http://127.0.0.1:11434",
        "OLLAMA_MODEL": "llama3.2:1b",
    }
    assert not (cortex_home / "llm.env").exists()
    assert "cortexd: running" in result.stdout


def test_plan_hides_secrets_and_skips_values_already_written(cortex_home: Path) -> None:
    config = load_config()
    choices = Choices("openai", "gpt-4o-mini", url="https://api.example.com/v1", api_key="sk-secret-123")
    changes = plan(choices, config)
    assert [c.key for c in changes] == [
        "provider.name",
        "provider.openai_base_url",
        "provider.openai_model",
        "provider.openai_api_key",
    ]
    assert all("sk-secret-123" not in c.describe() for c in changes)
    from cortex.setup.changes import apply

    apply(changes, config.paths)
    assert file_value("provider.openai_api_key", config.paths) == "sk-secret-123"
    assert plan(choices, load_config()) == []
    assert plan(Choices("openai", "gpt-4o-mini", url="https://api.example.com/v1"), load_config()) == []


def test_wizard_downloads_a_catalog_model_it_is_given(hub, entry, cortex_home: Path, monkeypatch) -> None:  # noqa: F811
    monkeypatch.setenv("HF_ENDPOINT", hub.url)
    console = Console(file=open(os.devnull, "w"))  # noqa: SIM115 (closed with the test process)
    wizard = Wizard(load_config(), Options(model="tiny-test", threads=1, ctx=256, yes=True), console)
    choices = wizard.choose()
    assert choices == Choices("llama_cpp", str(cortex_home / "models" / FILE), 1, 256)
    assert (cortex_home / "models" / FILE).read_bytes() == hub.files[f"cortex-test/tiny-GGUF/{FILE}"]
    with pytest.raises(
        SetupError, match=r"context size \(tokens\) must be from 128 to 4096"
    ):  # the tiny model's trained context
        Wizard(load_config(), Options(model="tiny-test", threads=1, ctx=8192, yes=True), console).choose()
