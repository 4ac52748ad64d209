"""Removal requests on this machine's real index, dpkg and apt: the request's form decides whether packages are
removed (a verb of removal governing package names), dpkg decides which of them are installed, and dpkg's and apt's
own data (Essential, Priority, what ``apt-get -s`` would remove too) decide what is warned about or blocked."""

from __future__ import annotations

import os

import pytest

from cortex.install import apt
from cortex.install.intent import read_request
from cortex.install.planner import PlanError, make_plan
from cortex.install.removal import running_needs
from cortex.llm.interpreter import CommandInterpreter
from cortex.packages.index import PackageIndex

pytestmark = pytest.mark.apt


@pytest.fixture(scope="module")
def installed() -> dict[str, str]:
    return apt.dpkg_state()


def removal_steps(plan) -> list:
    return [s for s in plan.steps if s.argv[1] in ("remove", "purge")]


# The request's form --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "action", "names"),
    [
        ("uninstall openssh-server and sudo", "remove", ["openssh-server", "sudo"]),
        ("remove nginx", "remove", ["nginx"]),
        ("please get rid of the package htop", "remove", ["htop"]),
        ("delete the packages tree and htop", "remove", ["tree", "htop"]),
        ("Could you erase tree, htop and nginx?", "remove", ["tree", "htop", "nginx"]),
        ("sudo apt-get remove nginx", "remove", ["nginx"]),
        ("purge nginx", "purge", ["nginx"]),
        ("completely remove nginx", "purge", ["nginx"]),
        ("uninstall nginx fully", "purge", ["nginx"]),
        ("remove docker", "remove", ["docker.io"]),  # the names people use, as for installs
        ("uninstal nginx", "remove", ["nginx"]),  # one edit from uninstall (not so "remote": one from remove)
        ("unistall tree", "remove", ["tree"]),
    ],
)
def test_a_removal_verb_governing_package_names_is_a_removal(
    real_index: PackageIndex, text: str, action: str, names: list[str]
) -> None:
    parts = read_request(text, real_index)
    assert parts is not None
    assert [(p.action, list(p.names)) for p in parts] == [(action, names)]


@pytest.mark.parametrize(
    "text",
    [
        "install a tool to remove duplicate files",
        "a tool to find and remove duplicate files",
        "remove duplicate files",
        "remove metadata from photos",
        "delete old log files automatically",
        "Create, delete and resize partitions on a disk from the command line.",  # a verb no later clause carries
        "remove duplicate lines from a file but keep the original order",  # 'file' is an installed package
    ],
)
def test_a_removal_verb_that_names_no_package_describes_a_tool_to_install(real_index: PackageIndex, text: str) -> None:
    assert read_request(text, real_index) is None  # the install planner reads it, unchanged
    plan = make_plan(text, index=real_index)
    assert plan.steps[0].argv[:3] == ["apt-get", "install", "-y"] and not plan.remove
    assert "fdupes" in plan.packages or "duplicate files" not in text


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("uninstall the web server", "the web server"),  # uninstall and purge only ever take packages
        ("purge my database", "my database"),
        ("remove nginx and a web server", "a web server"),  # the verb carries on over "and"
        ("remove tree and its friends", "its friends"),
    ],
)
def test_a_removal_of_something_that_is_no_package_name_is_refused_clearly(
    real_index: PackageIndex, text: str, words: str
) -> None:
    with pytest.raises(PlanError, match=rf"name.*{words}|{words}.*name") as e:
        make_plan(text, index=real_index)
    assert "remove" in str(e.value) and "dpkg" in str(e.value)


def test_remove_and_install_in_one_request_make_one_plan_in_the_requests_order(
    real_index: PackageIndex, installed: dict[str, str]
) -> None:
    parts = read_request("remove nginx and install apache2", real_index)
    assert [(p.action, p.names, p.text) for p in parts] == [
        ("remove", ("nginx",), "remove nginx"),
        ("install", (), "install apache2"),
    ]
    parts = read_request("install tree, then uninstall htop and less", real_index)
    assert [(p.action, p.names) for p in parts] == [("install", ()), ("remove", ("htop", "less"))]
    plan = make_plan("remove nginx and install apache2", index=real_index)
    assert ["apt-get", "install", "-y", "apache2"] in [s.argv for s in plan.steps]
    assert "nginx" not in [a for s in plan.steps if s.argv[1] == "install" for a in s.argv]
    if "nginx" in installed:
        assert plan.steps[0].argv == ["apt-get", "remove", "-y", "nginx"]
    else:
        assert any("not installed" in n and "nginx" in n for n in plan.notes)


