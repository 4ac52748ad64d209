"""The model cache: one real llama-server per model, LRU eviction, keep_alive, and ``model`` through cortexd."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import bundled_model_path
from test_daemon_support import ThreadedDaemon, make_config

from cortex import process
from cortex.daemon_client import CortexDaemonClient, DaemonError
from cortex.llm_service.cache import CacheError, ModelCache
from cortex.llm_service.supervisor import health


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def models_home(tmp_path: Path, names: tuple[str, ...], **llm: object):
    """A home whose models dir holds ``names`` (hard links of the bundled model: distinct files, no copies)."""
    home = tmp_path / "home"
    models = home / "models"
    models.mkdir(parents=True)
    for name in names:
        os.link(bundled_model_path(), models / f"{name}.gguf")
    sections = {"llm": {"n_ctx": 256, "parallel": 1, "n_threads": 1, **llm}}
    return make_config(home, sections)


def test_lru_eviction_keep_alive_and_close(tmp_path: Path) -> None:
    config, _ = models_home(tmp_path, ("alpha", "beta"), max_models=1, keep_alive=60)
    clock = Clock()
    cache = ModelCache(config, clock)
    try:
        url_a = cache.ensure("alpha")
        assert health(url_a) == "ready"
        pid_a = cache.loaded[next(iter(cache.loaded))].pid
        assert cache.ensure("alpha") == url_a  # already loaded: same server
        clock.now += 5
        url_b = cache.ensure("beta")  # max_models 1: alpha (least recently used) goes
        assert url_b != url_a and health(url_b) == "ready"
        assert not process.alive(pid_a) and health(url_a) == "down"
        [row] = cache.ps()
        assert row["model"] == "beta.gguf" and row["rss_bytes"] > 10 * 2**20 and row["idle_seconds"] == 0
        clock.now += 30
        assert cache.sweep() == [] and cache.ps()[0]["idle_seconds"] == 30
        clock.now += 31
        assert cache.sweep() == ["beta"]
        assert cache.ps() == [] and health(url_b) == "down"
        cache.ensure("alpha")
    finally:
        cache.close()
    assert cache.loaded == {} and not list(config.paths.run_dir.glob("cortex-llm-*.pid"))


def test_default_model_bad_names_and_budget(tmp_path: Path) -> None:
    config, _ = models_home(tmp_path, ("alpha",), memory_budget=1)
    cache = ModelCache(config)
    os.link(bundled_model_path(), config.model_path)  # the default model file: served by cortex-llm itself
    assert cache.ensure(config.model_path.stem) is None
    for name, code in (
        ("nope", "not_found"),
        (5, "invalid_params"),
        ("", "invalid_params"),
        ("alpha", "llm_unavailable"),
    ):
        with pytest.raises(CacheError) as e:
            cache.ensure(name)
        assert e.value.code == code, name
    assert "memory_budget" in e.value.message and cache.loaded == {}


def test_inference_names_a_model_through_cortexd(tmp_path: Path, llama_server) -> None:
    config, conf = models_home(tmp_path, ("other",), **llama_server.llm_conf())
    with ThreadedDaemon(config, tmp_path / "c.sock", conf) as d:
        client = CortexDaemonClient(d.socket_path, timeout=180)
        try:
            assert client.call("models") == {"models": [], "default": config.model_path.name}
            data = client.inference("Say hi.", model="other", max_tokens=4, temperature=0)
            assert data["tokens_generated"] >= 1 and data["model"]
            pieces = list(client.stream_inference("Say hi.", model="other", max_tokens=4))
            assert pieces
            env = {**os.environ, "CORTEX_HOME": str(config.paths.config_dir), "CORTEX_SOCKET": str(d.socket_path)}
            out = subprocess.run(
                [sys.executable, "-m", "cortex", "llm", "ps", "--json"], env=env, capture_output=True, text=True
            )
            [row] = json.loads(out.stdout)["models"]
            assert row["model"] == "other.gguf" and row["rss_bytes"] > 0 and row["url"].startswith("http://127.0.0.1:")
            out = subprocess.run([sys.executable, "-m", "cortex", "llm", "ps"], env=env, capture_output=True, text=True)
            assert out.returncode == 0 and "other.gguf" in out.stdout and "unloads in" in out.stdout
            with pytest.raises(DaemonError) as e:
                client.inference("x", model="missing-model")
            assert e.value.code == "not_found" and "cortex model list" in e.value.message
        finally:
            if d.daemon.models is not None:
                d.daemon.models.close()


def test_a_model_that_fails_to_start_is_tried_again_only_after_a_growing_wait(tmp_path: Path) -> None:
    starts = tmp_path / "starts"
    dying = tmp_path / "llama-server"  # dies at once, as a llama-server whose model crashes it does
    dying.write_text(f"#!/bin/sh\necho start >> {starts}\nexit 1\n", encoding="utf-8")
    dying.chmod(0o755)
    (tmp_path / "home").mkdir()
    (tmp_path / "home" / "llm.env").write_text(f"CORTEX_LLM_SERVER_BIN={dying}\n", encoding="utf-8")
    config, _ = models_home(tmp_path, ("alpha",))
    clock = Clock()
    cache = ModelCache(config, clock)

    def attempt() -> str:
        with pytest.raises(CacheError) as e:
            cache.ensure("alpha")
        assert e.value.code == "llm_unavailable"
        return e.value.message

    try:
        assert "did not start" in attempt()
        assert "next try in 1 s" in attempt()  # a flood of requests starts nothing
        clock.now += 1
        assert "did not start" in attempt()
        clock.now += 1
        assert "next try in 1 s" in attempt()  # the wait doubled: 2 s
        clock.now += 1
        assert "did not start" in attempt()
        assert starts.read_text().count("start") == 3 and cache.loaded == {}
    finally:
        cache.close()
