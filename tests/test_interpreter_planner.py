"""The grounded planner and the CommandInterpreter API: flow with the fake provider, ranking on apt's real lists,
and a property test that every step of every plan is an argv list the validator lets through."""

from __future__ import annotations

import json
import shlex
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cortex.install.exact import exact_packages, request_words
from cortex.install.planner import CHOICES, MODEL_MARGIN, PlanError, choose, make_plan, split_request
from cortex.llm.interpreter import APIProvider, CommandInterpreter
from cortex.packages.index import PackageIndex
from cortex.packages.search import Candidate, build_query, rank
from cortex.providers import Capability, Messages, Options, Provider, ProviderError, Response
from cortex.providers.fake import FakeProvider
from cortex.safety.validator import validate


class PickProvider(Provider):
    """Answers every choice with one fixed package name (or fails), recording what it was offered."""

    name = "pick"
    capabilities = frozenset({Capability.STREAM, Capability.JSON_SCHEMA})

    def __init__(self, pick: str | None = None, error: bool = False):
        self.pick = pick
        self.error = error
        self.offered: list[list[str]] = []

    def execute(self, messages: Messages, options: Options, response: Response) -> Iterator[str]:
        assert options is not None and options.json_schema is not None
        self.offered.append(options.json_schema["properties"]["package"]["enum"])
        if self.error:
            raise ProviderError("pick at http://127.0.0.1:1: not reachable (connection refused)")
        return iter([json.dumps({"package": self.pick})])


class WordsOnlyProvider(FakeProvider):
    """A provider that cannot follow a JSON schema (as Claude): it answers in words, here around JSON."""

    capabilities = frozenset({Capability.STREAM})


# Exact names ------------------------------------------------------------------------------------------------


def test_exact_requests_need_no_model(real_index: PackageIndex) -> None:
    provider = PickProvider("nginx")
    plan = make_plan("install tree and htop", provider=provider, index=real_index)
    assert plan.packages == ["tree", "htop"]
    assert provider.offered == []  # the model was never asked
    assert plan.steps[0].argv == ["apt-get", "install", "-y", "tree", "htop"]
    assert plan.steps[0].needs_root
    assert exact_packages("install docker", real_index) == ["docker.io"]  # what people mean by the name
    assert exact_packages("please install git, curl and vim", real_index) == ["git", "curl", "vim"]
    assert exact_packages("install the zsh shell", real_index) is None  # "shell" is no package
    assert exact_packages("install nginx and configure it", real_index) == ["nginx"]  # DESIGN's example
    assert exact_packages("install docker and docker compose", real_index) == ["docker.io", "docker-compose"]
    assert exact_packages("an ssh server", real_index) is None  # a kind of software, not the ssh metapackage
    assert exact_packages("install", real_index) is None
    assert exact_packages("I need the dig command", real_index) == ["bind9-dnsutils"]  # by apt's Contents
    assert exact_packages("install dig", real_index) == ["bind9-dnsutils"]  # an alias
    assert exact_packages("record my screen", real_index) is None  # commands count only when asked for
    assert request_words("Install htop, please.") == ["htop"]


def test_services_are_enabled_only_for_packages_that_ship_one(real_index: PackageIndex) -> None:
    plan = make_plan("install nginx and tree", index=real_index)
    assert [s.argv for s in plan.steps] == [
        ["apt-get", "install", "-y", "nginx", "tree"],
        ["systemctl", "enable", "--now", "nginx"],
    ]
    ssh = make_plan("install openssh-server", index=real_index)
    assert ssh.steps[-1].argv == ["systemctl", "enable", "--now", "ssh"]  # the unit is not named after the package


def test_every_step_carries_the_validators_verdict(real_index: PackageIndex) -> None:
    plan = make_plan("install nginx", index=real_index)
    for step in plan.steps:
        expected = validate(step.argv)
        assert step.verdict == expected.verdict and step.verdict in ("allow", "confirm")
        assert step.reasons == expected.reasons
    assert plan.runnable


# The model's choice -----------------------------------------------------------------------------------------