# What dpkg says is installed -----------------------------------------------------------------------------------


def test_uninstall_openssh_server_and_sudo_never_plans_an_install(
    real_index: PackageIndex, installed: dict[str, str]
) -> None:
    plan = make_plan("uninstall openssh-server and sudo", index=real_index)
    assert not [s for s in plan.steps if s.argv[1] == "install"]
    removed = [p for s in removal_steps(plan) for p in s.argv[3:]]
    for name in ("openssh-server", "sudo"):
        if name in installed:
            assert name in removed
        else:
            assert name not in removed and any("not installed" in n and name in n for n in plan.notes)
    assert all(s.verdict == "block" for s in removal_steps(plan))  # both are what the system needs to be reached


# What dpkg's and apt's data say is critical --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "name", "verb", "reason"),
    [
        ("remove dpkg", "dpkg", "remove", "Essential: yes"),
        ("purge coreutils", "coreutils", "purge", "Essential: yes"),
        ("uninstall apt", "apt", "remove", "Priority: required"),
        ("remove liblocale-gettext-perl", "liblocale-gettext-perl", "remove", "Priority: required"),
    ],
)
def test_removing_essential_or_required_packages_is_blocked_from_dpkgs_data(
    real_index: PackageIndex, installed: dict[str, str], text: str, name: str, verb: str, reason: str
) -> None:
    if name not in installed:
        pytest.skip(f"{name} is not installed here")
    plan = make_plan(text, index=real_index)
    (step,) = plan.steps
    assert step.argv == ["apt-get", verb, "-y", name] and step.needs_root
    assert step.verdict == "block" and any(reason in r and name in r for r in step.reasons), step.reasons
    assert not plan.runnable


@pytest.mark.parametrize(
    ("text", "name", "also"),
    [
        ("uninstall less", "less", None),
        ("remove groff-base", "groff-base", "man-db"),  # man-db depends on it: apt would remove it too
    ],
)
def test_removing_important_packages_or_their_dependents_is_confirmed_with_a_warning(
    real_index: PackageIndex, installed: dict[str, str], text: str, name: str, also: str | None
) -> None:
    if name not in installed or (also and also not in installed):
        pytest.skip(f"{name} or {also} is not installed here")
    plan = make_plan(text, index=real_index)
    (step,) = plan.steps
    assert step.argv == ["apt-get", "remove", "-y", name]
    assert step.verdict == "confirm", step.reasons
    assert any("Priority: important" in r for r in step.reasons), step.reasons
    if also:
        assert any("apt would also remove" in r and also in r for r in step.reasons), step.reasons
    assert plan.remove == [name] and plan.to_dict()["remove"] == [name]


def test_what_the_running_system_stands_on_is_found_by_its_files() -> None:
    env = {"PATH": os.environ["PATH"], "SSH_CONNECTION": "10.0.0.2 50000 10.0.0.1 22", "SUDO_USER": "alice"}
    needs = running_needs(env)
    assert needs[f"/boot/vmlinuz-{os.uname().release}"] == "is the running kernel"
    if os.access("/proc/1/exe", os.R_OK):
        assert needs[os.path.realpath("/proc/1/exe")] == "runs as PID 1 (the init system)"
    assert "serves this ssh session" in needs.values()
    assert "gives this session root (sudo)" in needs.values()
    quiet = running_needs({"PATH": os.environ["PATH"]})
    assert "serves this ssh session" not in quiet.values()


def test_the_python_api_returns_the_same_removal_plan(real_index: PackageIndex) -> None:
    interpreter = CommandInterpreter(provider="fake", index=real_index)
    assert interpreter.parse("remove dpkg") == ["apt-get remove -y dpkg"]
    assert interpreter.plan("remove dpkg").steps[0].verdict == "block"
