"""Misspelt request words, corrected to words apt's own index uses: "instal wireshrk" -> "install wireshark".

A typo ruins a grounded plan twice: the exact-name path misses the package,
and full-text search finds nothing or something odd. A word is corrected only
when the index has never heard of it or of the word it is made from (no package
name, summary, description or AppStream text contains it: "scannable" is known
by "scan"), and only to a word of the package names,
summaries and AppStream titles (``PackageIndex.vocabulary``) within one edit
(two for words of eight letters or more; a swap of neighbours is one edit).
Among equally close words the one more packages use wins, so "servr" becomes
"server". The first letter is kept: people rarely mistype it, and it keeps the
search to a few thousand words.

The word it becomes must be common (used by ``COMMON`` packages or more) or a
mainstream program's name (popular.py): software Debian does not carry is
often one letter from an obscure package ("minikube" and minitube, "lutris"
and ltris), and "no package matches 'minikube'" is the right answer then.
"""

from __future__ import annotations

import re

from cortex.packages.index import PackageIndex, fts_query
from cortex.packages.vocabulary import POPULAR

MIN_LENGTH = 5  # shorter words are too often abbreviations or names ("smth", "gcc") to guess at
LONG_WORD = 8  # from this length on, two edits are allowed
COMMON = 10  # packages whose name or summary must use a word before a typo may become it
SUFFIXES = ("ability", "able", "ible", "ing", "ed", "er", "ers", "ness", "less", "ment", "ly", "es", "s")
_WORD = re.compile(r"\b[a-z][a-z0-9]*\b")  # found and replaced alike: not "wireshrk" inside "2wireshrk"


def edit_distance(a: str, b: str, limit: int) -> int:
    """Optimal string alignment distance (insert, delete, substitute, swap neighbours); ``limit + 1`` once
    it is certain to exceed ``limit``."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    before: list[int] = []
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        row = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            row[j] = min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (ca != cb))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                row[j] = min(row[j], before[j - 2] + 1)
        if min(row) > limit:
            return limit + 1
        before, prev = prev, row
    return prev[-1]


def known(word: str, index: PackageIndex) -> bool:
    """Whether the index uses ``word``, or a common word it is made from: "scannable" is "scan" + "able",
    "grepped" "grep" + "ed" (a doubled consonant or a dropped "e" undone), not typos of "scalable" and "gripped".
    The word must be common: a rare three- or four-letter base inside a typo proves nothing."""
    if index.frequency(fts_query([word])) > 0:
        return True
    for suffix in SUFFIXES:
        base = word.removesuffix(suffix)
        if base == word or len(base) < 3:
            continue
        bases = {base, base + "e", base[:-1] if base[-1] == base[-2] else base}
        if any(index.frequency(fts_query([b])) >= COMMON for b in bases if len(b) >= 3):
            return True
    return False


def suggestion(word: str, index: PackageIndex) -> str | None:
    """The word ``word`` was probably meant to be, or None when it is known, too short, or nothing is close."""
    if len(word) < MIN_LENGTH or known(word, index):
        return None  # the usual case, decided without the vocabulary (half a second to build)
    vocabulary = index.vocabulary()
    if word in vocabulary:
        return None
    limit = 2 if len(word) >= LONG_WORD else 1
    best: tuple[int, int, str] | None = None
    for candidate, count in vocabulary.items():
        if candidate[0] != word[0] or abs(len(candidate) - len(word)) > limit:
            continue
        if count < COMMON and candidate not in POPULAR:
            continue
        distance = edit_distance(word, candidate, limit)
        if distance <= limit and (best is None or (distance, -count) < best[:2]):
            best = (distance, -count, candidate)
    return best[2] if best else None


def correct(request: str, index: PackageIndex) -> tuple[str, dict[str, str]]:
    """``request`` with its misspelt words replaced, and what was replaced by what."""
    fixes: dict[str, str] = {}
    for word in set(_WORD.findall(request.lower())):
        fix = suggestion(word, index)
        if fix:
            fixes[word] = fix
    if not fixes:
        return request, {}
    pattern = re.compile(r"\b(" + "|".join(map(re.escape, fixes)) + r")\b", re.I)
    return pattern.sub(lambda m: fixes[m.group(1).lower()], request), fixes