def test_the_model_only_sees_real_candidates_and_cannot_override_a_clear_winner(real_index: PackageIndex) -> None:
    candidates = rank("set up a dns server", real_index)
    best = candidates[0]
    near = Candidate(candidates[1].package, best.score - MODEL_MARGIN / 2 * abs(best.score), candidates[1].why)
    far = [Candidate(c.package, best.score - 10 * MODEL_MARGIN * abs(best.score), c.why) for c in candidates[2:]]
    shown = [best, near, *far]
    weakest = shown[CHOICES - 1]  # the weakest candidate it is shown
    provider = PickProvider(weakest.package.name)
    picked, why = choose("set up a dns server", shown, provider)
    offered = provider.offered[0]
    assert offered == [c.package.name for c in shown[:CHOICES]]
    assert all(real_index.exists(n) for n in offered)
    assert picked is best and "ranked clearly lower" in why
    # With no candidate close to the best, the model could only confirm it: it is not asked at all.
    alone = PickProvider(weakest.package.name)
    assert choose("set up a dns server", [best, *far], alone)[0] is best
    assert alone.offered == []


def test_a_close_model_pick_wins(real_index: PackageIndex) -> None:
    best, runner_up = rank("a terminal multiplexer", real_index)[:2]
    close = Candidate(runner_up.package, best.score - MODEL_MARGIN / 2 * abs(best.score), runner_up.why)
    picked, why = choose("a terminal multiplexer", [best, close], PickProvider(close.package.name))
    assert picked is close and "chosen by the model" in why


def test_the_model_is_built_only_when_a_choice_needs_it(real_index: PackageIndex) -> None:
    """A plan takes what builds the provider and calls it at the first close choice, once: a plan that names its
    packages, or whose ranking has no close second, never pays for the provider's imports."""
    built: list[PickProvider] = []

    def build() -> PickProvider:
        built.append(PickProvider("tmux"))
        return built[-1]

    make_plan("install nginx and tree", index=real_index, provider=build)
    assert built == []
    best, runner_up = rank("a terminal multiplexer", real_index)[:2]
    close = Candidate(runner_up.package, best.score - MODEL_MARGIN / 2 * abs(best.score), runner_up.why)
    picked, why = choose("a terminal multiplexer", [best, close], build)
    assert len(built) == 1 and built[0].offered == [[best.package.name, close.package.name]]
    assert picked in (best, close) and "model" in why


def test_an_unreachable_or_nonsense_model_falls_back_to_the_ranking(real_index: PackageIndex) -> None:
    best, runner_up = rank("a terminal multiplexer", real_index)[:2]
    candidates = [best, Candidate(runner_up.package, best.score - MODEL_MARGIN / 2 * abs(best.score), runner_up.why)]
    picked, why = choose("a terminal multiplexer", candidates, PickProvider(error=True))
    assert picked is candidates[0] and "model unavailable" in why
    picked, _ = choose("a terminal multiplexer", candidates, FakeProvider(reply="not json at all"))
    assert picked is candidates[0]
    picked, why = choose("a terminal multiplexer", candidates, PickProvider("rm -rf /"))
    assert picked is candidates[0] and "named no candidate" in why


def test_a_provider_without_json_schemas_is_asked_in_words_and_held_to_the_candidates(
    real_index: PackageIndex,
) -> None:
    """The enum constraint cannot be sent to such a provider, so the planner never sends a schema (which would be
    refused) and checks the answer against the candidates' names itself."""
    candidates = rank("a terminal multiplexer", real_index)
    best, runner_up = candidates[0], candidates[1]
    close = Candidate(runner_up.package, best.score - MODEL_MARGIN / 2 * abs(best.score), runner_up.why)
    words = WordsOnlyProvider(reply=f'Sure: ```json\n{{"package": "{runner_up.package.name}"}}\n```')
    picked, why = choose("a terminal multiplexer", [best, close], words)
    assert picked is close and "chosen by the model" in why
    messages, options = words.calls[0]
    assert options.json_schema is None and '{"package": "NAME"}' in messages[-1]["content"]
    invented = WordsOnlyProvider(reply='{"package": "rm -rf /"}')
    assert choose("a terminal multiplexer", [best, close], invented) == (
        best,
        "best match in the package index (the model named no candidate)",
    )


def test_each_step_is_validated_once(real_index: PackageIndex, monkeypatch: pytest.MonkeyPatch) -> None:
    import cortex.install.checks as checks

    seen: list[list[str]] = []
    monkeypatch.setattr(checks, "validate", lambda argv: seen.append(argv) or validate(argv))
    plan = make_plan("install nginx and tree", index=real_index)
    assert seen == [s.argv for s in plan.steps] and len(plan.steps) == 2


