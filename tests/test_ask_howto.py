"""How-to answers on a small real index: this machine's manual pages, Debian's NAME lines, the bundled
embedder. The rules: every command comes from a page and says which; one that is not installed comes with its
package; a blocked one is never suggested; when nothing grounds an answer it says so."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from types import SimpleNamespace

import psutil
import pytest
from howto_support import PAGES

from cortex.ask import docs, howto
from cortex.ask.answer import answer
from cortex.ask.docs import DocHit, DocStore, open_store
from cortex.ask.facts import gather
from cortex.ask.questions import could_lead
from cortex.config import Config, load_config
from cortex.packages.index import ManualHit, PackageIndex
from cortex.packages.search import build_query
from cortex.providers.fake import FakeProvider
from cortex.safety import validator
from cortex.safety.verdict import Verdict


@pytest.mark.parametrize(
    ("question", "programs"),
    [
        ("How do I kill a process by its name?", {"pkill", "killall"}),
        ("list the block devices", {"lsblk"}),
        ("how much memory is free?", {"free"}),
    ],
)
def test_suggestions_come_from_installed_pages_with_their_source(
    small: tuple[PackageIndex, DocStore], question: str, programs: set[str]
) -> None:
    index, store = small
    result = howto.suggest(question, index, store)
    assert result.grounded
    first = result.suggestions[0]
    assert first.program.split()[0] in programs
    assert first.installed and first.cite == f"{first.program}({dict(PAGES)[first.program]})"
    assert f"`{first.command}` ({first.cite})" in result.text()


def test_a_program_that_is_not_installed_comes_with_its_package(small: tuple[PackageIndex, DocStore]) -> None:
    index, store = small
    result = howto.suggest("print out the mx records of a domain", index, store)
    mx = [s for s in result.suggestions if s.package == "ldnsutils"]
    assert mx and not mx[0].installed
    assert "not installed: sudo apt install ldnsutils" in result.text()


def test_a_blocked_command_is_never_suggested(
    small: tuple[PackageIndex, DocStore], monkeypatch: pytest.MonkeyPatch
) -> None:
    index, store = small
    question = "How do I kill a process by its name?"
    first = howto.suggest(question, index, store).suggestions[0].program
    real = validator.validate

    def blocking_it(command: str) -> Verdict:
        return Verdict(command, "block", "high", ["it ends the world"]) if command.startswith(first) else real(command)

    monkeypatch.setattr(validator, "validate", blocking_it)
    answer = howto.suggest(question, index, store)
    assert all(s.program != first for s in answer.suggestions)
    # The best match is not replaced in silence: the answer says why it is missing, and what follows is further off.
    assert answer.blocked == "it ends the world"
    assert answer.text().startswith("The closest match is blocked here (it ends the world), so it is not shown.")
    assert first not in answer.text().split("\n", 1)[0]
    lines = answer.text().split("\n")
    assert len(lines) == 1 + len(answer.suggestions)
    assert all(line.startswith(howto.ALLOWED if n == 0 else "Or") for n, line in enumerate(lines[1:]))


def test_when_every_match_is_blocked_the_answer_says_so_not_that_nothing_matched(
    small: tuple[PackageIndex, DocStore], monkeypatch: pytest.MonkeyPatch
) -> None:
    index, store = small
    monkeypatch.setattr(validator, "validate", lambda c: Verdict(c, "block", "high", ["no"]))
    answer = howto.suggest("How do I kill a process by its name?", index, store)
    assert not answer.suggestions and answer.blocked == "no"
    assert answer.text() == "The closest match is blocked here (no), so it is not shown."


def test_a_line_composed_amiss_is_not_reported_as_blocked_for_safety(
    small: tuple[PackageIndex, DocStore], monkeypatch: pytest.MonkeyPatch
) -> None:
    index, store = small
    monkeypatch.setattr(validator, "validate", lambda c: Verdict(c, "block", "high", [f"{validator.UNPARSEABLE}: x"]))
    answer = howto.suggest("How do I kill a process by its name?", index, store)
    assert not answer.suggestions and not answer.blocked and answer.text() == howto.NOTHING


@pytest.mark.parametrize(
    ("question", "caution"),
    [
        ("How do I kill a process by its name?", "stops processes"),
        ("how much memory is free?", None),  # read-only: nothing to mind
    ],
)
def test_a_command_that_changes_the_system_says_so(
    small: tuple[PackageIndex, DocStore], question: str, caution: str | None
) -> None:
    index, store = small
    first = howto.suggest(question, index, store).suggestions[0]
    if caution is None:
        assert first.verdict == "allow" and "Careful" not in first.line()
    else:
        assert first.verdict == "confirm" and f"Careful: {caution}" in first.line()


def test_nothing_grounded_says_so_in_one_line(small: tuple[PackageIndex, DocStore]) -> None:
    index, store = small
    result = howto.suggest("how do I frobnicate the quux gizmo", index, store)
    assert not result.grounded
    assert len(result.text().splitlines()) == 1 and "cortex model pull" in result.text()


def _suggestion(program: str, score: float) -> howto.Suggestion:
    return howto.Suggestion(f"{program} -x", program, f"{program}(1)", program, True, "Does things.", "", score)


@pytest.mark.parametrize(
    ("scores", "sure"),
    [((howto.SURE + 4, 1.0), True), ((howto.SURE - 4, howto.SURE + 9), False), ((0.0, howto.SURE - 4), True)],
)
def test_a_weak_best_match_is_shown_as_the_closest_not_as_the_way(scores: tuple[float, float], sure: bool) -> None:
    """The best suggestion leads; below SURE it is called the closest match (a proposal, score 0, is sure)."""
    found = howto.HowTo("q", [_suggestion("one", scores[0]), _suggestion("two", scores[1])])
    first, second = found.text().splitlines()
    assert found.sure is sure
    assert first.startswith("Use `one -x`" if sure else f"{howto.NOT_SURE} `one -x`")
    assert second.startswith("Or `two -x`")


def test_ask_json_says_when_its_commands_are_only_the_closest_match(
    small: tuple[PackageIndex, DocStore], monkeypatch: pytest.MonkeyPatch, config: Config
) -> None:
    index, _ = small
    question = "How do I kill a process by its name?"
    sure = answer(question, config, FakeProvider(reply="Ok."), index=index).to_dict()
    monkeypatch.setattr(howto, "SURE", 10_000.0)  # every real score is below it
    weak = answer(question, config, FakeProvider(reply="Ok."), index=index).to_dict()
    assert sure["weak_match"] is False and sure["lead"].startswith("Use `")
    assert weak["weak_match"] is True and weak["lead"].startswith(howto.NOT_SURE)
    assert [c["command"] for c in weak["commands"]] == [c["command"] for c in sure["commands"]]


@pytest.fixture
def config(embedder_dir: Path) -> Config:
    """This test's home, with the bundled embedder in its models directory."""
    config = load_config()
    config.paths.models_dir.mkdir(parents=True, exist_ok=True)
    for model in embedder_dir.glob("all-MiniLM-L6-v2*"):
        (config.paths.models_dir / model.name).symlink_to(model)
    return config


