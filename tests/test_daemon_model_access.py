"""Only admins name model files (F3 of issue 14): a peer that is not root or the daemon's own user may name
catalog models and files in the models directory, and gets the same answer for every other path, so cortexd
neither starts a root llama-server on a user's file nor tells whether ``/etc/shadow`` exists.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest
from test_daemon_support import ThreadedDaemon, as_other_user, make_config
from test_models_store import write_gguf


def inference(model: str) -> dict:
    return {"command": "inference", "params": {"prompt": "hi", "max_tokens": 1, "model": model}}


@pytest.fixture
def shared(tmp_path: Path):
    """A socket directory another user can enter, a daemon in it, and a models dir holding one broken file."""
    if os.geteuid() != 0:
        pytest.skip("needs root to switch to another uid")
    where = Path(tempfile.mkdtemp(prefix="cortexd-models-", dir="/tmp"))
    where.chmod(0o711)
    config, conf = make_config(tmp_path / "home")
    config.paths.models_dir.mkdir(parents=True)
    (config.paths.models_dir / "notes.gguf").write_text("not a model")
    try:
        with ThreadedDaemon(config, where / "c.sock", conf) as d:
            d.socket_path.chmod(0o666)  # let the other user reach the socket; the gate under test is SO_PEERCRED
            yield d, where
    finally:
        shutil.rmtree(where)


def test_a_peer_gets_one_answer_for_every_path_outside_the_models_dir(shared) -> None:
    d, where = shared
    models = d.daemon.config.paths.models_dir
    mine = write_gguf(where / "mine.gguf")  # a user's own, readable, well-formed GGUF
    mine.chmod(0o644)
    paths = [
        "/etc/shadow",
        str(where / "missing.gguf"),
        str(mine),
        str(models / ".." / "daemon.conf"),
        "../../../etc/shadow",
        "~root",
        "/dev/zero",
    ]
    answers = as_other_user(d.socket_path, [inference(p) for p in paths])
    errors = [a["error"] for a in answers]
    assert all(e == errors[0] for e in errors), errors
    assert errors[0]["code"] == "unauthorized" and "cortex model list" in errors[0]["message"]
    assert not d.daemon.models or not d.daemon.models.loaded


def test_a_peer_may_name_what_is_in_the_models_dir_and_the_catalog(shared) -> None:
    d, _ = shared
    models = d.daemon.config.paths.models_dir
    by_name, by_path, catalog, absent = as_other_user(
        d.socket_path,
        [inference("notes"), inference(str(models / "notes.gguf")), inference("phi-2"), inference("nothing")],
    )
    for answer in (by_name, by_path):  # past the gate: the header check of that very file answered
        assert answer["error"]["code"] == "llm_unavailable" and "not a GGUF model" in answer["error"]["message"]
    assert catalog["error"]["code"] == "not_found" and "cortex model pull phi-2" in catalog["error"]["message"]
    assert absent["error"]["code"] == "not_found"


def test_an_admin_still_names_any_path(shared, tmp_path: Path) -> None:
    from cortex.daemon_client import CortexDaemonClient, DaemonError

    d, _ = shared
    notes = tmp_path / "notes.txt"
    notes.write_text("hello")
    with pytest.raises(DaemonError) as e:
        CortexDaemonClient(d.socket_path).inference("hi", model=str(notes), max_tokens=1)
    assert e.value.code == "llm_unavailable" and "not a GGUF model" in e.value.message
