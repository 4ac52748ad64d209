"""Non-ASCII letters that look like Latin ones: ``гm`` reads as ``rm`` to a person, not to the shell.

A program name is judged by what a person would read: NFKC folds fullwidth and
mathematical letters (``ｒｍ``, ``𝐫𝐦``) and ligatures into ASCII, and
:data:`LOOKALIKES` (``data/confusables.json``) maps the Cyrillic, Greek, Armenian
and IPA letters drawn like a Latin letter onto that letter (after Unicode's
confusables list). The validator reads program names through it, the planner
package names (``cortex.packages.lookalikes``).
"""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path

LOOKALIKES = str.maketrans(
    json.loads((Path(__file__).parent / "data" / "confusables.json").read_text(encoding="utf-8"))["letters"]
)


def skeleton(text: str) -> str:
    """What ``text`` reads as: NFKC, lower case, invisible characters (zero-width spaces, joiners) dropped,
    look-alike letters replaced by the Latin ones."""
    folded = unicodedata.normalize("NFKC", text).lower().translate(LOOKALIKES)
    return "".join(c for c in folded if unicodedata.category(c) != "Cf")


def script(char: str) -> str:
    """The script of a letter, by its Unicode name (LATIN, CYRILLIC, GREEK...); "" for digits and signs."""
    return unicodedata.name(char, "").split(" ", 1)[0] if char.isalpha() else ""


def foreign_script(name: str) -> str | None:
    """The other script of a name that mixes Latin letters with letters of another ('ꮪudo': CHEROKEE), or None."""
    scripts = {script(c) for c in name} - {""}
    return next(iter(sorted(scripts - {"LATIN"})), None) if "LATIN" in scripts and len(scripts) > 1 else None


def lookalike(name: str) -> str | None:
    """The ASCII name that a non-ASCII ``name`` imitates, or None: a name whose every foreign letter is drawn
    like a Latin one exists only to be mistaken for another (``café`` keeps its é and imitates nothing)."""
    if name.isascii():
        return None
    target = skeleton(name)
    return target if target.isascii() else None
