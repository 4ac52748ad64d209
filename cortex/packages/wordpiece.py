"""all-MiniLM-L6-v2's tokenizer (BERT's WordPiece, lower-cased) for one question at a time, in Python.

A question's vector needs its token ids first. The ``tokenizers`` library gives them too, but importing it and
loading its ``tokenizer.json`` take ~25 ms of a how-to answer's first output; looking the question's word
pieces up in the same file and splitting one sentence here take ~2 ms. The steps are those the file names
(``BertNormalizer``, ``BertPreTokenizer``, ``WordPiece``, ``[CLS] A [SEP]``), as ``tokenizers`` implements them;
tests/test_packages_wordpiece.py checks the ids against the library's on thousands of real texts and every
entry of the vocabulary. Index builds still use the library (``semantic.BulkEncoder``).
"""

from __future__ import annotations

import functools
import json
import re
import string
import unicodedata
from pathlib import Path

# Unicode's White_Space property (Rust's char::is_whitespace); Python's str.isspace() differs
WHITE_SPACE = frozenset("\t\n\x0b\x0c\r \x85\xa0\u1680\u2028\u2029\u202f\u205f\u3000") | frozenset(
    map(chr, range(0x2000, 0x200B))
)
PUNCTUATION = frozenset(string.punctuation)  # Rust's is_ascii_punctuation: with Unicode's P*, what BERT splits off
CJK = ((0x4E00, 0x9FFF), (0x3400, 0x4DBF), (0x20000, 0x2A6DF), (0x2A700, 0x2B73F), (0x2B740, 0x2B81F),
       (0x2B920, 0x2CEAF), (0xF900, 0xFAFF), (0x2F800, 0x2FA1F))  # fmt: skip


class WordPiece:
    """The token ids of a text, ``[CLS]`` and ``[SEP]`` included, at most ``max_tokens`` of them."""

    def __init__(self, path: Path, max_tokens: int):
        data = Path(path).read_bytes()
        self.vocab = Vocabulary(data)
        spec = json.loads(data[: self.vocab.start] + b'"vocab":{}}}')  # the rest of the file, without the vocabulary
        model = spec["model"]
        assert model["type"] == "WordPiece" and spec["normalizer"]["type"] == "BertNormalizer", path
        self.unknown = self.vocab.get(model["unk_token"])
        self.prefix = model["continuing_subword_prefix"]
        self.longest = model["max_input_chars_per_word"]  # a longer word is [UNK]
        self.special = {t["content"]: t["id"] for t in spec["added_tokens"]}  # matched in the raw text
        self._special = re.compile("|".join(map(re.escape, sorted(self.special, key=len, reverse=True))))
        self.max_tokens = max_tokens

    def ids(self, text: str) -> list[int]:
        out: list[int] = []
        start = 0
        for m in self._special.finditer(text):
            out += [*self._words(text[start : m.start()]), self.special[m.group()]]
            start = m.end()
        out += self._words(text[start:])
        return [self.special["[CLS]"], *out[: self.max_tokens - 2], self.special["[SEP]"]]

    def _words(self, text: str) -> list[int]:
        out: list[int] = []
        for word in _pre_tokenize(_normalize(text)):
            out += self._pieces(word)
        return out

    def _pieces(self, word: str) -> list[int]:
        """Longest match first, left to right; a word with a part the vocabulary lacks is one [UNK]."""
        if len(word) > self.longest:
            return [self.unknown]
        pieces, start = [], 0
        while start < len(word):
            end = len(word)
            while end > start:
                found = self.vocab.get(word[start:end] if start == 0 else self.prefix + word[start:end])
                if found is not None:
                    pieces.append(found)
                    break
                end -= 1
            else:
                return [self.unknown]
            start = end
        return pieces


class Vocabulary:
    """The word pieces' ids, looked up in tokenizer.json's bytes: a question looks up a few dozen pieces, and
    parsing all 30,522 took ~10 ms. The ``"vocab"`` object closes the file (``tokenizers`` writes it last, and
    the bundled file is pinned by its sha256); a piece is a key there, after its ``{`` or ``,``, as JSON writes
    it, followed by its id."""

    def __init__(self, data: bytes):
        self.data = data
        self.start = data.index(b'"vocab":{')
        assert data.rstrip().endswith(b"}}}"), "the vocabulary is not the file's last object"

    @functools.cached_property
    def words(self) -> frozenset[str]:
        """The whole words among the pieces (not ``##ing``): an English word list, for spelling (~10 ms)."""
        keys = re.findall(rb'[{,]"([a-z]+)":\d+', self.data[self.start :])
        return frozenset(k.decode() for k in keys)

    def get(self, piece: str) -> int | None:
        key = json.dumps(piece, ensure_ascii=False).encode() + b":"
        at = self.data.find(key, self.start)
        while at != -1:
            if self.data[at - 1] in b"{," and (digits := _ID.match(self.data, at + len(key))):
                return int(digits.group())
            at = self.data.find(key, at + 1)
        return None


_ID = re.compile(rb"\d+(?=[,}])")


def _normalize(text: str) -> str:
    """BertNormalizer: controls dropped and white space made " ", CJK ideographs spaced, accents stripped
    (NFD, marks dropped), then each character lower-cased on its own (as Rust's char::to_lowercase does)."""
    chars = []
    for c in text:
        if c in "\0\ufffd" or (c not in "\t\n\r" and unicodedata.category(c).startswith("C")):
            continue
        if c in WHITE_SPACE:
            chars.append(" ")
        elif any(lo <= ord(c) <= hi for lo, hi in CJK):
            chars.append(f" {c} ")
        else:
            chars.append(c)
    text = "".join(c for c in unicodedata.normalize("NFD", "".join(chars)) if unicodedata.category(c) != "Mn")
    return "".join(c.lower() for c in text)


def _pre_tokenize(text: str) -> list[str]:
    """BertPreTokenizer: words split at white space, each punctuation character a word of its own."""
    out: list[str] = []
    for chunk in "".join(" " if c in WHITE_SPACE else c for c in text).split():
        word = ""
        for c in chunk:
            if c in PUNCTUATION or unicodedata.category(c).startswith("P"):
                if word:
                    out.append(word)
                out.append(c)
                word = ""
            else:
                word += c
        if word:
            out.append(word)
    return out
