"""Prompt templates: lookup, sandboxed rendering, ``cortex prompts``, and cortexd's ``inference`` with a template."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from test_daemon_support import FakeLLM, ThreadedDaemon, make_config

from cortex.config import load_config
from cortex.daemon_client import CortexDaemonClient, DaemonError
from cortex.llm.prompts import (
    SYSTEM_PROMPTS_DIR,
    PromptError,
    apply_template,
    find_template,
    list_templates,
    prompt_dirs,
    render,
)

FACTS = {"hostname": "box", "os": "Debian", "cpus": 2}


def write(directory: Path, name: str, source: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}.j2"
    path.write_text(source)
    return path


@pytest.fixture
def dirs(tmp_path: Path) -> list[tuple[str, Path]]:
    return [("user", tmp_path / "user"), ("system", tmp_path / "system")]


def test_user_templates_hide_system_ones_and_bad_names_are_skipped(dirs) -> None:
    user, system = dirs[0][1], dirs[1][1]
    write(system, "explain", "system {{ x }}")
    write(system, "only-system", "s")
    write(user, "explain", "user {{ x }}")
    write(user, "chat", "a template may not shadow the built-in chat")
    (user / "notes.txt").write_text("not a template")
    found = list_templates(dirs)
    assert [(t.name, t.scope) for t in found] == [("explain", "user"), ("only-system", "system")]
    assert render(find_template("explain", dirs), {"x": 1}, FACTS) == "user 1"


def test_default_dirs_are_the_users_then_etc(tmp_path: Path) -> None:
    config = load_config()
    assert prompt_dirs(config) == [("user", config.paths.config_dir / "prompts"), ("system", SYSTEM_PROMPTS_DIR)]


def test_render_sees_variables_request_and_system_facts(dirs) -> None:
    template = "{{ system.hostname }} ({{ system.os }}, {{ system.cpus }} cpus): {{ question | upper }}"
    write(dirs[0][1], "t", template + "{% if 'extra' in request %} +{{ extra }}{% endif %}\n")
    t = find_template("t", dirs)
    assert render(t, {"question": "why"}, FACTS) == "box (Debian, 2 cpus): WHY"
    assert render(t, {"question": "why", "extra": "x"}, FACTS) == "box (Debian, 2 cpus): WHY +x"
    real = render(t, {"question": "q"})  # the real facts of this machine
    assert real.startswith(os.uname().nodename)


@pytest.mark.parametrize(
    "source",
    [
        "{{ ''.__class__.__mro__ }}",
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ (1).__class__.__base__ }}",
        "{{ cycler.__init__.__globals__ }}",
        "{{ x.__len__() }}",
        "{{ request.clear() }}",
        "{% set _ = request.update({'a': 1}) %}",
        "{{ system.__class__ }}",
    ],
)
def test_sandbox_escapes_are_refused_with_a_clear_error(dirs, source: str) -> None:
    write(dirs[0][1], "evil", source)
    with pytest.raises(PromptError) as e:
        render(find_template("evil", dirs), {"x": "hi"}, FACTS)
    assert e.value.code == "invalid_params"
    assert "refused by the sandbox" in e.value.message and "evil" in e.value.message


@pytest.mark.parametrize(
    ("source", "variables", "says"),
    [
        ("{{ missing }}", {}, "'missing' is undefined"),
        ("{% for %}", {}, "line 1"),
        ("{% for i in range(100000) %}{% for j in range(100000) %}xx{% endfor %}{% endfor %}", {}, "more than"),
        ("{{ x }}", {"not a name": 1}, "plain names"),
        ("{{ x }}", ["x"], "plain names"),
        ("{{ x }}", {"system": "mine"}, "set by cortex"),
    ],
)
def test_render_errors_say_what_is_wrong(dirs, source: str, variables, says: str) -> None:
    write(dirs[0][1], "t", source)
    with pytest.raises(PromptError) as e:
        render(find_template("t", dirs), variables, FACTS)
    assert e.value.code == "invalid_params" and says in e.value.message


def test_missing_template_is_not_found_and_bad_names_are_invalid(dirs) -> None:
    with pytest.raises(PromptError) as e:
        find_template("nope", dirs)
    assert e.value.code == "not_found" and "nope.j2" in e.value.message and str(dirs[0][1]) in e.value.message
    write(dirs[1][1].parent, "secret", "outside the prompt directories")
    for name in ("../secret", "/etc/passwd", "", "a/b", "raw", 5, None):
        with pytest.raises(PromptError) as e:
            find_template(name, dirs)
        assert e.value.code == "invalid_params"


def test_apply_template_makes_a_prompt_and_passes_chat_and_raw_through(dirs) -> None:
    write(dirs[0][1], "wrap", "Answer briefly: {{ prompt }} [{{ tone }}]")
    params = {"template": "wrap", "prompt": "what is nginx?", "variables": {"tone": "dry"}, "max_tokens": 8}
    assert apply_template(params, dirs) == {"prompt": "Answer briefly: what is nginx? [dry]", "max_tokens": 8}
    assert apply_template({"prompt": "x", "template": "raw"}, dirs) == {"prompt": "x", "template": "raw"}
    with pytest.raises(PromptError, match="not 'messages'"):
        apply_template({"template": "wrap", "messages": [{"role": "user", "content": "x"}]}, dirs)


def cortex(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CORTEX_HOME": str(home)}
    return subprocess.run([sys.executable, "-m", "cortex", *args], env=env, capture_output=True, text=True, timeout=60)


def test_cli_list_show_test(cortex_home: Path) -> None:
    write(cortex_home / "prompts", "greet", "Hello {{ name }} on {{ system.hostname }}\n")
    write(cortex_home / "prompts", "evil", "{{ ''.__class__.__mro__ }}")
    out = cortex("prompts", "list", "--json", home=cortex_home)
    listed = {t["name"]: t for t in json.loads(out.stdout)}
    assert listed["greet"]["scope"] == "user" and listed["greet"]["path"].endswith("prompts/greet.j2")
    out = cortex("prompts", "show", "greet", "--json", home=cortex_home)
    assert json.loads(out.stdout)["source"] == "Hello {{ name }} on {{ system.hostname }}\n"
    out = cortex("prompts", "test", "greet", "--var", "name=Ada", "--json", home=cortex_home)
    assert json.loads(out.stdout)["prompt"] == f"Hello Ada on {os.uname().nodename}"
    out = cortex("prompts", "test", "greet", "--var", "name=Ada", home=cortex_home)
    assert out.returncode == 0 and out.stdout == f"Hello Ada on {os.uname().nodename}\n"
    out = cortex("prompts", "test", "greet", home=cortex_home)
    assert out.returncode == 1 and "'name' is undefined" in out.stderr and out.stdout == ""
    out = cortex("prompts", "test", "evil", home=cortex_home)
    assert out.returncode == 1 and "refused by the sandbox" in out.stderr
    out = cortex("prompts", "test", "greet", "--var", "name", home=cortex_home)
    assert out.returncode == 2 and "NAME=VALUE" in out.stderr
    out = cortex("prompts", "show", "nope", home=cortex_home)
    assert out.returncode == 1 and "no prompt template 'nope'" in out.stderr
    out = cortex("prompts", "show", "../x", home=cortex_home)
    assert out.returncode == 2


def test_daemon_inference_renders_named_templates(tmp_path: Path) -> None:
    home = tmp_path / "home"
    write(home / "prompts", "wrap", "Q: {{ prompt }} ({{ lang }})")
    write(home / "prompts", "evil", "{{ ''.__class__.__mro__ }}")
    with FakeLLM() as llm:
        config, conf = make_config(home, {"llm": {"base_url": llm.url, "system_prompt": "Be brief."}})
        with ThreadedDaemon(config, tmp_path / "c.sock", conf) as d:
            client = CortexDaemonClient(d.socket_path)
            data = client.call("inference", prompt="hi", template="wrap", variables={"lang": "fr"}, max_tokens=4)
            assert data["output"] == "hello"
            messages = llm.requests[-1]["messages"]
            assert messages == [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Q: hi (fr)"}]
            client.call("inference", prompt="x", template="wrap", variables={"lang": "en"}, system_prompt="Mine.")
            assert llm.requests[-1]["messages"][0] == {"role": "system", "content": "Mine."}
            for params, code in (
                ({"prompt": "x", "template": "nope"}, "not_found"),
                ({"prompt": "x", "template": "evil"}, "invalid_params"),
                ({"prompt": "x", "template": "wrap"}, "invalid_params"),  # lang undefined
                ({"prompt": "x", "variables": {"a": 1}}, "invalid_params"),  # variables without a template
                ({"prompt": "x", "template": ["wrap"]}, "invalid_params"),
            ):
                with pytest.raises(DaemonError) as e:
                    client.call("inference", **params)
                assert e.value.code == code, params
            assert client.ping()
            assert len(llm.requests) == 2  # nothing that failed reached the model


def test_template_through_cortexd_to_the_real_model(tmp_path: Path, llama_server) -> None:
    home = tmp_path / "home"
    write(home / "prompts", "name-it", "Reply with one word: the capital of {{ country }}.")
    config, conf = make_config(home, {"llm": llama_server.llm_conf()})
    with ThreadedDaemon(config, tmp_path / "c.sock", conf) as d:
        data = CortexDaemonClient(d.socket_path).call(
            "inference", template="name-it", variables={"country": "France"}, max_tokens=8, temperature=0
        )
    assert data["output"].strip() and data["prompt_tokens"] > 10 and data["tokens_generated"] >= 1
