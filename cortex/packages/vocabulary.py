"""The word lists of the ranking and of exact names, read from ``data/vocabulary.json`` and ``data/popular.json``.

Data, not code: what people say for a kind of software ("record my screen" ->
"screencast"), which words carry no meaning in a request, which name parts
mark a library or a plugin, and a popularity prior where popcon is absent.
Each list earned its place by measurement (``scripts/fit_ranking.py``,
docs/ARCHITECTURE.md).
"""

from __future__ import annotations

import json
from pathlib import Path

DATA = Path(__file__).parent / "data"
_words = json.loads((DATA / "vocabulary.json").read_text(encoding="utf-8"))
_popular = json.loads((DATA / "popular.json").read_text(encoding="utf-8"))

STOP_WORDS = frozenset(_words["stop_words"])
# Intent words -> words and phrases Debian's package descriptions use for that kind of software; keys are single
# words or space-joined pairs of consecutive content words.
INTENTS: dict[str, tuple[str, ...]] = {k: tuple(v) for k, v in _words["intents"].items()}
WANTS_DEV = frozenset(_words["wants_dev"])  # words that make parts of a package welcome instead of penalised
WANTS_DOC = frozenset(_words["wants_doc"])
ECOSYSTEM_PREFIXES: dict[str, str] = _words["ecosystem_prefixes"]  # name prefix -> the topic that asks for it
PART_SUFFIXES = tuple(_words["part_suffixes"])
PART_SECTIONS = frozenset(_words["part_sections"])
PLUGIN_WORDS = frozenset(_words["plugin_words"])
SUITE_WORDS = frozenset(_words["suite_words"])
SERVER_TAGS = tuple(_words["server_tags"])  # Debian's debtags for servers and web applications
SERVER_WORDS = frozenset(_words["server_words"])
TERMINAL_WORDS = frozenset(_words["terminal_words"])
GRAPHICAL_WORDS = frozenset(_words["graphical_words"])
FILLER = frozenset(_words["filler"])  # words of a request that name no package ("install", "please", "the")
ALIASES: dict[str, str] = _words["aliases"]  # what people type -> the Debian package they mean
# The default pick of each kind of software, and the mainstream programs (which include the defaults).
DEFAULTS = frozenset(_popular["defaults"])
POPULAR = DEFAULTS | frozenset(_popular["popular"])
LIBRARY_PREFIXES = ("lib", *ECOSYSTEM_PREFIXES)


def is_part(name: str) -> bool:
    """Whether a package name marks a part of a program: a library, a language binding, -dev, -doc..."""
    return name.startswith(LIBRARY_PREFIXES) or name.endswith(PART_SUFFIXES)
