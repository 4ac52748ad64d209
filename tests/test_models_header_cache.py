"""The model header ``cortex llm start`` checks, kept while the file is the same unchanged file."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from conftest import bundled_model_path

from cortex.models.modelfile import ModelFileError, check_model, read_header, read_header_cached


@pytest.fixture
def model(tmp_path: Path) -> Path:
    copy = tmp_path / "model.gguf"
    shutil.copyfile(bundled_model_path(), copy)
    return copy


def _tamper(cache: Path) -> None:
    """Mark the cached header, so a result that comes from the cache shows it."""
    doc = json.loads(cache.read_text())
    doc["info"]["tensors"] = -1
    cache.write_text(json.dumps(doc))


def test_the_cache_answers_for_the_same_file_with_the_walked_header(model: Path, tmp_path: Path) -> None:
    cache = tmp_path / "model-header.json"
    first = read_header_cached(model, cache)
    assert first == read_header(model)
    assert read_header_cached(model, cache) == first
    _tamper(cache)
    assert read_header_cached(model, cache).tensors == -1  # it came from the cache


@pytest.mark.parametrize(
    "change",
    [
        lambda m, d: m.write_bytes(m.read_bytes()[: m.stat().st_size // 2]),  # truncated in place
        lambda m, d: os.utime(m, ns=(0, 0)),  # same bytes, other times
        lambda m, d: (shutil.copyfile(m, d / "other.gguf"), os.replace(d / "other.gguf", m)),  # another file
    ],
    ids=["truncated", "touched", "replaced"],
)
def test_a_changed_file_is_walked_again(model: Path, tmp_path: Path, change) -> None:
    cache = tmp_path / "model-header.json"
    read_header_cached(model, cache)
    _tamper(cache)
    change(model, tmp_path)
    try:
        info = check_model(model, cache=cache)
    except ModelFileError as e:
        assert "truncated" in str(e)
        return
    assert info.tensors > 100


def test_an_unwritable_or_broken_cache_only_costs_the_walk(model: Path, tmp_path: Path) -> None:
    assert read_header_cached(model, tmp_path / "missing" / "model-header.json") == read_header(model)
    broken = tmp_path / "model-header.json"
    broken.write_text("{not json")
    assert read_header_cached(model, broken) == read_header(model)
    assert json.loads(broken.read_text())["info"]["tensors"] > 100
