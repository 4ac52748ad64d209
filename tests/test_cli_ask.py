"""``cortex ask`` end to end against the real llama-server with the bundled model."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import LlamaServer, free_port

from cortex.config import load_config
from cortex.providers import Options
from cortex.providers.openai_compat import OpenAICompatProvider

ASK = [sys.executable, "-m", "cortex", "ask"]


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([*ASK, *args], capture_output=True, text=True, timeout=300, env={**os.environ, **env})


def test_ask_json_has_the_design_shape(llama_server: LlamaServer) -> None:
    result = run(["What is nginx?", "--json"], llama_server.env())
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert {"question", "answer", "model", "prompt_tokens", "tokens_generated", "time_ms"} <= doc.keys()
    assert doc["question"] == "What is nginx?"
    assert doc["answer"].strip()
    assert doc["model"] == "SmolLM2-135M-Instruct.Q4_1"
    assert doc["prompt_tokens"] > 0 and doc["tokens_generated"] > 0


def test_ask_without_the_key_is_refused_and_says_which_setting(llama_server: LlamaServer) -> None:
    result = run(["What is nginx?"], {**llama_server.env(), "CORTEX_LLM_API_KEY_FILE": ""})
    assert result.returncode == 1  # after the facts' lead sentence, which needs no model
    assert "rejected the API key" in result.stderr and "[llm] api_key_file" in result.stderr


def test_ask_streams_the_answer_to_the_terminal(llama_server: LlamaServer) -> None:
    result = run(["What does the ls command do?"], llama_server.env())
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.strip()) > 10


def test_provider_streams_chunk_by_chunk_and_counts_tokens(llama_server: LlamaServer) -> None:
    provider = OpenAICompatProvider("llama_cpp", llama_server.base_url, api_key=llama_server.key)
    messages = [{"role": "user", "content": "Count from one to ten in words."}]
    response = provider.prompt(messages, Options(max_tokens=32, temperature=0))
    chunks = list(response)
    assert len(chunks) > 3  # tokens arrived one by one, not as one block
    assert response.tokens_generated == 32 or response.tokens_generated == len(chunks)
    assert response.first_token_ms is not None and response.first_token_ms <= response.time_ms
    again = provider.prompt(messages, Options(max_tokens=32, temperature=0)).text()
    assert again == "".join(chunks)  # same prompt, greedy: same answer (and served from the prompt cache)


def test_json_schema_constrains_the_answer(llama_server: LlamaServer) -> None:
    provider = OpenAICompatProvider("llama_cpp", llama_server.base_url, api_key=llama_server.key)
    schema = {
        "type": "object",
        "properties": {"package": {"type": "string", "enum": ["nmap", "zsh", "ncdu"]}},
        "required": ["package"],
    }
    messages = [{"role": "user", "content": "Which package is a network scanner?"}]
    text = provider.prompt(messages, Options(max_tokens=32, temperature=0, json_schema=schema)).text()
    assert json.loads(text)["package"] in {"nmap", "zsh", "ncdu"}


def test_ask_with_the_service_down_names_the_command_that_starts_it() -> None:
    """The facts may still lead on stdout; the error is one line on stderr and the exit code says it failed."""
    result = run(["What is nginx?"], {"LLAMA_CPP_BASE_URL": f"http://127.0.0.1:{free_port()}"})
    assert result.returncode == 1
    assert "not reachable" in result.stderr and "cortex up" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_system_prompt_is_byte_stable_across_questions() -> None:
    from cortex.ask.answer import build_messages

    first = build_messages("What is nginx?", [], "")[0]
    second = build_messages("How much memory is free?", [], "It has 2 GiB.")[0]
    assert first == second and first["role"] == "system"


def test_provider_never_prints_the_api_key(monkeypatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-very-secret")
    monkeypatch.setenv("OPENAI_BASE_URL", f"http://127.0.0.1:{free_port()}/v1")
    from cortex.providers import ProviderError, get_provider

    provider = get_provider("openai", load_config())
    try:
        provider.prompt([{"role": "user", "content": "hi"}]).text()
    except ProviderError as e:
        assert "sk-very-secret" not in str(e)
        assert "OPENAI_BASE_URL" in str(e)
    else:
        raise AssertionError("a closed port must fail")


# Run `cortex ARGS...` (after the file to write to); note the modules loaded when the first byte reaches stdout.
RECORD = """
import os, sys
out, sys.argv = sys.argv[1], ["cortex", *sys.argv[2:]]


class FirstWrite:
    def __init__(self, stream):
        self.stream = stream

    def write(self, text):
        if text and not os.path.exists(out):
            open(out, "w").write("\\n".join(sys.modules))
        return self.stream.write(text)

    def __getattr__(self, name):
        return getattr(self.stream, name)


sys.stdout = FirstWrite(sys.stdout)
from cortex.cli.entry import main
main()
"""
# What a first line need not wait for, each ~10-25 ms to import: click (cortex.cli.entry routes `cortex ask WORDS`
# around it), http.client (the model's request is sent after the lead), psutil (facts of memory, CPUs, disks
# only), the tokenizers library (a question's tokens: cortex.packages.wordpiece).
NOT_BEFORE_FIRST_LINE = {"click", "http.client", "psutil", "tokenizers"}


@pytest.mark.parametrize("question", ["What is nginx?", "How do I kill a process by its name?", "Is   zsh installed"])
def test_ask_without_options_skips_click_and_answers_as_click_does(
    llama_server: LlamaServer, tmp_path: Path, question: str
) -> None:
    # `--` makes click parse the same question: the same output, byte for byte, and the same exit code.
    env = {**os.environ, **llama_server.env(), "CORTEX_PROVIDER": "fake"}
    runs = []
    for n, argv in enumerate([["ask", *question.split(" ")], ["ask", "--", *question.split(" ")]]):
        out = tmp_path / f"modules{n}"
        proc = subprocess.run([sys.executable, "-c", RECORD, str(out), *argv], env=env, capture_output=True,
                              text=True, timeout=300)  # fmt: skip
        runs.append((proc.returncode, proc.stdout, proc.stderr, set(out.read_text().splitlines())))
    (code, stdout, stderr, loaded), by_click = runs
    assert (code, stdout, stderr) == by_click[:3] and code == 0 and stdout.strip()
    assert loaded & NOT_BEFORE_FIRST_LINE == set() and "click" in by_click[3]


def test_ask_with_the_service_down_fails_alike_on_both_routes() -> None:
    env = {**os.environ, "LLAMA_CPP_BASE_URL": f"http://127.0.0.1:{free_port()}"}
    fast, by_click = (run(args, env) for args in (["How", "do", "I", "list", "block", "devices?"],
                                                  ["--", "How", "do", "I", "list", "block", "devices?"]))  # fmt: skip
    assert (fast.returncode, fast.stdout, fast.stderr) == (by_click.returncode, by_click.stdout, by_click.stderr)
    assert fast.returncode == 1 and "not reachable" in fast.stderr
