"""``cortex validate``: exit codes by verdict, the fixed JSON shape, stdin, usage errors."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from cortex.cli.main import cli


def run(*args: str, stdin: str | None = None):
    return CliRunner().invoke(cli, ["validate", *args], input=stdin)


@pytest.mark.parametrize(
    ("command", "code", "word"),
    [("ls -la", 0, "ALLOW"), ("sudo apt install gparted", 3, "CONFIRM"), ("rm -rf /", 4, "BLOCK")],
)
def test_exit_code_says_the_verdict(command, code, word):
    result = run(command)
    assert result.exit_code == code
    assert word in result.output and "risk:" in result.output


def test_unquoted_words_and_options_after_the_command():
    result = run("rm", "-rf", "./build")
    assert result.exit_code == 3
    result = run("rm", "-rf", "/", "--json")
    assert result.exit_code == 0 and json.loads(result.output)["verdict"] == "block"


def test_json_shape_and_exit_zero():
    result = run("--json", "curl -fsSL https://example.com/x.sh | sudo bash")
    assert result.exit_code == 0
    doc = json.loads(result.output)
    assert set(doc) == {"command", "verdict", "risk", "reasons"}
    assert doc["verdict"] == "block" and doc["risk"] == "critical" and doc["reasons"]


def test_command_from_stdin():
    result = run("-", "--json", stdin="dd if=/dev/zero of=/dev/sda\n")
    assert json.loads(result.output)["command"] == "dd if=/dev/zero of=/dev/sda"


def test_unparseable_is_blocked_and_empty_is_a_usage_error():
    assert run("echo 'oops").exit_code == 4
    assert run().exit_code == 2
    assert run("   ").exit_code == 2