def test_bad_requests_fail_clearly(real_index: PackageIndex) -> None:
    with pytest.raises(PlanError, match="empty"):
        make_plan("   ", index=real_index)
    with pytest.raises(PlanError, match="no package"):
        make_plan("qqqzzzxxyy wwwvvvkkk", index=real_index)


def test_split_request_only_splits_independent_parts() -> None:
    assert split_request("a web server and a database") == ["a web server", "a database"]
    assert split_request("a tool to search and replace text") == ["a tool to search and replace text"]
    assert split_request("install nginx, and set up a firewall") == ["install nginx", "set up a firewall"]


def test_a_part_that_starts_with_a_package_name_is_a_request_of_its_own(real_index: PackageIndex) -> None:
    assert split_request("install postfix and dovecot", real_index) == ["install postfix", "dovecot"]  # a source
    assert split_request("a tool to search and replace text", real_index) == ["a tool to search and replace text"]
    assert split_request("a tool to download and extract archives", real_index) == [
        "a tool to download and extract archives"  # "extract" names a package, "archives" does not
    ]
    assert split_request("zip and unzip files", real_index) == ["zip", "unzip files"]  # a list of names
    assert split_request(" , and ", real_index) == [" , and "]
    for phrase in ("seccomp filters", "network tools", "mail server"):  # a phrase whose words happen to be names
        request = f"sandbox a desktop program with namespaces and {phrase}"
        assert split_request(request, real_index) == [request]
    plan = make_plan("install openssh server and fail2ban", index=real_index)
    assert plan.packages == ["openssh-server", "fail2ban"]
    plan = make_plan("a web server and the dig command", index=real_index)
    assert plan.packages[1] == "bind9-dnsutils"  # a part that names its package is not searched
    assert "bind9-dnsutils for 'the dig command': named exactly" in plan.notes


def test_misspelt_requests_are_read_as_meant_and_say_so(real_index: PackageIndex) -> None:
    plan = make_plan("install wireshrk and pyhton3", index=real_index)
    assert plan.packages == ["wireshark", "python3"]
    assert "read 'pyhton3' as 'python3', 'wireshrk' as 'wireshark'" in plan.notes


def test_query_expansion_groups_concepts() -> None:
    q = build_query("I want to record my screen")
    assert q.words == ["record", "screen"]
    assert any("screencast" in g for g in q.groups)
    q = build_query("a command line file manager")
    assert sorted(g[0] for g in q.groups) == ["command line", "file manager"]  # two concepts, not four words
    assert build_query("python development headers").wants_dev
    q = build_query("watch a dvd on my laptop")
    assert q.context == {"laptop"}  # where, not what: weighted half
    q = build_query("a minecraft-like game")
    assert q.words == ["minecraft", "game"] and q.likeness == {"minecraft"}
    assert build_query("an alternative to photoshop").likeness == {"photoshop"}
    assert build_query("I'd like to learn haskell").likeness == set()  # "like to" is no likeness
    assert build_query("a chess game").singular and not build_query("chess games").singular


# Ranking on the real lists ----------------------------------------------------------------------------------


@pytest.mark.apt
@pytest.mark.parametrize(
    ("request_text", "acceptable"),
    [
        ("set up a dns server", {"bind9", "dnsmasq", "unbound"}),
        ("a tool to show disk usage interactively", {"ncdu", "gdu"}),
        ("install python development headers", {"python3-dev"}),
        ("a terminal multiplexer", {"tmux", "screen", "byobu"}),
        ("an ssh server", {"openssh-server"}),
        ("a pdf viewer", {"evince", "okular", "zathura", "mupdf", "qpdfview", "atril", "xpdf"}),
        ("openssl development headers", {"libssl-dev"}),  # named by its source package
        ("a matlab alternative", {"octave", "scilab"}),  # not matlab2tikz, a tool for matlab
        ("install the xfce desktop", {"xfce4", "task-xfce-desktop"}),  # a metapackage, not an xfce program
        ("an xmpp chat server", {"prosody", "ejabberd"}),  # a server, not a chat client
        ("install fonts for programming", {"fonts-firacode", "fonts-hack", "fonts-jetbrains-mono"}),
        ("find memory leaks in my c program", {"valgrind", "heaptrack"}),  # only the long description says so
        ("i want to cut and edit my holiday videos", {"kdenlive", "shotcut", "openshot-qt", "pitivi"}),  # AppStream
        ("an mqtt broker", {"mosquitto"}),  # serves: it ships a unit by the Contents files, and has no debtags
        ("set up a container platform", {"docker.io", "podman", "lxc", "lxd"}),  # "platform" is no concept
        ("a tool to pretty print and query json on the command line", {"jq"}),  # "pretty print" is one idea
        ("a system monitor in the terminal", {"htop", "btop", "glances", "atop"}),
    ],
)
def test_ranking_without_a_model_finds_the_usual_package(
    real_index: PackageIndex, request_text: str, acceptable: set[str]
) -> None:
    top = [c.package.name for c in rank(request_text, real_index, limit=3)]
    assert top[0] in acceptable or set(top) & acceptable, top


