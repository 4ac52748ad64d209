"""Per-program rules: what one command (wrappers peeled off) would do to the machine.

Each rule module registers functions with :func:`rule` for the program names
it knows. A rule returns findings; an empty list means the command was
recognised and is harmless. Programs with no rule are allowed when they are in
``READ_ONLY`` and need confirmation otherwise.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from cortex.safety.protected import normalize
from cortex.safety.shell import Command, Word
from cortex.safety.verdict import Finding
from cortex.safety.wrappers import Invocation, names


@dataclass
class State:
    """What a whole command line builds up while it is checked: downloads, nesting depth."""

    check_text: Callable[[str, State, bool], list[Finding]]  # validate a nested command string
    check_command: Callable[[Command, State], list[Finding]]  # validate one simple command
    depth: int = 0
    downloads: set[str] = field(default_factory=set)  # files written by curl/wget earlier in the line
    written: dict[str, str | None] = field(default_factory=dict)  # file -> the text the line left in it, if known
    units: dict[str, str | None] = field(default_factory=dict)  # what a stopped unit or a link down takes away -> why
    firewall: dict[str, set[str]] = field(default_factory=dict)  # tool -> what the line does to it (rules.firewall)

    def nested(self, text: str, lenient: bool = False) -> list[Finding]:
        """Check a command string run by the outer command; ``lenient``: text that is not shell is ignored."""
        self.depth += 1
        try:
            return self.check_text(text, self, lenient)
        finally:
            self.depth -= 1

    def nested_lenient(self, text: str) -> list[Finding]:
        return self.nested(text, lenient=True)

    def check_words(self, words: list[Word], like: Command) -> list[Finding]:
        """Check a command a program runs for us (``find -exec``), with the surroundings of ``like``."""
        return self.check_command(Command(words, cwd=like.cwd, context=like.context), self)


@dataclass
class Context:
    cmd: Command
    inv: Invocation
    state: State

    @property
    def args(self) -> list[Word]:
        return self.inv.args

    def key(self, text: str) -> str:
        """A file's identity within one command line: absolute when known, else the normalized relative name."""
        return normalize(text, self.cmd.cwd) or posixpath.normpath(text)

    def paths(self, word: Word) -> list[str | None]:
        """Every absolute path ``word`` may name (None: relative to an unknown directory)."""
        return [normalize(alt, self.cmd.cwd) for alt in word.alts]

    def string_code(self, word: Word, what: str) -> list[Finding]:
        """Check a command string handed to a shell (``sh -c``, ``eval``, ``su -c``)."""
        if word.substituted or word.process:
            return [block(f"{what} runs code produced at run time by a command substitution", "critical")]
        if word.whole_dynamic:
            return [block(f"{what} runs code held in a variable, which cannot be checked")]
        return self.state.nested(word.text)


Rule = Callable[[Context], list[Finding]]
RULES: dict[str, Rule] = {}


def rule(*programs: str) -> Callable[[Rule], Rule]:
    def register(fn: Rule) -> Rule:
        for name in programs:
            RULES[name] = fn
        return fn

    return register


def block(reason: str, risk: str = "high") -> Finding:
    return Finding("block", risk, reason)


def confirm(reason: str, risk: str = "medium") -> Finding:
    return Finding("confirm", risk, reason)


def canonical(name: str) -> str:
    """'python3.11' -> 'python', 'mkfs.ext4' -> 'mkfs', 'perl5.36' -> 'perl'."""
    if name.startswith(("mkfs", "mke2fs")):
        return "mkfs"
    m = re.fullmatch(r"(python|perl|ruby|php|lua|pypy|node|tclsh|wish)[\d.]*(-\w+)?", name)
    if m:
        return {"pypy": "python"}.get(m.group(1), m.group(1))
    return name


def split_options(words: list[Word], with_value: frozenset[str] = frozenset()) -> tuple[set[str], list[Word]]:
    """Short flags (letters of every '-abc' cluster), long options, and the operands."""
    flags: set[str] = set()
    operands: list[Word] = []
    i = 0
    while i < len(words):
        text = words[i].text
        if text == "--":
            operands += words[i + 1 :]
            break
        if text.startswith("--"):
            flags.add(text.split("=", 1)[0])
            if text in with_value:
                i += 1
        elif text.startswith("-") and len(text) > 1:
            if text in with_value:
                flags.add(text)
                i += 1
            else:
                flags.update("-" + c for c in text[1:])
        else:
            operands.append(words[i])
        i += 1
    return flags, operands


def word(text: str) -> Word:
    return Word(text, [text], text)


# Programs that only read, print or compute: allowed without a rule.
READ_ONLY = names("""
    ls ll la dir vdir cat tac less more most head tail grep egrep fgrep rg ag ack zgrep zcat zless bzcat xzcat
    which whereis type file stat wc sort uniq cut tr paste join comm column fold fmt nl expand unexpand rev
    diff cmp colordiff sdiff echo printf pwd whoami id groups who w last lastlog users uptime date cal uname
    hostname df du free top htop btop atop ps pgrep pstree pidof lsof ss netstat ping ping6 traceroute tracepath
    mtr dig nslookup host whois lsblk blkid lscpu lsusb lspci lsmod lshw dmidecode dmesg env printenv man info
    help apropos whatis tldr true false test [ sleep seq basename dirname realpath readlink md5sum sha1sum
    sha256sum sha512sum b2sum cksum base32 xxd od hexdump strings jq yq tree nproc vmstat iostat mpstat sar
    sensors getent locale localectl tty stty arch getconf ldd nm objdump readelf size iotop iftop nethogs
    bmon glances neofetch screenfetch inxi lsns lslocks lsipc findmnt lsattr namei numfmt factor expr bc dc
    : cd pushd popd dirs clear reset exit logout true history wait jobs fg bg hash ulimit umask set shopt
    uptime tput nvidia-smi fastfetch curl-config pkg-config python3-config lsb_release hostid ncdu duf dust
    """)
