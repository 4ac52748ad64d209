"""The question tokenizer in Python gives the ids the ``tokenizers`` library gives, on real texts and edge cases."""

from __future__ import annotations

from pathlib import Path

import pytest
from tokenizers import Tokenizer

from cortex.models import bundled
from cortex.packages import semantic
from cortex.packages.index import PackageIndex
from cortex.packages.wordpiece import WordPiece

EDGES = [
    "", "   ", "[MASK] is [CLS]ed, [SEP][PAD]", "Ünïcödé façade naïve café", "İstanbul ΣΑΣ ß ﬁ ǅ",
    "中文字符 test 한국어", "tab\there\x0bvt\x85nel\r\nline", "a\u200bb\u00a0c\u3000d\u2007e", "emoji 😀 ok ☃",
    "x" * 150, "a" * 101 + " b", "don't-stop... (really) $100 ~/path a|b <x> `y` ^z @w #v", "ｆｕｌｌｗｉｄｔｈ",
    "\ufffd\0bad", "«quoted» — dash ‘x’",
    " ".join(["word"] * 80),  # cut to the first 46 words between [CLS] and [SEP]
]  # fmt: skip


def real_texts(index: PackageIndex) -> list[str]:
    """Package summaries and NAME lines (every 11th), and every question and answer pattern of the eval sets."""
    texts = [r[0] for r in index.conn.execute("SELECT summary FROM packages WHERE id % 11 = 0")]
    texts += [r[0] for r in index.conn.execute("SELECT description FROM manuals WHERE id % 11 = 0")]
    for path in (Path(__file__).parents[1] / "eval").glob("*.tsv"):
        for line in path.read_text(encoding="utf-8").splitlines():
            texts += line.split("\t")
    return texts


@pytest.fixture(scope="module")
def tokenizers(embedder_dir: Path) -> tuple[WordPiece, Tokenizer]:
    path = embedder_dir / bundled.TOKENIZER.name
    library = Tokenizer.from_file(str(path))
    library.no_padding()
    library.enable_truncation(semantic.MAX_TOKENS)
    return WordPiece(path, semantic.MAX_TOKENS), library


def test_the_ids_are_the_librarys_on_real_texts(tokenizers: tuple[WordPiece, Tokenizer], real_index) -> None:
    mine, library = tokenizers
    texts = real_texts(real_index)
    assert len(texts) > 10_000
    theirs = [e.ids for e in library.encode_batch(texts)]
    differ = [(text, ids) for text, ids, want in zip(texts, map(mine.ids, texts), theirs, strict=True) if ids != want]
    assert differ == []


@pytest.mark.parametrize("text", EDGES)
def test_the_ids_are_the_librarys_on_edge_cases(tokenizers: tuple[WordPiece, Tokenizer], text: str) -> None:
    mine, library = tokenizers
    assert mine.ids(text) == library.encode(text).ids


def test_every_word_piece_has_the_librarys_id_and_others_none(tokenizers: tuple[WordPiece, Tokenizer]) -> None:
    mine, library = tokenizers
    vocabulary = library.get_vocab()
    assert len(vocabulary) > 30_000
    assert {piece: mine.vocab.get(piece) for piece in vocabulary} == vocabulary
    for stranger in ["zzzzqq", "##vocab", "vocab", "unk_token", "type", "WordPiece", '"', "\\", "", "[unk]"]:
        assert mine.vocab.get(stranger) == vocabulary.get(stranger), stranger


def test_the_whole_words_are_the_vocabulary_s_lower_case_words(tokenizers: tuple[WordPiece, Tokenizer]) -> None:
    ours, library = tokenizers
    vocab = library.get_vocab()
    assert ours.vocab.words == {w for w in vocab if w.isalpha() and w.isascii() and w.islower()}
    assert {"journal", "which", "temporarily"} <= ours.vocab.words and "jounral" not in ours.vocab.words
