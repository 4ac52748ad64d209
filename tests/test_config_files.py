"""Configuration files that are not what they should be: each is one ConfigError naming it, never a skip or a hang.

F8 of issue 14: a daemon.conf that was a FIFO, /dev/zero or a directory was silently skipped, so every
key went back to its default. F6: a non-UTF-8 llm.env or .env was a UnicodeDecodeError traceback.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hostile_files import BAD_TEXT, KIND_WORDS, NOT_REGULAR, finishes, make

from cortex.config import ConfigError, load_config, read_env_file, set_value
from cortex.llm.prompts import PromptError, find_template, render

FILES = ("daemon.conf", "llm.env", ".env")


@pytest.mark.parametrize("kind", NOT_REGULAR + BAD_TEXT)
@pytest.mark.parametrize("name", FILES)
def test_each_config_file_that_is_not_regular_utf8_text_is_an_error_naming_it(
    cortex_home: Path, name: str, kind: str
) -> None:
    path = make(kind, cortex_home / name)
    with pytest.raises(ConfigError) as e:
        finishes(load_config)
    assert str(path) in str(e.value) and KIND_WORDS[kind] in str(e.value)


def test_a_missing_file_is_still_skipped(cortex_home: Path) -> None:
    cortex_home.mkdir()
    assert load_config().files == []


def test_bad_bytes_are_located(cortex_home: Path) -> None:
    (cortex_home / "llm.env").parent.mkdir()
    (cortex_home / "llm.env").write_bytes(b"CORTEX_LLM_THREADS=2\nCORTEX_LLM_HOST=h\xf4st\n")
    with pytest.raises(ConfigError, match=r"byte 0xf4 at offset 38, line 2"):
        load_config()


@pytest.mark.parametrize("kind", ("fifo", "directory", "latin1"))
def test_an_explicit_config_file_is_checked_the_same_way(tmp_path: Path, kind: str) -> None:
    path = make(kind, tmp_path / "cortexd.conf")
    with pytest.raises(ConfigError, match=KIND_WORDS[kind].replace("(", r"\(").replace(")", r"\)")):
        finishes(load_config, None, path)


@pytest.mark.parametrize("kind", ("fifo", "device", "latin1"))
def test_env_file_readers_outside_load_config_raise_config_error(tmp_path: Path, kind: str) -> None:
    """read_env_file is also called directly (llm load's rollback, setup): same errors."""
    path = make(kind, tmp_path / "llm.env")
    with pytest.raises(ConfigError, match=str(path)):
        finishes(read_env_file, path)


@pytest.mark.parametrize("kind", ("fifo", "directory", "latin1"))
def test_set_value_refuses_to_rewrite_a_file_it_cannot_read(cortex_home: Path, kind: str) -> None:
    path = make(kind, cortex_home / "daemon.conf")
    with pytest.raises(ConfigError, match=str(path)):
        finishes(set_value, "llm.n_ctx", "1024")
    assert not (cortex_home / "daemon.conf.tmp").exists()


@pytest.mark.parametrize("kind", ("fifo", "huge", "latin1"))
def test_prompt_templates_are_read_the_same_way(cortex_home: Path, tmp_path: Path, kind: str) -> None:
    """A template found as a regular file and swapped afterwards (or too big, or not UTF-8) is a clear error."""
    prompts = tmp_path / "prompts"
    path = prompts / "greet.j2"
    path.parent.mkdir()
    path.write_text("Hello {{ prompt }}")
    template = find_template("greet", [("user", prompts)])
    path.unlink()
    make(kind, path)
    with pytest.raises(PromptError) as e:
        finishes(render, template, {"prompt": "x"}, {})
    assert str(path) in e.value.message and KIND_WORDS[kind] in e.value.message