def test_ask_leads_with_the_grounded_commands_and_drops_invented_ones(
    small: tuple[PackageIndex, DocStore], config: Config
) -> None:
    index, _ = small
    question = "How do I kill a process by its name?"
    reply = "You can also run `frobkill --name X`. It matches process names."
    children = psutil.Process().children(recursive=True)  # a session's llama-server may be one
    result = answer(question, config, FakeProvider(reply=reply), index=index)
    assert result.lead.startswith("Use `")
    assert result.howto is not None and result.howto.suggestions
    text = result.text()
    assert "frobkill" not in text and text.endswith("It matches process names.")
    document = result.to_dict()
    assert document["commands"][0]["source"].endswith(")")
    for name in howto.commands_in(text):
        assert shutil.which(name) or "apt install" in text
    # A question that cannot lead has its facts' commands (dpkg-query, man -f) run in another thread while its
    # commands are searched: the same facts, and every process waited for (no zombie).
    assert not could_lead(question)
    facts = [f.text for f in result.facts if f.topic != "howto"]
    assert facts == [f.text for f in gather(question, index)][: len(facts)]
    assert any(f.topic == "command" and f.data["name"] == "kill" for f in result.facts)  # man -f ran
    assert psutil.Process().children(recursive=True) == children


@pytest.mark.parametrize(
    ("synopsis", "usage"),
    [
        ("adduser [--home dir] [--ingroup group] user group", "adduser user group"),
        ("lsblk [options] [device...]", "lsblk"),
        ("apt-get [-asqdyfmubV] {update | upgrade | install pkg...}", ""),  # a grammar, not a command
        ("ip [ OPTIONS ] OBJECT { COMMAND |  help }", ""),
        ("OPTIONS := {  -V[ersion] | -h[uman-readable] }", ""),
        ("dpkg-query [option...] command", ""),  # the action is the option chosen (-L), not a word "command"
        ("systemctl [OPTIONS...] COMMAND [UNIT...]", ""),
    ],
)
def test_only_synopsis_lines_that_are_commands_become_invocations(synopsis: str, usage: str) -> None:
    assert howto._usage(synopsis) == usage


