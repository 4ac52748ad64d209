"""What a request asks to do with packages: install them, or remove them, read from the request's form.

A request is cut into clauses at "and", "then", commas and semicolons. A
clause's verb is its first word once politeness ("please", "could you", "I want
to", "sudo apt-get") is skipped; a clause without one carries on the verb before
it: "uninstall openssh-server and sudo" removes both. A removal verb counts
only when it governs package names ("remove nginx", "get rid of the package
htop"); "remove duplicate files" names none, so like "install a tool to remove
duplicate files" (where the verb is install) it describes a tool to install.
"uninstall" and "purge" only ever take packages, and a clause that carries on
a removal ("remove nginx and a web server") must name packages too: those are
refused with a clear message rather than guessed. "purge" or
"completely"/"fully" purges. Not caught: "remove the nginx web server" is read
as a description (an installed-name test misfires on "remove duplicate lines
from a file": ``file`` is an installed package).

A request that also installs ("remove nginx and install apache2") is one plan
whose steps follow the request's order. A request that removes nothing returns
None and goes to the install planner unchanged.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from cortex.install.exact import exact_packages, request_words
from cortex.packages.index import PackageIndex
from cortex.packages.spelling import edit_distance

REMOVE_VERBS = {"remove": "remove", "uninstall": "remove", "deinstall": "remove", "delete": "remove"}
REMOVE_VERBS |= {"erase": "remove", "get rid of": "remove", "purge": "purge"}
PACKAGES_ONLY = frozenset({"uninstall", "deinstall", "purge"})  # verbs that take nothing but packages
INSTALL_VERBS = frozenset({"install", "reinstall", "add", "get", "set up", "setup"})
PURGE_WORDS = frozenset({"completely", "fully", "entirely", "totally"})
PREAMBLE = frozenset(
    {"please", "pls", "kindly", "can", "could", "would", "will", "you", "i", "we", "i'd", "id", "want", "wanna"}
    | {"need", "like", "to", "help", "me", "us", "let's", "lets", "just", "also", "now", "then", "and", "so"}
    | {"sudo", "apt", "apt-get", "aptitude", "go", "ahead"}
    | PURGE_WORDS
)
_CLAUSES = re.compile(r"\s*(?:,|;|\band\b|\bthen\b|\bplus\b|&)\s*", re.I)
_TOKEN = re.compile(r"[\w'+.\-]+")


class IntentError(ValueError):
    """A removal the request's words cannot name packages for; the message says how to name them."""


@dataclass(frozen=True)
class Part:
    """One thing a request asks: install (``text`` goes to the install planner) or remove/purge ``names``."""

    action: str  # install | remove | purge
    text: str
    names: tuple[str, ...] = ()


def _verb(clause: str) -> tuple[str | None, str]:
    """The clause's verb as written (None when it has none) and the words after it."""
    tokens = _TOKEN.findall(clause.lower())
    i = 0
    while i < len(tokens) and tokens[i] in PREAMBLE:
        i += 1
    rest = tokens[i:]
    if rest and rest[0] != "uninstall" and edit_distance(rest[0], "uninstall", 1) <= 1:
        rest[0] = "uninstall"  # "uninstal", "unistall": nothing else is one edit from it ("remove" is from "remote")
    for verb in (*REMOVE_VERBS, *INSTALL_VERBS):
        size = len(verb.split())
        if rest[:size] == verb.split():
            return verb, " ".join(rest[size:])
    return None, " ".join(tokens)  # no verb: "sudo" in "uninstall openssh-server and sudo" is a name


def _refusal(verb: str, words: str) -> IntentError:
    return IntentError(
        f"to {verb} packages, name them exactly: {words!r} names no package (e.g. 'remove nginx'; "
        "'dpkg -l' lists what is installed)"
    )


def read_request(request: str, index: PackageIndex) -> list[Part] | None:
    """The request's parts in order when it removes packages; None when it only installs (or describes)."""
    clauses = [c for c in _CLAUSES.split(request.strip()) if c.strip()]
    parts: list[Part] = []
    previous: str | None = None
    removes = False
    for clause in clauses:
        verb, words = _verb(clause)
        carried = verb is None and previous in REMOVE_VERBS
        verb = verb or (previous if carried else None)
        if verb in REMOVE_VERBS:
            words = " ".join(w for w in words.split() if w not in PURGE_WORDS)
            named = exact_packages(words, index) if request_words(words) else None
            if named:
                purge = REMOVE_VERBS[verb] == "purge" or bool(PURGE_WORDS & set(_TOKEN.findall(clause.lower())))
                part = Part("purge" if purge else "remove", clause, tuple(named))
                if parts and parts[-1].action == part.action:  # "uninstall openssh-server and sudo": one step
                    last = parts.pop()
                    part = Part(part.action, f"{last.text} and {clause}", tuple(dict.fromkeys(last.names + part.names)))
                parts.append(part)
                previous, removes = verb, True
                continue
            if verb in PACKAGES_ONLY or carried:
                raise _refusal(verb, words or clause)
            verb = None  # "delete partitions": a description, whose verb no later clause carries on
        if parts and parts[-1].action == "install" and verb is None:
            parts[-1] = Part("install", f"{parts[-1].text} and {clause}")
        else:
            parts.append(Part("install", clause))
        previous = verb
    return parts if removes else None
