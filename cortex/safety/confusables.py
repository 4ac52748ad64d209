"""Non-ASCII letters that look like Latin ones: ``гm`` reads as ``rm`` to a person, not to the shell.

A program name is judged by what a person would read: NFKC folds fullwidth and
mathematical letters (``ｒｍ``, ``𝐫𝐦``) and ligatures into ASCII, and
:data:`LOOKALIKES` maps the Cyrillic, Greek, Armenian and IPA letters drawn like
a Latin letter onto that letter (after Unicode's confusables list, restricted to
lower-case Latin letters, digits and the punctuation of program names).
"""

from __future__ import annotations

import unicodedata

LOOKALIKES = str.maketrans(
    {
        **dict.fromkeys("аɑα", "a"),
        **dict.fromkeys("ЬьƅᏏ", "b"),
        **dict.fromkeys("сϲςⅽᴄ", "c"),
        **dict.fromkeys("ԁⅾ", "d"),
        **dict.fromkeys("еҽ℮ε", "e"),
        **dict.fromkeys("ſẝ", "f"),
        **dict.fromkeys("ɡցǥ", "g"),
        **dict.fromkeys("һհ", "h"),
        **dict.fromkeys("іıιɩӏ", "i"),
        **dict.fromkeys("јϳ", "j"),
        **dict.fromkeys("κкᴋ", "k"),
        **dict.fromkeys("ⅼǀ", "l"),
        **dict.fromkeys("мⅿ", "m"),
        **dict.fromkeys("пոηռ", "n"),
        **dict.fromkeys("оοօᴏσ", "o"),
        **dict.fromkeys("рρ", "p"),
        **dict.fromkeys("ԛ", "q"),
        **dict.fromkeys("гᴦꭇ", "r"),
        **dict.fromkeys("ѕꜱ", "s"),
        **dict.fromkeys("τт", "t"),
        **dict.fromkeys("υսʋ", "u"),
        **dict.fromkeys("νѵᴠ", "v"),
        **dict.fromkeys("ԝѡɯ", "w"),
        **dict.fromkeys("хχ", "x"),
        **dict.fromkeys("уγү", "y"),
        **dict.fromkeys("ᴢ", "z"),
        **dict.fromkeys("‐‑‒–", "-"),
    }
)


def skeleton(text: str) -> str:
    """What ``text`` reads as: NFKC, lower case, invisible characters (zero-width spaces, joiners) dropped,
    look-alike letters replaced by the Latin ones."""
    folded = unicodedata.normalize("NFKC", text).lower().translate(LOOKALIKES)
    return "".join(c for c in folded if unicodedata.category(c) != "Cf")


def foreign_script(name: str) -> str | None:
    """The other script of a name that mixes Latin letters with letters of another ('ꮪudo': CHEROKEE), or None."""
    scripts = {unicodedata.name(c, "?").split()[0] for c in name if c.isalpha()}
    return next(iter(sorted(scripts - {"LATIN"})), None) if "LATIN" in scripts and len(scripts) > 1 else None


def lookalike(name: str) -> str | None:
    """The ASCII name that a non-ASCII ``name`` imitates, or None: a name whose every foreign letter is drawn
    like a Latin one exists only to be mistaken for another (``café`` keeps its é and imitates nothing)."""
    if name.isascii():
        return None
    target = skeleton(name)
    return target if target.isascii() else None