@pytest.mark.parametrize(
    ("question", "example", "adapted"),
    [
        ("convert unix timestamp 1700000000 to a date", "date --date='@2147483647'", "date --date='@1700000000'"),
        ("what is keeping /mnt/data busy", "findmnt --mountpoint /mnt/foo", "findmnt --mountpoint /mnt/data"),
        ("big files under /var and /srv", "find /tmp /home -size +100M", "find /var /srv -size +100M"),
        ("big files under /var", "find /tmp /home -size +100M", "find /var -size +100M"),  # not the example's /home
        ("show the page size", "getconf PAGESIZE", "getconf PAGESIZE"),  # nothing to replace
        ("files under /var", "du -sh 2048", "du -sh 2048"),  # a number, but the question names none
    ],
)
def test_examples_take_the_values_the_question_names(
    small: tuple[PackageIndex, DocStore], question: str, example: str, adapted: str
) -> None:
    index, _ = small
    assert howto._adapt(example, howto.values(question, index)) == adapted


JOURNALCTL_U = DocHit(
    "journalctl", "1", "option", "-u, --unit=UNIT|PATTERN", "Show messages for the unit", ("UNIT",), 1.0
)


@pytest.mark.parametrize(
    ("question", "example", "adapted"),
    [
        ("tail the logs of myapp.service live", "journalctl -f -u apache", "journalctl -f -u myapp"),
        ("errors of the cron service", "journalctl --unit=apache -p err", "journalctl --unit=cron -p err"),
        ("logs of the ssh service", "journalctl -f", "journalctl -f"),  # no place for it in the example
        ("list whats inside archive.zip", "unzip -l file.zip", "unzip -l archive.zip"),
        ("unpack backup.tar.gz here", "tar -xzf foo.tar.gz", "tar -xzf backup.tar.gz"),
        ("unpack backup.tar.gz here", "unzip -l file.zip", "unzip -l file.zip"),  # not the same kind of file
        ("which process is using port 8080", "fuser telnet/tcp", "fuser 8080/tcp"),
        ("which process is using port 8080", "kill 123 543", "kill 123 543"),  # a port is no PID
        ("stop process 4321", "kill 123 543 2341", "kill 4321"),  # the example's other PIDs are not the user's
        ("kill 4321 and 4322", "kill 123 543 2341", "kill 4321 4322"),
        # options that name more of the example's own targets go with them; options that do not stay
        ("lower the priority of pid 4711", "renice +1 987 -u daemon root -p 32", "renice +1 4711"),
        (
            "delete core files in /srv",
            "find /tmp -name core -print | xargs /bin/rm -f",
            "find /srv -name core -print | xargs /bin/rm -f",
        ),
        ("who listens on udp port 53", "fuser -v ntp/udp", "fuser -v 53/udp"),
        ("who uses the ntp port", "fuser -v ntp/udp", "fuser -v ntp/udp"),  # no port number named
    ],
)
def test_examples_take_the_values_their_options_and_files_stand_for(
    small: tuple[PackageIndex, DocStore], question: str, example: str, adapted: str
) -> None:
    index, _ = small
    places = howto._places([JOURNALCTL_U])
    assert howto._adapt(example, howto.values(question, index), places) == adapted


@pytest.mark.parametrize(
    ("question", "unit"),
    [
        ("tail the logs of myapp.service live", "myapp"),
        ("when does logrotate.timer run next", "logrotate"),
        ("restart the nginx service", "nginx"),
    ],
)
def test_a_unit_named_with_its_suffix_is_the_unit(
    small: tuple[PackageIndex, DocStore], question: str, unit: str
) -> None:
    index, _ = small
    assert howto.values(question, index).by_kind["unit"] == unit


@pytest.mark.parametrize(
    ("command", "parts"),
    [
        ("find /tmp -name core -print | xargs rm -f", ("find /tmp -name core -print", "| xargs rm -f")),
        ("start-stop-daemon --stop --name food \\", ("start-stop-daemon --stop --name food", "\\")),
        ("make && make install", ("make", "&& make install")),
        ("ls -l", ("ls -l", "")),
        ("grep 'a|b' file", ("grep 'a|b' file", "")),  # a bar inside a word is no pipe
    ],
)
def test_options_go_to_the_first_program_of_a_command_line(command: str, parts: tuple[str, str]) -> None:
    assert howto._own_part(command) == parts


