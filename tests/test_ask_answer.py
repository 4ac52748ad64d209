"""Grounded asks: facts read from this machine, the deterministic lead, context fitting, stable prompts."""

from __future__ import annotations

import os
import platform
import re
from pathlib import Path

import psutil
import pytest

from cortex.ask import facts as facts_mod
from cortex.ask.answer import (
    CHARS_PER_TOKEN,
    SYSTEM_PROMPT,
    answer,
    build_messages,
    fit_facts,
    grounded_stream,
    lead_sentence,
    tokens,
)
from cortex.ask.facts import Fact, gather, os_release, subject_words
from cortex.ask.questions import could_lead
from cortex.config import load_config
from cortex.packages.index import PackageIndex
from cortex.providers.fake import FakeProvider

PACKAGES = """\
Package: nginx
Version: 1.22.1-9
Description: small, powerful, scalable web/proxy server
Tag: interface::daemon, network::server
Section: httpd

Package: tree
Version: 2.1.0-1
Description: displays an indented directory tree, in color
Section: utils

Package: nmap
Version: 7.93
Description: The Network Mapper
Section: net
"""


@pytest.fixture
def index(tmp_path: Path) -> PackageIndex:
    lists = tmp_path / "lists"
    lists.mkdir()
    (lists / "example_dists_stable_main_binary-amd64_Packages").write_text(PACKAGES)
    (tmp_path / "status").write_text("")
    idx = PackageIndex(tmp_path / "packages.db", lists, tmp_path / "status")
    idx.ensure()
    return idx


class FakeMachine:
    """Answers the few commands facts.py runs, as a Debian machine with tree installed would; records them."""

    def __init__(self, installed: dict[str, str] | None = None, man: dict[str, str] | None = None):
        self.installed = installed if installed is not None else {"tree": "2.1.0-1"}
        self.man = man or {"dd": "dd (1)               - convert and copy a file"}
        self.calls: list[list[str]] = []

    def __call__(self, argv: list[str]) -> str:
        self.calls.append(argv)
        if argv[0] == "dpkg-query":
            name = argv[-1]
            return f"ii \t{self.installed[name]}" if name in self.installed else ""
        if argv[:2] == ["man", "-f"]:
            return self.man.get(argv[2], "")
        if argv[0] == "dpkg":
            return "amd64"
        return ""


class EveryName(FakeMachine):
    """A machine where every word is an installed package with a manual page and an active service: the most
    facts a question can get."""

    def __call__(self, argv: list[str]) -> str:
        self.calls.append(argv)
        if argv[0] == "dpkg-query":
            return "ii \t1.0"
        if argv[:2] == ["man", "-f"]:
            return f"{argv[2]} (1)               - does {argv[2]}"
        if argv[:2] == ["systemctl", "is-active"]:
            return "active"
        return "amd64" if argv[0] == "dpkg" else ""


def questions(name: str) -> list[str]:
    path = Path(__file__).parents[1] / "eval" / name
    return [line.split("\t")[0] for line in path.read_text(encoding="utf-8").splitlines() if line[:1] not in "#"]


def ask_lead(question: str, index: PackageIndex, machine: FakeMachine | None = None) -> str:
    return lead_sentence(question, gather(question, index=index, run=machine or FakeMachine()))


# Facts ------------------------------------------------------------------------------------------------------


def test_hardware_and_os_facts_match_the_machine(index: PackageIndex) -> None:
    found = {f.topic: f for f in gather("How much memory and how many CPUs? Which kernel?", index, FakeMachine())}
    assert found["memory"].data["total"] == psutil.virtual_memory().total
    assert found["cpu"].data["count"] == os.cpu_count()
    assert found["kernel"].data["release"] == platform.release()
    assert found["os"].data["name"] == (os_release().get("PRETTY_NAME") or found["os"].data["name"])
    assert "memory" not in {f.topic for f in gather("What is nmap?", index, FakeMachine())}  # only what is asked


def test_package_facts_come_from_the_index_and_dpkg(index: PackageIndex) -> None:
    machine = FakeMachine()
    found = [f for f in gather("Is tree or nginx installed?", index, machine) if f.topic == "package"]
    by_name = {f.data["name"]: f.data for f in found}
    assert by_name["tree"]["installed"] and by_name["tree"]["version"] == "2.1.0-1"
    assert not by_name["nginx"]["installed"] and by_name["nginx"]["available"] == "1.22.1-9"
    assert ["dpkg-query", "-W", "-f=${db:Status-Abbrev}\t${Version}", "tree"] in machine.calls
    assert subject_words("What does the dd command do?") == ["dd"]


