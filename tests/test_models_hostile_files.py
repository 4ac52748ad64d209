"""Model files that are not models: every reader of them (info, the checks before llama-server) says so at once.

F5 of issue 14: a FIFO as the model blocked ``cortex llm start`` and cortexd's workers for ever. F7: a
GGUF with arrays nested 5,000 deep was a RecursionError traceback, one with an array of 2^26 items took
80 s and 545 MB. ``model info`` on a directory said "not found".
"""

from __future__ import annotations

import os
import struct
from pathlib import Path

import pytest
from conftest import bundled_model_path
from hostile_files import CRAFTED, KIND_WORDS, NOT_REGULAR, finishes, make
from test_models_store import write_gguf

from cortex.config import load_config
from cortex.llm_service.supervisor import LlamaServer, ServiceError
from cortex.models.modelfile import ModelFileError, check_model, model_info, read_header
from cortex.models.store import ModelStoreError, installed_path, remove


@pytest.mark.parametrize("kind", NOT_REGULAR)
def test_a_model_path_that_is_not_a_regular_file_is_named_for_what_it_is(tmp_path: Path, kind: str) -> None:
    path = make(kind, tmp_path / "model.gguf")
    for reader in (read_header, check_model, model_info):
        with pytest.raises(ModelFileError) as e:
            finishes(reader, path)
        assert str(path) in str(e.value) and KIND_WORDS[kind] in str(e.value), reader


@pytest.mark.parametrize("kind", NOT_REGULAR)
def test_the_store_hands_such_paths_on_instead_of_calling_them_missing(tmp_path: Path, kind: str) -> None:
    """``model info DIR`` said "not found"; the header reader now says what the path is."""
    path = make(kind, tmp_path / "m.gguf")
    assert installed_path(str(path), tmp_path / "models") == path
    with pytest.raises(ModelStoreError, match="not found"):
        installed_path(str(tmp_path / "absent.gguf"), tmp_path / "models")


@pytest.mark.parametrize("crafted", sorted(CRAFTED))
def test_crafted_gguf_headers_are_not_valid_gguf(tmp_path: Path, crafted: str) -> None:
    path = CRAFTED[crafted](tmp_path / f"{crafted}.gguf")
    with pytest.raises(ModelFileError) as e:
        finishes(read_header, path)
    assert str(path) in str(e.value) and "not a valid GGUF" in str(e.value)


def test_the_limits_name_what_was_too_big(tmp_path: Path) -> None:
    with pytest.raises(ModelFileError, match=r"nested deeper than \d+"):
        read_header(CRAFTED["nested"](tmp_path / "n.gguf"))
    with pytest.raises(ModelFileError, match="67108864 items"):
        read_header(CRAFTED["big-array"](tmp_path / "b.gguf"))
    with pytest.raises(ModelFileError, match="1099511627776 bytes"):
        read_header(CRAFTED["huge-string"](tmp_path / "s.gguf"))


def test_metadata_of_the_wrong_type_reads_as_absent(tmp_path: Path) -> None:
    from hostile_files import wrong_types

    info = model_info(wrong_types(tmp_path / "w.gguf"))
    assert info["architecture"] == "llama" and info["context_length"] is None
    assert info["quantization"] == "unknown" and info["ram_bytes"] > 0


def test_a_shallow_nesting_and_a_long_scalar_array_still_read(tmp_path: Path) -> None:
    """The limits leave room for real files: arrays of arrays, and vocabularies of a million entries."""
    from hostile_files import big_array, nested_arrays

    shallow = nested_arrays(tmp_path / "shallow.gguf", depth=3, size=4096)
    assert read_header(shallow).metadata["evil.nested"] == [[[]]]
    long = big_array(tmp_path / "long.gguf", count=1 << 20, size=64 + (1 << 22))
    assert read_header(long).metadata["evil.big"] == f"<{1 << 20} items>"


def test_the_bundled_model_reads_as_before() -> None:
    info = read_header(bundled_model_path())
    assert info.architecture == "llama" and info.tensors > 0 and info.parameters > 100_000_000
    assert isinstance(info.metadata["tokenizer.ggml.tokens"], str)  # <N items>
    assert info.metadata["general.architecture"] == "llama"


@pytest.mark.parametrize("kind", ("fifo", "device", "directory"))
def test_llm_start_on_such_a_model_fails_at_once(cortex_home: Path, tmp_path: Path, kind: str) -> None:
    model = make(kind, tmp_path / "model.gguf")
    cortex_home.mkdir()
    (cortex_home / "llm.env").write_text(f"CORTEX_LLM_MODEL_PATH={model}\nCORTEX_LLM_PORT=9\n")
    with pytest.raises(ServiceError, match=KIND_WORDS[kind].replace("(", r"\(").replace(")", r"\)")):
        finishes(LlamaServer(load_config()).start, 5)
    with pytest.raises(ServiceError, match=str(model)):
        finishes(LlamaServer(load_config()).load, model, 5)


def test_a_good_gguf_still_reads(tmp_path: Path) -> None:
    info = model_info(write_gguf(tmp_path / "t.gguf"))
    assert info["architecture"] == "llama" and info["parameters"] == 32 * 64 + 64


@pytest.mark.parametrize("kind", ("directory", "fifo", "dangling"))
def test_rm_of_such_an_entry_in_the_models_dir_is_one_error_or_done(tmp_path: Path, kind: str) -> None:
    """What the store now hands on must not end in a traceback where it is deleted."""
    models = tmp_path / "models"
    path = make(kind, models / "odd.gguf")
    try:
        assert remove("odd", models) == path
    except ModelStoreError as e:
        assert str(path) in str(e) and kind == "directory"
    assert kind == "directory" or not os.path.lexists(path)


def test_strings_skipped_in_chunks_leave_the_reader_on_the_next_key(tmp_path: Path) -> None:
    """A long string array is skipped from chunks (strings across chunk ends, one longer than a chunk); the key
    after it must still read right, and a file that ends inside the array is truncated, not garbage."""
    from hostile_files import ARRAY, STRING, U32, _kv, _string, gguf_bytes

    strings = [f"token{i}" * (i % 7) for i in range(20_000)] + ["x" * 200_000] + ["tail"] * 17
    array = struct.pack("<IQ", STRING, len(strings)) + b"".join(_string(s) for s in strings)
    body = _kv("tokenizer.ggml.tokens", ARRAY, array) + _kv("llama.block_count", U32, struct.pack("<I", 30))
    whole = tmp_path / "whole.gguf"
    data = gguf_bytes(body, n_kv=2)
    whole.write_bytes(data + b"\0" * (-len(data) % 32))  # no tensors: the data section starts aligned
    info = read_header(whole)
    assert info.metadata["tokenizer.ggml.tokens"] == f"<{len(strings)} items>"
    assert info.metadata["llama.block_count"] == 30
    cut = tmp_path / "cut.gguf"
    cut.write_bytes(data[: len(array) // 2])
    with pytest.raises(ModelFileError, match="truncated"):
        read_header(cut)
