"""Requests that name their packages exactly ("install tree and htop") need no model at all.

After dropping filler words (install, please, the, and...), a request is exact
when every word left is a package in apt's index, or one of the few names
people use for a package that Debian calls otherwise (``docker`` means
``docker.io``), or, when the request speaks of commands ("I need the dig
command"), a command that a package puts on the PATH by apt's Contents files.
Anything else returns None and goes to the grounded planner.
"""

from __future__ import annotations

import itertools
import re

from cortex.packages.index import PackageIndex, open_index
from cortex.packages.vocabulary import ALIASES, FILLER

_WORD = re.compile(r"[a-z0-9][a-z0-9+.\-]*")
COMMAND_WORDS = frozenset({"command", "commands", "cmd"})


def request_words(request: str) -> list[str]:
    """The lower-case words of a request that could be package names, in order, filler removed."""
    words = _WORD.findall(request.lower().replace(",", " "))
    return [w.rstrip(".") for w in words if w.rstrip(".") not in FILLER]


def exact_packages(request: str, index: PackageIndex | None = None) -> list[str] | None:
    """The packages a request names exactly, in its order, or None when any word is not a package."""
    words = request_words(request)
    if not words:
        return None
    index = index or open_index()
    commands = bool(COMMAND_WORDS & set(_WORD.findall(request.lower())))  # only then is "dig" a command's name
    names: list[str] = []
    pairs = {f"{a} {b}": i for i, (a, b) in enumerate(itertools.pairwise(words)) if f"{a} {b}" in ALIASES}
    for i in sorted(pairs.values(), reverse=True):  # "docker compose" is one name
        words[i : i + 2] = [f"{words[i]} {words[i + 1]}"]
    for word in words:
        if word in ALIASES and index.exists(ALIASES[word]):
            name = ALIASES[word]
        elif index.exists(word):
            name = word
        elif commands and (owners := index.command_owners(word)):
            name = owners[0]
        else:
            return None
        if name not in names:
            names.append(name)
    return names