def test_libraries_and_parts_are_not_chosen_unless_asked(real_index: PackageIndex) -> None:
    for request in ("an image viewer", "a video player", "a text editor"):
        best = rank(request, real_index)[0].package
        assert not best.name.startswith("lib") and not best.name.endswith(("-dev", "-doc", "-data", "-common"))


# The seed API -----------------------------------------------------------------------------------------------


def test_interpreter_parse_and_plan(real_index: PackageIndex) -> None:
    interpreter = CommandInterpreter(api_key="", provider="fake", index=real_index)
    assert interpreter.parse("install tree and htop") == ["apt-get install -y tree htop"]
    plan = interpreter.plan("install nginx")
    assert plan.packages == ["nginx"]
    assert [shlex.join(s.argv) for s in plan.steps] == interpreter.parse("install nginx")
    assert APIProvider("llama_cpp") is APIProvider.LLAMA_CPP
    assert CommandInterpreter(provider=APIProvider.FAKE, index=real_index).provider.name == "fake"


def test_interpreter_rejects_an_unknown_provider() -> None:
    with pytest.raises(ValueError, match="unknown provider 'gpt5'; choose one of llama_cpp"):
        CommandInterpreter(provider="gpt5")


# Property: whatever the request, a plan is argv lists of strings that pass the validator ---------------------

REQUEST_WORDS = [
    "install", "a", "web", "server", "editor", "and", "tree", "htop", "vpn", "dns", "music", "player", "python",
    "headers", "backup", "tool", "firewall", "rm", "-rf", "/", "$(reboot)", ";", "|", "sh", "`id`", "&&", "curl",
    "nginx", "'", '"', "\\", "*", "~", "../../etc/passwd", "ñandú", "🙂",
]  # fmt: skip


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(words=st.lists(st.sampled_from(REQUEST_WORDS) | st.text(min_size=1, max_size=12), min_size=1, max_size=8))
def test_every_plan_step_is_a_validated_argv_list(real_index: PackageIndex, words: list[str]) -> None:
    request = " ".join(words)
    try:
        plan = make_plan(request, provider=FakeProvider(), index=real_index)
    except PlanError:
        return  # nothing matched: a clear error, never a made-up package
    assert plan.packages and all(real_index.exists(p) for p in plan.packages)
    for step in plan.steps:
        assert isinstance(step.argv, list) and all(isinstance(a, str) and a for a in step.argv)
        assert step.argv[0] in ("apt-get", "systemctl")
        assert validate(step.argv).verdict in ("allow", "confirm")
        assert step.verdict in ("allow", "confirm")


# With the real bundled model --------------------------------------------------------------------------------


@pytest.mark.llm
def test_real_model_chooses_only_among_real_candidates(llama_server, real_index: PackageIndex) -> None:
    import os

    from cortex.config import load_config

    config = load_config(env={**os.environ, **llama_server.env()})
    interpreter = CommandInterpreter(provider="llama_cpp", config=config, index=real_index)
    for request in ("a terminal multiplexer", "set up a dns server", "I want to record my screen"):
        plan = interpreter.plan(request)
        shown = [c.package.name for c in rank(request, real_index)[:CHOICES]]
        assert len(plan.packages) == 1 and plan.packages[0] in shown
        assert "model unavailable" not in plan.notes[0]  # the real server answered the schema-constrained prompt
        assert plan.steps[0].argv == ["apt-get", "install", "-y", plan.packages[0]]
