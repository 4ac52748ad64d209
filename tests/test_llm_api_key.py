"""cortex-llm's API key file: made once, private to the user (user mode) or to root and a group (system mode)."""

from __future__ import annotations

import grp
import os
import stat
from pathlib import Path

import pytest

from cortex.llm_service import api_key


def test_made_once_and_private_in_user_mode(tmp_path: Path) -> None:
    path = tmp_path / "home" / "llm.key"
    api_key.ensure(path, "user")
    key = api_key.read(path)
    assert len(key) >= 32 and stat.S_IMODE(path.stat().st_mode) == 0o600
    api_key.ensure(path, "user")
    assert api_key.read(path) == key  # never replaced: running clients keep working
    assert [p.name for p in path.parent.iterdir()] == ["llm.key"]  # no temp file left


def test_system_mode_shares_it_with_the_group_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if os.geteuid() != 0:
        pytest.skip("only root can give the file to root and a group")
    monkeypatch.setattr(api_key, "GROUP", "daemon")  # a group every Debian has, standing in for cortex
    path = tmp_path / "llm.key"
    api_key.ensure(path, "system")
    st = path.stat()
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (0, grp.getgrnam("daemon").gr_gid, 0o640)


def test_a_key_file_without_a_key_is_an_error_and_a_missing_one_reads_empty(tmp_path: Path) -> None:
    empty = tmp_path / "llm.key"
    empty.write_text("# only a comment\n\n")
    with pytest.raises(api_key.KeyFileError, match="holds no key"):
        api_key.ensure(empty, "user")
    assert api_key.read(tmp_path / "missing") == "" and api_key.read(None) == ""
