"""The vectors and the manual pages' store built in the background, one build at a time per state directory: a
command meanwhile starts no second build, plans and answers with what exists (full-text search) and says how far
the build is; a foreground prepare waits for it; the background build finishes with everything current."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from cortex.ask.answer import answer
from cortex.ask.docs import open_store, status_stamp
from cortex.ask.prepare import background
from cortex.config import load_config
from cortex.install.planner import make_plan
from cortex.packages import building, semantic
from cortex.packages.index import PackageIndex
from cortex.providers.fake import FakeProvider

PACKAGES = """\
Package: iperf3
Version: 3.12-1
Section: net
Priority: optional
Description: Internet Protocol bandwidth measuring tool
 iperf3 measures the maximum achievable bandwidth on IP networks.

Package: tree
Version: 2.1.0-1
Section: utils
Priority: optional
Description: displays an indented directory tree, in color
 Tree is a recursive directory listing program.

Package: cowsay
Version: 3.03+dfsg2-8
Section: games
Priority: optional
Description: configurable talking cow
 Cowsay will turn text into happy ASCII cows, with speech balloons.
"""

# Another process that holds a state directory's build lock until its standard input closes: a builder.
HOLD = (
    "import fcntl, os, sys\n"
    "fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT)\n"
    "fcntl.flock(fd, fcntl.LOCK_EX)\n"
    "print('held', flush=True)\n"
    "sys.stdin.read()\n"
)


@contextmanager
def another_builder(state: Path, progress: str = "package index: vectors 3/9 (33%)") -> Iterator[None]:
    state.mkdir(parents=True, exist_ok=True)
    (state / building.LOG).write_text(f"cortex: package index: reading apt's lists\ncortex: {progress}\n")
    argv = [sys.executable, "-c", HOLD, str(state / building.LOCK)]
    holder = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        yield
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        assert holder.wait(30) == 0


def small_index(state: Path, models_dir: Path) -> PackageIndex:
    lists = state.parent / "lists"
    lists.mkdir(parents=True, exist_ok=True)
    (lists / "deb.example.org_debian_dists_stable_main_binary-amd64_Packages").write_text(PACKAGES, "utf-8")
    (state.parent / "status").write_text("", encoding="utf-8")
    return PackageIndex(state / "packages.db", lists, state.parent / "status", models_dir=models_dir)


@pytest.fixture
def no_encoding(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    def refuse(*args, **kwargs):
        raise AssertionError("a build is under way elsewhere: nothing may be encoded here")

    monkeypatch.setattr(semantic.BulkEncoder, "encode", refuse)
    return monkeypatch


def test_a_command_meanwhile_builds_nothing_uses_what_exists_and_says_how_far(
    tmp_path: Path, embedder_dir: Path, no_encoding: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    state = tmp_path / "state"
    index = small_index(state, embedder_dir)
    with another_builder(state):
        report = index.ensure()
        assert report.action == "built" and report.pending  # the index itself is built; its vectors are not
        assert not index.vectors.directory.exists() and not (state / "vectors.db").exists()
        assert index.vectors.encode("network bandwidth") is None
        assert make_plan("network bandwidth measuring tool", index=index).packages == ["iperf3"]
        assert index.ensure().pending  # said once per process, with the builder's progress
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and "still being built in the background (package index: vectors 3/9 (33%))" in err[0]
    no_encoding.undo()
    done = index.ensure()
    assert done.action == "vectors" and not done.pending and index.vectors.encode("bandwidth") is not None
    with sqlite3.connect(state / "vectors.db") as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert conn.execute("SELECT count(*) FROM vectors").fetchone()[0] >= 3


def test_an_ask_meanwhile_answers_from_full_text_and_leaves_the_store_to_the_builder(
    embedder_dir: Path, no_encoding: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    config = load_config()
    state = config.paths.state_dir
    index = small_index(state, embedder_dir)
    with another_builder(state, "manual pages 40/1,800 (2%)"):
        index.ensure()
        result = answer("How do I show a directory as a tree?", config, FakeProvider(reply="Use tree."), index=index)
        assert "".join(result.response) == "Use tree."
        assert open_store(config, index).count() == 0  # not parsed here: the builder does it
        assert not (state / "manuals.stamp").exists()
    err = capsys.readouterr().err
    assert err.count("still being built") == 1 and "(manual pages 40/1,800 (2%))" in err


def test_a_foreground_build_waits_for_the_one_under_way(tmp_path: Path) -> None:
    state = tmp_path / "state"
    acquired: list[str] = []

    def build() -> None:
        with building.exclusive(state, wait=True) as mine:
            acquired.append(f"mine={mine}, another building={building.busy(state)}")

    with another_builder(state):
        assert building.busy(state)
        waiter = threading.Thread(target=build)
        waiter.start()
        waiter.join(timeout=1)
        assert waiter.is_alive() and acquired == []  # still waiting
    waiter.join(timeout=30)
    assert acquired == ["mine=True, another building=False"]
    assert not building.busy(state)


def test_the_lock_is_reentrant_for_its_holder_and_refused_to_others(tmp_path: Path) -> None:
    state = tmp_path / "state"
    with building.exclusive(state, wait=False) as outer, building.exclusive(state, wait=False) as inner:
        assert outer and inner and not building.busy(state)
        probe = subprocess.run(
            [sys.executable, "-c", "import sys; from cortex.packages import building;"
             " sys.exit(3 if building.busy(sys.argv[1]) else 0)", str(state)],
        )  # fmt: skip
        assert probe.returncode == 3
    assert not building.busy(state)


@pytest.mark.apt
def test_the_background_build_finishes_with_index_and_store_current(tmp_path: Path) -> None:
    config = load_config()
    state = config.paths.state_dir
    assert background(config).startswith("building in the background")
    assert building.busy(state)  # held from the start: no command can slip a build of its own in
    assert background(config).startswith("already being built in the background")
    with building.exclusive(state, wait=True):  # the builder is done when it lets go
        pass
    log = (state / building.LOG).read_text()
    assert "package index built" in log and "manual pages:" in log.splitlines()[-1]
    index = PackageIndex(state / "packages.db", models_dir=config.paths.models_dir)
    assert index.ensure().action == "unchanged"
    assert (state / "manuals.stamp").read_text() == status_stamp(index)
    assert open_store(config, index).count() > 0