@pytest.mark.parametrize(
    ("question", "user"),
    [
        ("recursively chown /srv/www to www-data", "www-data"),  # an account whose name is no word
        ("run psql as the postgres user", "postgres"),  # "the X user" when X is an account here
        ("give root a new password", "root"),
        ("lock the account of user dave", "dave"),
        ("restore the backup files", None),  # "backup" is an account too, but here a word
        ("add a new user", None),
    ],
)
def test_an_account_of_this_machine_is_a_user_value(
    small: tuple[PackageIndex, DocStore], question: str, user: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    index, _ = small
    fake = {"root": 0, "backup": 34, "www-data": 33, "postgres": 108, "nobody": 65534}
    monkeypatch.setattr(howto, "accounts", lambda: fake)
    monkeypatch.setattr(howto, "people_accounts", lambda: frozenset({"root", "www-data"}))
    assert howto.values(question, index).by_kind.get("user") == user


def test_an_example_s_account_is_replaced_by_the_user_the_question_names(small: tuple[PackageIndex, DocStore]) -> None:
    index, _ = small
    named = howto.values("recursively chown /srv/www to user alice", index)
    assert howto._adapt("chown -hR root /u", named) == "chown -hR alice /srv/www"


@pytest.mark.parametrize(
    ("command", "flag", "has"),
    [("chown -hR root /u", "-R", True), ("chown -hR root /u", "-v", False), ("journalctl --unit=x", "--unit", True),
     ("ps --pid 1", "-p", False), ("find . -exec rm", "-e", True)],
)  # fmt: skip
def test_a_flag_already_given_alone_or_in_a_cluster_is_not_added_again(command: str, flag: str, has: bool) -> None:
    assert howto._has(command, flag) is has


PASSWD = howto._Page(ManualHit("passwd", "passwd", "1", ("passwd",), "change user password", True, 1.0))
PASSWD.entries = [
    DocHit("passwd", "1", "option", "-e, --expire", "Immediately expire an account's password", (), 1.0, row=1),
    DocHit("passwd", "1", "option", "-R, --root DIR", "Run in the chroot DIR", ("DIR",), 1.0, row=2),
    DocHit("passwd", "1", "usage", "passwd [options] [LOGIN]", "", (), 0.0),
]
PASSWD.sims = {1: 0.7, 2: 0.1}


@pytest.mark.parametrize(
    ("question", "command"),
    [
        ("force user dave to change password on next login", "passwd -e dave"),  # the synopsis' place for a user
        ("expire the password now", "passwd -e"),  # no user named: nothing to add
        ("expire the password of user dave in /srv/jail", "passwd -e dave"),  # -R takes the path, means nothing asked
    ],
)
def test_a_value_the_question_names_goes_where_the_synopsis_has_a_place_for_it(
    small: tuple[PackageIndex, DocStore], question: str, command: str
) -> None:
    index, _ = small
    named = howto.values(question, index)
    query = howto.question_query(question, index, named, None)
    assert howto._invocation(PASSWD, "passwd", query, named, set())[0] == command


@pytest.mark.parametrize(
    ("question", "placeholder", "value"),
    [
        ("set the timezone to Europe/Berlin", "TIMEZONE", "Europe/Berlin"),
        ("route 10.20.0.0/16 through the vpn", "PREFIX", "10.20.0.0/16"),
        ("set the timezone to Berlin time", "TIMEZONE", None),  # no value shaped like one: stays a placeholder
    ],
)
def test_a_placeholder_no_word_names_takes_a_value_shaped_like_none(
    small: tuple[PackageIndex, DocStore], question: str, placeholder: str, value: str | None
) -> None:
    index, _ = small
    assert howto.values(question, index).fill(placeholder, "timedatectl") == value


@pytest.mark.parametrize(
    ("entities", "placeholder", "command", "value"),
    [
        (["rsync"], "NAME", "killall", "rsync"),
        (["killall", "rsync"], "NAME", "killall", "rsync"),  # not the program itself
        (["check", "db1"], "HOST", "ssh", "db1"),  # "check" is a package's name too; "db1" is shaped like a name
        (["units"], "[PATTERN...]", "list-units", None),  # "list failed systemd units": the sub-command says it
        (["db1", "db2"], "HOST", "scp db1", "db2"),  # a value fills one place
        (["db1"], "NAME", "", None),
    ],
)
def test_a_name_placeholder_takes_a_name_the_command_does_not_already_say(
    entities: list[str], placeholder: str, command: str, value: str | None
) -> None:
    assert howto.Values(entities=entities).fill(placeholder, command) == value


def test_a_sub_command_that_says_the_name_takes_no_argument_for_it(small: tuple[PackageIndex, DocStore]) -> None:
    index, _ = small
    page = howto._Page(ManualHit("systemd", "systemctl", "1", ("systemctl",), "Control systemd", True, 1.0))
    page.entries = [DocHit("systemctl", "1", "command", "list-units [PATTERN...]", "List units", (), 1.0)]
    named = howto.Values(entities=["units"])  # "units" is a Debian package's name
    query = howto.question_query("list failed systemd units", index, named, None)
    assert howto._invocation(page, "systemctl", query, named, set())[0] == "systemctl list-units"


def test_the_installed_page_wins_over_an_archive_namesake() -> None:
    archive = ManualHit("systemctl", "systemctl", "1", ("systemctl",), "manage services without systemd", False, 2.0)
    installed = ManualHit("systemd", "systemctl", "1", ("systemctl",), "Control the systemd system", True, 1.0)
    for order in ((archive, installed), (installed, archive)):
        pages: dict[tuple[str, str], howto._Page] = {}
        for manual in order:
            howto._add_page(pages, manual).name_sim = 0.5
        assert pages[("systemctl", "1")].manual is installed and pages[("systemctl", "1")].name_sim == 0.5


@pytest.mark.parametrize(
    ("question", "entry", "command"),
    [
        ("list the timers", "list-timers [PATTERN...]", "systemctl list-timers"),  # optional, not named: left out
        ("restart the nginx service", "restart UNIT...", "systemctl restart nginx"),
        ("show the status of the nginx service", "status [PATTERN...|PID...]", "systemctl status nginx"),
        ("enable the nginx service at boot", "enable UNIT..., enable PATH...", "systemctl enable nginx"),  # a list
    ],
)
def test_a_sub_command_takes_an_optional_argument_only_when_the_question_names_it(
    small: tuple[PackageIndex, DocStore], question: str, entry: str, command: str
) -> None:
    index, _ = small
    page = howto._Page(ManualHit("systemd", "systemctl", "1", ("systemctl",), "Control systemd", True, 1.0))
    page.entries = [DocHit("systemctl", "1", "command", entry, "the entry", (), 1.0)]
    named = howto.values(question, index)
    query = howto.question_query(question, index, named, None)
    assert howto._invocation(page, "systemctl", query, named, set())[0] == command


@pytest.mark.parametrize(
    "question",
    ["How do I kill a process by its name?", "show free disk space on /home", "which process listens on port 80",
     "list the block devices", "how much memory is free?"],
)  # fmt: skip
def test_pages_are_composed_only_while_they_can_still_be_suggested(
    small: tuple[PackageIndex, DocStore], question: str
) -> None:
    # The bound that lets suggest() skip composing a page never falls below the score the page gets composed, so
    # the pages it skips could never have been suggested.
    index, store = small
    named = howto.values(question, index)
    query = howto.question_query(question, index, named, store)
    vector = index.vectors.encode(question)
    near = howto._near_hits(index, store, vector)
    pages = howto._candidates(howto._word_hits(query, index, store), near, index, store, vector)
    composed = {f.manual.cite: howto.score(f) for f in howto.features(pages, query, named, index)}
    assert 0 < len(composed) <= len(pages)
    for page in pages.values():
        program, name_cover, signals = howto._page_signals(page, query, {page.manual.package: 3}, 1.0)
        exact = howto.score(howto._compose(page, program, name_cover, signals, query, named))
        assert howto._upper_bound(page, signals, named) >= exact - 1e-9, page.manual.cite
    best = max(composed.values())
    assert all(score >= 0 for score in composed.values()) and best > 0


def test_a_store_of_an_older_layout_is_parsed_again(
    tmp_path: Path, embedder_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A new layout drops the old tables; dpkg's status alone would say nothing changed and leave them empty."""

    class Installed:  # what open_store asks of the package index
        def status_stamp(self) -> str:
            return "dpkg status 1"

        def installed_command_pages(self) -> list[tuple[str, str]]:
            return [("free", "1"), ("df", "1")]

    config = SimpleNamespace(paths=SimpleNamespace(state_dir=tmp_path, models_dir=embedder_dir))
    before = open_store(config, Installed()).count()
    assert before > 0
    monkeypatch.setattr(docs, "SCHEMA_VERSION", docs.SCHEMA_VERSION + 1)
    assert open_store(config, Installed()).count() == before


@pytest.mark.parametrize(
    ("question", "named"),
    [
        ("send SIGHUP to pid 1234", {"pid": "1234", "signal": "SIGHUP"}),
        ("strace process 999 to see which files it opens", {"pid": "999"}),
        ("lock the account tmpuser, dont delete it", {"user": "tmpuser"}),
        ("lock the account of user dave", {"user": "dave"}),  # "account of" names no one
        ("kill the process by its name", {}),
        ("why does sigterm not stop it", {"signal": "SIGTERM"}),
        ("lock bob's account, he left", {"user": "bob"}),  # what belongs to an account names it
        ("expire carol’s password now", {"user": "carol"}),
        ("show alice's crontab", {"user": "alice"}),
        ("where is nginx's config file", {}),  # a program's, not an account's
        ("add alice to the sudo group", {"user": "alice", "group": "sudo"}),  # who joins which group
        ("remove bob from group web-admins", {"user": "bob", "group": "web-admins"}),
        ("add user deploy to group docker", {"user": "deploy", "group": "docker"}),
        ("put carol in the adm group", {"user": "carol", "group": "adm"}),
        ("add a user to the sudo group", {"group": "sudo"}),  # "a user" names no one
    ],
)
def test_pids_signals_and_accounts_are_values(
    small: tuple[PackageIndex, DocStore], question: str, named: dict[str, str]
) -> None:
    index, _ = small
    found = howto.values(question, index).by_kind
    assert {k: v for k, v in found.items() if k in ("pid", "signal", "user", "group")} == named


@pytest.mark.parametrize(
    ("question", "words"),
    [
        ("lock the account tmpuser, dont delete it", {"delete", "dont"}),
        ("add 10.0.0.2/24 to eth1 (doesnt need to survive reboot)", {"survive", "doesnt"}),
        ("remove the package but do not purge its config", {"purge", "do"}),
        ("delete old files in /tmp", set()),
    ],
)
def test_what_a_question_says_not_to_do_is_not_asked_for(question: str, words: set[str]) -> None:
    assert howto.negated(question) == words


@pytest.mark.parametrize(
    ("line", "flags", "place"),
    [
        ("usermod [options] LOGIN", ["-L"], 1),
        ("grep [OPTION...] PATTERNS [FILE...]", ["-r", "-l"], 1),
        ("docker logs [OPTIONS] CONTAINER", ["-f"], 2),
        ("mount -a [-fFnrsvw] [-t fstype] [-O optlist]", ["-t"], 2),
        ("find [-H] [-L] [-P] [-D debugopts] [starting-point...] [expression]", ["-mtime"], None),  # after paths
        ("passwd LOGIN", ["-e"], None),
    ],
)
def test_options_go_where_the_synopsis_puts_them(line: str, flags: list[str], place: int | None) -> None:
    assert howto._option_place(line, flags) == place


def test_a_signal_and_a_pid_make_one_kill_command_with_its_options_first(small: tuple[PackageIndex, DocStore]) -> None:
    index, store = small
    first = howto.suggest("send SIGHUP to pid 1234", index, store).suggestions[0]
    assert first.program == "kill"
    assert re.fullmatch(r"kill (-s|--signal) SIGHUP 1234", first.command), first.command


def _concepts(question: str, text: str) -> tuple[set[str], set[str]]:
    query = build_query(question, join=True)
    query.unwanted = howto.without(question, query)
    covered, against = howto._coverage(query, text)
    return {query.groups[i][0] for i in covered}, {query.groups[i][0] for i in against}


@pytest.mark.parametrize(
    ("question", "text", "covered", "against"),
    [  # an option that does the opposite of what was asked
        ("hold linux-image-amd64", "--ignore-hold Ignore package holds; this causes apt-get to ignore a hold", set(),
         {"hold"}),
        ("create a user with a home directory", "--no-create-home Do not create the home directory", set(),
         {"create", "home", "directory"}),
        ("show the journal", "--no-pager Do not pipe output into a pager.", set(), set()),
        # ...is what was asked when the question asks to be without it
        ("create system user prometheus, no home dir", "-M Do not create the user's home directory, even if set",
         {"create", "user", "home"}, set()),
        ("show the journal without the pager", "--no-pager Do not pipe output into a pager.", {"pager"}, set()),
        ("prevent linux-image-amd64 from being upgraded", "--no-upgrade Do not upgrade packages", {"upgraded"}, set()),
        # a later sentence qualifies what the first one does
        ("reload nginx config", "reload PATTERN Asks units to reload their configuration. Note that this reloads "
         "the service's configuration, not the unit configuration file.", {"reload", "config"}, set()),
    ],
)  # fmt: skip
def test_an_entry_that_says_it_does_not_do_what_was_asked_contradicts_it(
    question: str, text: str, covered: set[str], against: set[str]
) -> None:
    got_covered, got_against = _concepts(question, text)
    assert got_covered >= covered and not got_covered & against
    assert got_against >= against and (got_against or not against)
    assert against or not got_against


def test_an_option_that_does_the_opposite_is_never_added(small: tuple[PackageIndex, DocStore]) -> None:
    """ss(8) has "-r, --resolve" and "-n, --numeric: Do not try to resolve service names"."""
    index, store = small
    for suggestion in howto.suggest("show listening sockets and resolve the host names", index, store).suggestions:
        assert not re.search(r"\s(-n|--numeric)\b", suggestion.command), suggestion.command


TAIL = howto._Page(ManualHit("coreutils", "tail", "1", ("tail",), "output the last part of files", True, 1.0))
TAIL.entries = [
    DocHit("tail", "1", "option", "--pid=PID", "with -f, terminate after process ID, PID dies", ("PID",), 1.0, row=1),
    DocHit("tail", "1", "usage", "tail [OPTION]... [FILE]...", "", (), 0.0),
]
TAIL.sims = {1: 0.7}


@pytest.mark.parametrize("question", ["terminate pid 777", "terminate the process when it is done"])
def test_a_pid_option_of_a_program_acting_on_something_else_shows_its_placeholder_unfilled(
    small: tuple[PackageIndex, DocStore], question: str
) -> None:
    index, _ = small
    named = howto.values(question, index)
    query = howto.question_query(question, index, named, None)
    assert howto._invocation(TAIL, "tail", query, named, set())[0] == "tail --pid PID"


@pytest.mark.parametrize(
    ("synopsis", "acts"),
    [
        (["kill [options] <pid> [...]"], True),
        (["ps [options]"], True),  # only options: a PID option is how it is told the process
        (["taskset [options] mask command [argument...]", "taskset [options] -p [mask] pid"], True),
        ([], True),  # no synopsis: nothing says otherwise
        (["tail [OPTION]... [FILE]..."], False),  # tail --pid=PID: stop following when that process dies
        (["pgrep [options] pattern"], False),  # pgrep --ns PID: processes in the same namespaces as it
        (["skill [signal] [options] expression"], False),
    ],
)
def test_a_pid_fills_an_option_only_where_the_program_acts_on_that_process(synopsis: list[str], acts: bool) -> None:
    assert howto._acts_on_pids(synopsis) is acts


@pytest.mark.parametrize(
    ("example", "command", "text", "retold"),
    [
        ("find /tmp -name core -print", "find /srv -name core -print", "Find files named core in /tmp.",
         "Find files named core in /srv."),
        ("journalctl -f -u apache", "journalctl -f -u myapp", "Show a live log of the service apache.service:",
         "Show a live log of the service myapp.service:"),
        # it names what the command no longer has: the page's NAME line is shown instead
        ("renice +1 987 -u daemon root -p 32", "renice +1 4711", "Change the priority of PIDs 987 and 32, plus all "
         "processes of the users daemon and root.", ""),
        ("kill 123 543 2341", "kill 4321", "Send SIGTERM to 123, 543 and 2341.", ""),
        ("ls -l", "ls -l --sort=size", "List in long format.", "List in long format."),  # an option added
    ],
)  # fmt: skip
def test_an_adapted_example_is_described_with_the_question_s_values(
    example: str, command: str, text: str, retold: str
) -> None:
    assert howto._retold(example, command, text) == retold


def test_a_unit_named_with_its_suffix_is_a_value_not_a_concept(small: tuple[PackageIndex, DocStore]) -> None:
    index, store = small
    named = howto.values("tail the logs of myapp.service live", index)
    query = howto.question_query("tail the logs of myapp.service live", index, named, store)
    assert named.by_kind["unit"] == "myapp"
    assert all("myapp.service" not in group for group in query.groups)


@pytest.mark.parametrize(
    ("question", "spelt"),
    [
        ("show free memroy", "show free memory"),  # two letters swapped
        ("kill a proces by its name", "kill a process by its name"),  # one left out
        ("oops, the backup is hogging memory", "oops, the backup is hogging memory"),  # not "loops", not "logging"
        ("list block devices", "list block devices"),
    ],
)
def test_a_misspelt_word_is_put_right_from_the_documentation_and_the_embedder_s_words(
    small: tuple[PackageIndex, DocStore], question: str, spelt: str
) -> None:
    index, store = small
    query = howto.question_query(question, index, howto.values(question, index), store)
    assert howto.respelt(question, query, index, store) == spelt


@pytest.mark.parametrize(
    ("question", "command", "foreign"),
    [
        ("follow the journal for postgresql.service",
         "journalctl _SYSTEMD_UNIT=avahi-daemon.service _PID=28097 + _SYSTEMD_UNIT=dbus.service", True),
        ("follow the journal for postgresql.service", "journalctl -f -u postgresql", False),
        ("follow the journal for postgresql.service", "journalctl _SYSTEMD_UNIT=postgresql.service", False),
        ("show the kernel log", "journalctl _SYSTEMD_UNIT=dbus.service", False),  # no unit asked: an example
    ],
)  # fmt: skip
def test_an_example_about_other_units_than_the_question_s_is_not_its_answer(
    small: tuple[PackageIndex, DocStore], question: str, command: str, foreign: bool
) -> None:
    index, _ = small
    assert howto._foreign_units(command, howto.values(question, index)) is foreign


@pytest.mark.parametrize(
    ("tag", "flag"),
    [
        ("-u, --unit=UNIT|PATTERN", ("-u", "UNIT")),
        ("-E, --expiredate\xa0EXPIRE_DATE", ("-E", "EXPIRE_DATE")),  # mandoc keeps an option and its argument
        ("-n\xa0NUM", ("-n", "NUM")),  # together with a no-break space
        ("-d, --lastday LAST_DAY", ("-d", "LAST_DAY")),
        ("-f, --follow", ("-f", "")),
    ],
)
def test_an_option_s_flag_and_placeholder(tag: str, flag: tuple[str, str]) -> None:
    assert howto._flag(tag) == flag


@pytest.mark.parametrize(
    ("placeholder", "value"),
    [("LOGIN", "bob"), ("[LOGIN]", "bob"), ("USER", "bob"), ("NEW_LOGIN", None)],  # usermod -l: the name to get
)
def test_the_account_a_question_names_fills_its_placeholders_not_the_name_it_is_to_get(
    placeholder: str, value: str | None
) -> None:
    assert howto.Values(by_kind={"user": "bob"}).fill(placeholder) == value


@pytest.mark.parametrize(
    ("question", "tag", "text", "named"),
    [
        ("journal of cron.service since yesterday", "-S, --since=, -U, --until=",
         'Start showing entries on or newer than the specified date. The strings "yesterday", "today" are understood.',
         ("--since", "yesterday")),
        ("nginx logs until 2024-05-01 please", "-S, --since=, -U, --until=", "", ("--until", "2024-05-01")),
        ("du of /var with max depth 1", "-d, --max-depth=N", "", ("--max-depth", "1")),
        ("find files under /srv, maxdepth 2", "-maxdepth levels", "", ("-maxdepth", "2")),
        ("show the last 50 lines of the journal", "-n, --lines=", "", ("--lines", "50")),
        ("ed25519 key with comment admin@web01", "-C comment", "Provides a new comment.", ("-C", "admin@web01")),
        ("make a 4096 bits rsa key", "-b bits", "", ("-b", "4096")),  # by its argument's name
        ("create bob with a home dir", "-d, --home-dir HOME_DIR", "", None),  # "dir" is no value
        ("logs since the last boot", "-S, --since=, -U, --until=", "", None),  # "the" is no value either
        ("compress /var/log/huge.log", "-z, --compress", "Compress.", None),  # an option that takes none
        ("remove apache2 completely", "--remove", "Remove the files.", None),
    ],
)  # fmt: skip
def test_an_option_the_question_names_with_a_value_takes_it(
    small: tuple[PackageIndex, DocStore], question: str, tag: str, text: str, named: tuple[str, str] | None
) -> None:
    index, _ = small
    assert howto.values(question, index).by_name(tag, text) == named


@pytest.mark.parametrize(
    ("question", "value"),
    [
        ("change ownership of /var/www/shop to www-data:www-data", "www-data"),
        ("restart the redis-server service", "redis-server"),
        ("add user deploy-bot to the docker group", "deploy-bot"),
    ],
)
def test_a_value_with_a_hyphen_is_not_also_a_concept_to_cover(
    small: tuple[PackageIndex, DocStore], question: str, value: str
) -> None:
    index, store = small
    named = howto.values(question, index)
    assert value in named.by_kind.values()
    assert all(value not in group for group in howto.question_query(question, index, named, store).groups)
