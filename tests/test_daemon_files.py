"""cortexd over files that are not what they should be: it refuses to start, or answers ``config_error`` and
keeps its configuration, at once (F5, F6, F8 of issue 14)."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import bundled_model_path, free_port
from hostile_files import KIND_WORDS, finishes, make
from test_daemon_support import DaemonProcess, ThreadedDaemon, make_config, write_conf

from cortex.daemon_client import CortexDaemonClient, DaemonError
from cortex.llm_service.supervisor import LlamaServer


@pytest.mark.parametrize(("name", "kind"), [("daemon.conf", "fifo"), ("llm.env", "latin1"), (".env", "directory")])
def test_cortexd_refuses_to_start_naming_the_file(tmp_path: Path, name: str, kind: str) -> None:
    home = tmp_path / "home"
    path = make(kind, home / name)
    proc = DaemonProcess(home, tmp_path / "c.sock").start(wait=False)
    code, err = proc.wait(60)
    assert code == 1 and err.count("\n") == 1 and "Traceback" not in err
    assert "configuration error" in err and str(path) in err and KIND_WORDS[kind] in err


@pytest.mark.parametrize(
    ("name", "kind"), [("llm.env", "latin1"), (".env", "fifo"), ("llm.env", "device"), (".env", "huge")]
)
def test_reload_config_answers_config_error_and_keeps_the_old_one(tmp_path: Path, name: str, kind: str) -> None:
    config, conf = make_config(tmp_path / "home", {"llm": {"queue_size": 7}})
    with ThreadedDaemon(config, tmp_path / "c.sock", conf) as d:
        client = CortexDaemonClient(d.socket_path)
        before = client.status()["queue"]["max"]  # parallel + queue_size 7
        write_conf(conf, {"llm": {"queue_size": 9}})
        path = make(kind, config.paths.config_dir / name)
        with pytest.raises(DaemonError) as e:
            finishes(client.reload_config)
        assert e.value.code == "config_error" and str(path) in e.value.message
        assert KIND_WORDS[kind] in e.value.message and "old configuration" in e.value.message
        assert client.status()["queue"]["max"] == before


@pytest.mark.llm
def test_reload_onto_a_fifo_model_answers_and_keeps_the_running_one(tmp_path: Path) -> None:
    """The reload's checks of the new model used to open the FIFO and wait for ever: no answer, a worker gone."""
    home, port = tmp_path / "home", free_port()
    home.mkdir()
    (home / "llm.env").write_text(f"CORTEX_LLM_PORT={port}\nCORTEX_LLM_THREADS=1\n")
    llm = {"n_ctx": 256, "parallel": 1, "base_url": f"http://127.0.0.1:{port}"}
    config, conf = make_config(home, {"llm": {**llm, "model_path": bundled_model_path()}})
    server = LlamaServer(config)
    server.start(120)
    try:
        with ThreadedDaemon(config, tmp_path / "c.sock", conf) as d:
            fifo, other = make("fifo", tmp_path / "fifo.gguf"), make("fifo", tmp_path / "other.gguf")
            write_conf(conf, {"llm": {**llm, "model_path": fifo}})
            client = CortexDaemonClient(d.socket_path, timeout=60)
            result = client.reload_config()
            assert result["llm"]["restarted"] is False and result["llm"]["model"] == str(bundled_model_path())
            assert str(fifo) in result["llm"]["message"] and "named pipe" in result["llm"]["message"]
            with pytest.raises(DaemonError) as e:  # a model of the cache: the same check, as quick
                client.inference("hi", model=str(other), max_tokens=1)
            assert e.value.code == "llm_unavailable" and "named pipe" in e.value.message
            assert client.ping()
        assert server.pid() is not None  # the running model was kept
    finally:
        server.stop()