def test_real_machine_facts_without_fakes() -> None:
    found = gather("How much free disk space is there on /?")
    root = next(f for f in found if f.topic == "disk" and f.data["mount"] == "/")
    assert root.data["total"] == psutil.disk_usage("/").total
    bash = [f for f in gather("Is bash installed?") if f.topic == "package"]
    if bash:  # dpkg present: bash is essential on Debian
        assert bash[0].data["installed"]


# The lead ---------------------------------------------------------------------------------------------------


def test_installed_questions_lead_with_the_fact(index: PackageIndex) -> None:
    assert ask_lead("Is nginx installed on this machine?", index) == "No, nginx is not installed on this machine."
    assert ask_lead("Is tree installed?", index) == "Yes, tree 2.1.0-1 is installed on this machine."
    assert ask_lead("Which version of tree is installed?", index) == "tree 2.1.0-1 is installed on this machine."
    lead = ask_lead("Is frobnicator installed?", index)
    assert lead.startswith("No, frobnicator is not installed") and "no package of that name" in lead


def test_hardware_questions_lead_with_numbers_computed_here(index: PackageIndex) -> None:
    total = psutil.virtual_memory().total / 1024**3
    assert f"{total:.1f} GiB of memory" in ask_lead("How much memory does this machine have?", index)
    assert ask_lead("How many CPUs are there?", index).startswith(f"This machine has {os.cpu_count()} CPUs")
    assert platform.release() in ask_lead("Which kernel is running?", index)
    assert "amd64" in ask_lead("What architecture is this?", index) or platform.machine() != "x86_64"
    assert re.search(r"The filesystem / has [\d.]+ GiB free", ask_lead("How much disk space is free?", index))
    name = os_release().get("PRETTY_NAME")
    if name:
        assert ask_lead("Which operating system is this?", index) == f"This machine runs {name}."


def test_what_is_questions_lead_with_the_description(index: PackageIndex) -> None:
    assert ask_lead("What is nmap?", index) == "nmap is a Debian package (not installed): The Network Mapper."
    assert ask_lead("What does the dd command do?", index) == "dd is a command: convert and copy a file."
    assert ask_lead("What is the difference between nmap and tree?", index) == ""  # a comparison: the model's job
    assert ask_lead("Tell me a joke", index) == ""


def test_running_questions_never_claim_more_than_is_known(index: PackageIndex) -> None:
    assert ask_lead("Is nginx running?", index) == "No, nginx is not running: it is not installed on this machine."
    if not Path("/run/systemd/system").is_dir():
        machine = FakeMachine(installed={"nginx": "1.22.1-9"})
        lead = ask_lead("Is nginx running?", index, machine)
        assert "cannot be checked" in lead and not any(c[0] == "systemctl" for c in machine.calls)


@pytest.mark.parametrize("name", ["ask.tsv", "howto_dev.tsv", "howto_blind_a.tsv"])
def test_a_question_that_cannot_lead_never_does_whatever_the_facts(index: PackageIndex, name: str) -> None:
    # answer() reads the facts of such a question while it searches for commands, sure there will be no lead.
    early = [q for q in questions(name) if not could_lead(q)]
    for question in early:
        assert lead_sentence(question, gather(question, index, EveryName())) == "", question
    leading = [q for q in questions(name) if lead_sentence(q, gather(q, index, EveryName()))]
    assert leading and all(could_lead(q) for q in leading)
    if name.startswith("howto"):
        assert len(early) >= len(questions(name)) // 2  # most how-to questions are known before any fact


def test_could_lead_names_each_kind_of_lead(index: PackageIndex) -> None:
    for question in ["Is tree installed?", "Which version of tree?", "Is nginx running?", "How much memory?",
                     "How many CPUs?", "Is the disk full?", "Which kernel?", "What architecture?",
                     "Which distribution is this?", "What is nmap?", "Explain dd"]:  # fmt: skip
        assert could_lead(question) and ask_lead(question, index, EveryName()), question
    assert not could_lead("How do I list failed systemd units?")


# Context and messages ---------------------------------------------------------------------------------------


