"""Unicode in a request, made safe before any name is matched: fold compatibility forms, refuse look-alikes.

Full-width ``ｎｇｉｎｘ`` or the ligature in ``ﬁglet`` are the same letters in
another form: NFKC folds them, and the request goes on. ``nɡinx`` (IPA script
g) or ``nginх`` (Cyrillic ha) are other letters that only look the same: a
plan built from them would match some other package (``n2n``), or a name an
attacker registered. A word is refused when its letters, read through the
look-alike table (``cortex.safety.confusables``, from Unicode's confusables.txt),
spell a package name, or when it mixes scripts (Latin with Cyrillic or
Greek...). Words of other languages (German, Russian, Greek sentences) are
single-script and spell no package name, so they pass untouched.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Protocol

from cortex.packages.vocabulary import ALIASES
from cortex.safety.confusables import script, skeleton

_WORD = re.compile(r"[\w+.\-]+")


class Names(Protocol):
    def exists(self, name: str) -> bool: ...


class LookalikeError(ValueError):
    """A request word imitates a name with letters of other scripts; the message names them."""


def _letters(word: str) -> str:
    return ", ".join(f"{c!r} is U+{ord(c):04X} {unicodedata.name(c, '?')}" for c in dict.fromkeys(word) if ord(c) > 127)


def check(request: str, names: Names) -> str:
    """``request`` in NFKC, or LookalikeError for its first word that imitates a package name or mixes scripts."""
    text = unicodedata.normalize("NFKC", request)
    for word in _WORD.findall(text):
        if word.isascii():
            continue
        plain = skeleton(word)
        imitates = plain.isascii() and (names.exists(plain) or plain in ALIASES)
        mixed = next((p for p in word.split("-") if len({script(c) for c in p} - {""}) > 1), None)
        if not (imitates or mixed):
            continue
        what = f"imitates the package name {plain!r}" if imitates else f"mixes {_scripts(mixed or word)} letters"
        reads = f"; in plain letters it reads {plain!r}" if plain.isascii() and not imitates else ""
        raise LookalikeError(
            f"{word!r} {what}: {_letters(word)}{reads}. Cortex does not plan names spelt with look-alike letters "
            "of other scripts; type the name in plain ASCII if that is what you mean"
        )
    return text


def _scripts(word: str) -> str:
    return " and ".join(sorted({script(c).title() for c in word} - {""}))
