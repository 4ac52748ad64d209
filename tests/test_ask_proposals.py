"""A larger model's command lines for a how-to question: kept only where this machine verifies them (the program
on the PATH or shipped by a Debian package of the real index, the validator not blocking), and never asked of
the bundled model."""

from __future__ import annotations

import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest

from cortex.ask import proposals
from cortex.ask.answer import suggest_commands
from cortex.ask.howto import HowTo, Suggestion
from cortex.config import load_config
from cortex.packages.index import PackageIndex
from cortex.providers.fake import FakeProvider


@pytest.mark.parametrize(
    ("reply", "lines"),
    [
        ("```bash\n$ sudo ss -ltnp | grep :8080\n```", ["sudo ss -ltnp | grep :8080"]),
        ("1. lsof -i :8080\n2) fuser 8080/tcp\n- `ss -ltnp`", ["lsof -i :8080", "fuser 8080/tcp", "ss -ltnp"]),
        ("# journalctl -u nginx\n\n# journalctl -u nginx\n", ["journalctl -u nginx"]),  # a root prompt, once
        ("a\nb\nc\nd", ["a", "b", "c"]),  # three at most
        ("", []),
    ],
)
def test_command_lines_are_read_without_markup(reply: str, lines: list[str]) -> None:
    assert proposals.command_lines(reply) == lines


def test_only_commands_this_machine_can_vouch_for_are_kept(real_index: PackageIndex) -> None:
    if not shutil.which("ss") or shutil.which("dig"):
        pytest.skip("needs ss installed and dig not")
    kept = proposals.verify(
        [
            "ss -ltnp | grep LISTEN",
            "dig MX example.org",
            "frobnicate --all",
            "rm -rf /",
            "LANG=C ss -s",
            "ss -ltnp | frobnicate",
            "The command is:",
            "The command is written in shell syntax.",
        ],
        real_index,
    )  # fmt: skip  ("the" is a package's command, "The" is prose)
    by_line = {s.command: s for s in kept}
    assert set(by_line) == {"ss -ltnp | grep LISTEN", "dig MX example.org", "LANG=C ss -s"}  # invented, blocked: gone
    assert by_line["ss -ltnp | grep LISTEN"].installed and by_line["ss -ltnp | grep LISTEN"].program == "ss"
    dig = by_line["dig MX example.org"]
    assert not dig.installed and dig.package == "bind9-dnsutils"
    assert "sudo apt install bind9-dnsutils" in dig.line()


def test_sudo_is_left_out_where_it_is_not_installed(real_index: PackageIndex) -> None:
    (kept,) = proposals.verify(["sudo sudo ss -ltnp"], real_index)
    assert kept.command == ("sudo sudo ss -ltnp" if shutil.which("sudo") else "ss -ltnp")


def test_a_command_the_validator_asks_about_says_so(real_index: PackageIndex) -> None:
    (kept,) = proposals.verify(["kill -9 4321"], real_index)
    assert kept.verdict == "confirm" and "Careful:" in kept.line()


def test_proposals_lead_and_retrieved_commands_of_other_programs_follow() -> None:
    def s(command: str) -> Suggestion:
        return Suggestion(command, command.split()[0], command.split()[0], "", True, "", "", 0.0)

    found = HowTo("q", [s("ss -l"), s("lsof -i"), s("fuser 80/tcp")])
    merged = proposals.with_proposals(found, [s("ss -ltnp")])
    assert [x.command for x in merged.suggestions] == ["ss -ltnp", "lsof -i", "fuser 80/tcp"]


def test_the_bundled_model_is_never_asked_and_a_larger_one_is(tmp_path: Path) -> None:
    config = load_config()
    bundled = FakeProvider()
    bundled.name = "llama_cpp"
    assert not proposals.proposes(bundled, SimpleNamespace(model_path=config.paths.bundled_model, paths=config.paths))
    remote = FakeProvider()
    remote.name = "claude"
    assert proposals.proposes(remote, config)
    missing = SimpleNamespace(
        model_path=tmp_path / "none.gguf",
        paths=SimpleNamespace(bundled_model=config.paths.bundled_model, model_header=tmp_path / "header.json"),
    )
    assert not proposals.proposes(bundled, missing)  # a model file it cannot read proposes nothing


def test_a_how_to_answer_with_a_larger_model_shows_its_verified_commands(
    real_index: PackageIndex, monkeypatch: pytest.MonkeyPatch
) -> None:
    provider = FakeProvider(reply="ss -ltnp | grep 8080\nmagic-port-finder 8080\nrm -rf /")
    provider.name = "ollama"
    monkeypatch.setattr("cortex.ask.howto.suggest", lambda question, index, store: HowTo(question))
    monkeypatch.setattr("cortex.ask.docs.open_store", lambda config, index: None)
    howto = suggest_commands("what is listening on port 8080", load_config(), real_index, provider)
    assert [s.command for s in howto.suggestions] == ["ss -ltnp | grep 8080"]
    assert provider.calls and provider.calls[0][1].max_tokens == proposals.PROPOSAL_TOKENS