def test_fit_facts_keeps_the_most_relevant_within_budget() -> None:
    facts = [Fact("package", "a" * 40, priority=0), Fact("os", "b" * 40, priority=2), Fact("cpu", "c" * 400)]
    kept = fit_facts(facts, tokens("a" * 40) + tokens("b" * 40) + 2)
    assert [f.topic for f in kept] == ["package", "os"]
    cut = fit_facts([Fact("package", "x" * 1000)], 50)
    assert len(cut) == 1 and cut[0].text.endswith("...") and tokens(cut[0].text) <= 50
    assert fit_facts(facts, 0) == []


def test_system_prompt_is_byte_stable_and_facts_go_in_the_user_message(index: PackageIndex) -> None:
    one = build_messages("Is nginx installed?", gather("Is nginx installed?", index, FakeMachine()), "No.")
    two = build_messages("What is nmap?", gather("What is nmap?", index, FakeMachine()), "")
    assert one[0] == two[0] == {"role": "system", "content": SYSTEM_PROMPT}
    assert "Package nginx" in one[1]["content"] and "Answer: No." in one[1]["content"]
    assert "Package nmap" in two[1]["content"] and "Answer:" not in two[1]["content"]


def test_answer_fits_the_configured_context(index: PackageIndex, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CORTEX_LLM_CTX_SIZE", "160")
    config = load_config()
    provider = FakeProvider(reply="Because dpkg says so.")
    result = answer("Is nginx installed and how much memory and disk is there?", config, provider, index=index)
    messages, options = provider.calls[0]
    prompt_chars = sum(len(m["content"]) for m in messages)
    assert prompt_chars / CHARS_PER_TOKEN + options.max_tokens <= 160
    assert result.lead == "No, nginx is not installed on this machine."
    assert result.text() == "No, nginx is not installed on this machine. Because dpkg says so."
    doc = result.to_dict()
    assert {"question", "answer", "model", "prompt_tokens", "tokens_generated", "time_ms"} <= doc.keys()


def test_answer_streams_after_the_lead(index: PackageIndex) -> None:
    reply = "It scans networks. It finds open ports. It can guess the services behind them."
    result = answer("What is nmap?", load_config(), FakeProvider(reply=reply), index=index)
    assert result.lead.startswith("nmap is a Debian package")
    # The explanation streams word by word: a word waits only while a rule's pattern may begin at it
    # ("It" may start "It is installed", which a fact contradicts), never for the end of its sentence, and a
    # word that nothing it may become can begin a pattern is printed as it comes ("scans", "networks").
    chunks = list(result.response)
    assert "".join(chunks) == reply
    assert chunks[:4] == ["It scans", " networks", ". ", "It finds"]
    assert any(f.topic == "package" for f in result.facts)


def test_facts_survive_missing_tools(index: PackageIndex, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    found = gather("Is tree installed? What is dd?", index)  # no dpkg-query, no man: no crash, no invention
    assert all(not f.data.get("installed") for f in found if f.topic == "package")
    assert facts_mod.run_quiet(["definitely-not-a-command"]) == ""


# With the real bundled model --------------------------------------------------------------------------------


@pytest.mark.llm
def test_real_model_answers_after_a_consistent_lead(llama_server, index: PackageIndex) -> None:
    from cortex.providers import get_provider

    config = load_config(env={**os.environ, **llama_server.env()})
    provider = get_provider("llama_cpp", config)
    result = answer("Is nginx installed on this machine?", config, provider, index=index)
    text = result.text()
    assert text.startswith("No, nginx is not installed on this machine.")
    assert result.response.tokens_generated > 0 and result.response.prompt_tokens > 0
    again = answer("Is nginx installed on this machine?", config, provider, index=index)
    assert again.text().startswith(result.lead)


def test_sentences_that_only_repeat_the_lead_are_dropped_from_the_stream(index: PackageIndex) -> None:
    lead = "No, nginx is not installed on this machine."
    echo = 'The answer to "Is nginx installed?" is "No, nginx is not installed on this machine." Use apt to add it.'
    result = answer("Is nginx installed?", load_config(), FakeProvider(reply=echo), index=index)
    assert result.lead == lead
    assert "".join(result.response) == "Use apt to add it."
    assert result.text() == f"{lead} Use apt to add it."
    only_echo = answer("Is nginx installed?", load_config(), FakeProvider(reply=lead), index=index)
    assert only_echo.text() == lead
    other = answer("Is nginx installed?", load_config(), FakeProvider(reply="Nginx serves web pages."), index=index)
    assert other.text() == f"{lead} Nginx serves web pages."


def test_sentences_that_contradict_the_lead_are_dropped() -> None:
    def explain(lead: str, reply: str) -> str:
        return "".join(grounded_stream(iter([reply]), lead, [lead], set()))

    not_installed = "No, nginx is not installed on this machine."
    assert explain(not_installed, "This answer is a lie. Nginx is a web server.") == "Nginx is a web server."
    about_itself = "This answer is a great example of a simple answer. It serves web pages."
    assert explain("nginx is a Debian package (not installed): a web server.", about_itself) == "It serves web pages."
    assert explain(not_installed, "Nginx is installed. Install it with apt.") == "Install it with apt."
    assert explain("Yes, git 2.39 is installed on this machine.", "Git isn't installed. It tracks files.") == (
        "It tracks files."
    )
    memory = "This machine has 23.5 GiB of memory, 22.1 GiB of it available now."
    assert explain(memory, "It has 16 GB of RAM. That is plenty.") == "That is plenty."
    assert explain(memory, "With 23.5 GiB you can run many services.") == "With 23.5 GiB you can run many services."
    assert explain("This machine has 2 CPUs (2 physical cores).", "You have 4 cores. Builds run in parallel.") == (
        "Builds run in parallel."
    )


def test_every_fact_is_checked_not_only_the_lead() -> None:
    """The model may not contradict a fact it was given that is not the lead (the docker answer of issue 13)."""
    facts = ["docker.io 20.10.24 is a Debian package (not installed): Linux container runtime.",
             "git 2.39.5 is installed on this machine."]  # fmt: skip
    reply = "Docker is installed here. Docker.io is installed. Git is not installed. It runs containers."
    assert "".join(grounded_stream(iter([reply]), "", facts, set())) == "It runs containers."
    # A sentence about another subject is not held against a fact.
    assert "".join(grounded_stream(iter(["Podman is installed."]), "", facts, set())) == "Podman is installed."
    # Amounts: none of the facts says 64 GB.
    memory = ["This machine has 23.5 GiB of memory, 22.1 GiB of it available now.",
              "The filesystem / has 40.0 GiB free."]  # fmt: skip
    assert "".join(grounded_stream(iter(["You have 64 GB. Fine."]), "", memory, set())) == "Fine."
    assert "".join(grounded_stream(iter(["40.0 GiB are free. Fine."]), "", memory, set())) == "40.0 GiB are free. Fine."


def test_sentences_naming_a_command_nothing_grounds_are_dropped() -> None:
    reply = "Run `frobnicate-port 80` to see it. Or use `ls -l /proc`. Then `ss -tlnp` lists sockets."
    out = "".join(grounded_stream(iter([reply]), "", [], {"ss"}))
    assert "frobnicate" not in out
    assert "`ls -l /proc`" in out  # ls exists on this machine
    assert "`ss -tlnp`" in out  # a grounded suggestion
    # sudo in front does not hide the command.
    assert "".join(grounded_stream(iter(["Try `sudo nosuchtool -x`."]), "", [], set())) == ""


@pytest.mark.parametrize(
    "reply",
    [
        "Try `frobfind . -name x` there. It is quick.",  # a sentence end inside the code span
        "Run `frobctl status. Done` now. It is quick.",
        "Use `frobtool -v`. It is quick.",
    ],
)
def test_a_command_split_by_a_full_stop_is_still_checked_whole(reply: str) -> None:
    assert "".join(grounded_stream(iter([reply]), "", [], set())) == "It is quick."


@pytest.mark.parametrize(
    "talk",
    [
        "The user provides a clear explanation of what nginx is.",
        "The user is asking about a web server.",
        "The assistant explains the package well.",
        "Your question is a good one.",
        "As an AI, I cannot check this machine.",
        "The user also provides a brief summary of the package's features.",
    ],
)
def test_sentences_about_the_conversation_are_dropped(talk: str) -> None:
    reply = f"{talk} Nginx serves web pages. It runs as the user www-data."
    assert (
        "".join(grounded_stream(iter([reply]), "", [], set()))
        == "Nginx serves web pages. It runs as the user www-data."
    )
