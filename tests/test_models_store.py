"""Models: catalog and store, GGUF inspection, and downloads from a loopback Hugging Face endpoint.

The Hub is a small HTTP server on 127.0.0.1 that answers the way
huggingface_hub expects of ``HF_ENDPOINT``: ``HEAD`` and ``GET`` on
``/{repo}/resolve/{revision}/{file}`` with ``X-Repo-Commit``, ``ETag`` /
``X-Linked-Etag`` (the file's sha256) and ``Content-Length``, and ``Range``
requests for resumed downloads. It serves a small GGUF written here with the
``gguf`` package's GGUFWriter.
"""

from __future__ import annotations

import hashlib
import http.server
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
from conftest import free_port

from cortex.config import load_config
from cortex.models import catalog, download, store
from cortex.models.catalog import CatalogEntry
from cortex.models.modelfile import ModelFileError, model_info

CORTEX = [sys.executable, "-m", "cortex"]
COMMIT = "0123456789abcdef0123456789abcdef01234567"
REPO = "cortex-test/tiny-GGUF"
FILE = "tiny.Q8_0.gguf"


def write_gguf(path: Path, template: bool = True, arch: str = "llama") -> Path:
    """A small but well-formed GGUF: llama metadata, two F32 tensors, an optional chat template."""
    import gguf

    writer = gguf.GGUFWriter(str(path), arch)
    writer.add_name("Tiny Test")
    writer.add_context_length(4096)
    writer.add_embedding_length(64)
    writer.add_block_count(2)
    writer.add_head_count(4)
    writer.add_file_type(int(gguf.LlamaFileType.MOSTLY_Q8_0))
    if template:
        writer.add_chat_template("{% for m in messages %}{{ m['content'] }}{% endfor %}")
    writer.add_tensor("token_embd.weight", np.ones((32, 64), dtype=np.float32))
    writer.add_tensor("output_norm.weight", np.ones((64,), dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


@dataclass
class FakeHub:
    url: str
    files: dict[str, bytes]  # "repo/file" -> content
    requests: list[tuple[str, str, str]] = field(default_factory=list)  # (method, path, Range header)
    drop_after: int = 0  # when set, the next full GET is cut after this many bytes


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[FakeHub]:
    content = write_gguf(tmp_path / FILE).read_bytes()
    state = FakeHub("", {f"{REPO}/{FILE}": content})

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def _lookup(self) -> bytes | None:
            state.requests.append((self.command, self.path, self.headers.get("Range", "")))
            repo_and_rest = self.path.lstrip("/").split("/resolve/", 1)
            if len(repo_and_rest) != 2:
                return None
            repo, rest = repo_and_rest
            return state.files.get(f"{repo}/{rest.split('/', 1)[1]}")

        def _head(self, body: bytes, start: int = 0) -> None:
            sha = hashlib.sha256(body).hexdigest()
            self.send_response(206 if start else 200)
            self.send_header("X-Repo-Commit", COMMIT)
            self.send_header("ETag", f'"{sha}"')
            self.send_header("X-Linked-Etag", f'"{sha}"')
            self.send_header("X-Linked-Size", str(len(body)))
            self.send_header("Accept-Ranges", "bytes")
            if start:
                self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
            self.send_header("Content-Length", str(len(body) - start))
            self.end_headers()

        def _missing(self) -> None:
            self.send_response(404)
            self.send_header("X-Error-Code", "EntryNotFound")
            self.send_header("X-Repo-Commit", COMMIT)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def do_HEAD(self) -> None:
            body = self._lookup()
            self._missing() if body is None else self._head(body)

        def do_GET(self) -> None:
            body = self._lookup()
            if body is None:
                self._missing()
                return
            rng = self.headers.get("Range", "")
            start = int(rng[6:].split("-")[0]) if rng.startswith("bytes=") else 0
            self._head(body, start)
            if state.drop_after and not start:
                self.wfile.write(body[: state.drop_after])
                state.drop_after = 0
                self.close_connection = True
                return
            self.wfile.write(body[start:])

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture
def entry(monkeypatch: pytest.MonkeyPatch) -> CatalogEntry:
    """A catalog entry for the fake Hub's file, added to the catalog for this test."""
    e = CatalogEntry("tiny-test", REPO, FILE, 0, 0, "tests")
    monkeypatch.setitem(catalog.BY_NAME, e.name, e)
    monkeypatch.setattr(catalog, "CATALOG", (*catalog.CATALOG, e))
    monkeypatch.setattr(store, "CATALOG", catalog.CATALOG)
    return e


def run_cortex(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CORTEX, *args], capture_output=True, text=True, timeout=120, env={**os.environ, **(env or {})}
    )


# --- catalog -------------------------------------------------------------------------------------------------


def test_catalog_has_the_seed_models_and_the_bundled_one() -> None:
    names = {e.name for e in catalog.CATALOG}
    assert {"smollm2-135m", "tinyllama-1.1b", "phi-2", "mistral-7b-instruct", "llama-2-13b-chat", "orca-mini-3b"} <= (
        names
    )
    for e in catalog.CATALOG:
        assert e.file.endswith(".gguf") and e.best_for and e.ram_bytes > e.size_bytes > 0
        assert e.bundled == (e.name == "smollm2-135m")
    assert catalog.find("PHI-2") is catalog.BY_NAME["phi-2"]
    assert catalog.find("phi-2.Q4_K_M.gguf") is catalog.BY_NAME["phi-2"]
    assert catalog.find("gpt-17") is None


def test_model_list_json_shape_and_installed_flag(cortex_home: Path, tmp_path: Path) -> None:
    models = load_config().paths.models_dir
    models.mkdir(parents=True)
    write_gguf(models / "my-own.gguf")
    (models / "notes.gguf").write_text("not a model")
    result = run_cortex("model", "list", "--json")
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    for row in rows:
        assert {"name", "file", "size_bytes", "ram_bytes", "installed", "best_for"} <= row.keys()
    by_name = {r["name"]: r for r in rows}
    assert by_name["phi-2"]["installed"] is False
    assert by_name["my-own"]["installed"] is True and by_name["my-own"]["ram_bytes"] > 0
    assert by_name["notes"]["ram_bytes"] == 0  # listed so it can be removed
    human = run_cortex("model", "list")
    assert "phi-2" in human.stdout and "my-own" in human.stdout


# --- info ----------------------------------------------------------------------------------------------------


def test_info_reads_the_written_gguf(tmp_path: Path) -> None:
    path = write_gguf(tmp_path / "t.gguf")
    info = model_info(path, ctx_size=1024)
    assert info["architecture"] == "llama"
    assert info["parameters"] == 32 * 64 + 64
    assert info["quantization"] == "Q8_0"
    assert info["context_length"] == 4096
    assert info["chat_template"] is True
    assert info["ram_bytes"] > info["size_bytes"]
    assert model_info(write_gguf(tmp_path / "n.gguf", template=False))["chat_template"] is False
    bigger = model_info(path, ctx_size=8192)["ram_bytes"]
    assert bigger > info["ram_bytes"]  # the KV cache grows with the context


def test_info_cli_json_and_bad_files(tmp_path: Path) -> None:
    path = write_gguf(tmp_path / "t.gguf")
    result = run_cortex("model", "info", str(path), "--ctx", "2048", "--json")
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert {"path", "architecture", "parameters", "quantization", "context_length", "chat_template"} <= doc.keys()
    assert doc["path"] == str(path)
    cut = tmp_path / "cut.gguf"
    cut.write_bytes(path.read_bytes()[:100])
    for target, needle in ((cut, "truncated"), (tmp_path / "none.gguf", "not found"), ("phi-2", "not installed")):
        bad = run_cortex("model", "info", str(target))
        assert bad.returncode == 1 and needle in bad.stderr
        assert bad.stderr.count("\n") == 1 and not bad.stdout
    with pytest.raises(ModelFileError):
        model_info(cut)


# --- pull ----------------------------------------------------------------------------------------------------


def test_pull_from_a_loopback_hub(hub: FakeHub, entry: CatalogEntry, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("HF_ENDPOINT", hub.url)
    models = tmp_path / "models"
    path = download.pull(entry, models, progress=False)
    assert path == models / FILE
    assert path.read_bytes() == hub.files[f"{REPO}/{FILE}"]
    assert ("HEAD", f"/{REPO}/resolve/main/{FILE}", "") in hub.requests
    assert model_info(path)["architecture"] == "llama"
    assert store.resolve("tiny-test", models) == path
    hub.requests.clear()
    assert download.pull(entry, models, progress=False) == path and hub.requests == []  # installed: no network


def test_pull_resumes_after_a_dropped_connection(
    hub: FakeHub, entry: CatalogEntry, tmp_path: Path, monkeypatch
) -> None:
    from huggingface_hub import constants

    monkeypatch.setenv("HF_ENDPOINT", hub.url)
    monkeypatch.setattr(constants, "DOWNLOAD_CHUNK_SIZE", 500)  # real files are read in 10 MB chunks; ours is 9 KB
    hub.drop_after = 1000  # the first GET sends 1000 bytes of the file, then closes the connection
    path = download.pull(entry, tmp_path / "models", progress=False)
    assert path.read_bytes() == hub.files[f"{REPO}/{FILE}"]
    assert any(r[0] == "GET" and r[2] == "bytes=1000-" for r in hub.requests), hub.requests


def test_pull_removes_a_file_whose_checksum_differs(
    hub: FakeHub, entry: CatalogEntry, tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setenv("HF_ENDPOINT", hub.url)
    wrong = CatalogEntry(entry.name, REPO, FILE, 0, 0, "tests", sha256="0" * 64)
    with pytest.raises(download.DownloadError, match="does not match"):
        download.pull(wrong, tmp_path / "models", progress=False)
    assert not (tmp_path / "models" / FILE).exists()


def test_pull_of_a_missing_file_says_so(hub: FakeHub, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("HF_ENDPOINT", hub.url)
    ghost = CatalogEntry("ghost", REPO, "ghost.gguf", 0, 0, "tests")
    with pytest.raises(download.DownloadError, match="not found"):
        download.pull(ghost, tmp_path / "models", progress=False)


def test_pull_with_the_hub_down_is_one_clear_line(cortex_home: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    result = run_cortex("model", "pull", "tinyllama-1.1b", env={"HF_ENDPOINT": url})
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0, result.stderr
    assert f"cannot reach {url}" in result.stderr and "network" in result.stderr
    assert not list(load_config().paths.models_dir.glob("*.gguf"))


def test_pull_unknown_name_is_a_usage_error() -> None:
    result = run_cortex("model", "pull", "gpt-17")
    assert result.returncode == 1 and "cortex model list" in result.stderr


# --- use and rm ----------------------------------------------------------------------------------------------


def test_use_sets_the_default_and_rm_refuses_it(cortex_home: Path) -> None:
    config = load_config()
    models = config.paths.models_dir
    models.mkdir(parents=True)
    write_gguf(models / "a.gguf")
    write_gguf(models / "b.gguf")
    result = run_cortex("model", "use", "a")
    assert result.returncode == 0, result.stderr
    assert f"CORTEX_LLM_MODEL_PATH={models / 'a.gguf'}" in config.paths.llm_env.read_text()
    assert load_config().model_path == models / "a.gguf"
    refused = run_cortex("model", "rm", "a")
    assert refused.returncode == 1 and "configured model" in refused.stderr
    assert (models / "a.gguf").exists()
    removed = run_cortex("model", "rm", "b", "--json")
    assert removed.returncode == 0 and json.loads(removed.stdout)["removed"] == str(models / "b.gguf")
    assert not (models / "b.gguf").exists()


def test_use_rejects_a_broken_file_and_keeps_llm_env(cortex_home: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.gguf"
    bad.write_text("not a model")
    result = run_cortex("model", "use", str(bad))
    assert result.returncode == 1 and "not a GGUF model" in result.stderr
    assert not load_config().paths.llm_env.exists()


def test_rm_refuses_files_outside_the_models_dir(tmp_path: Path) -> None:
    outside = write_gguf(tmp_path / "elsewhere.gguf")
    result = run_cortex("model", "rm", str(outside))
    assert result.returncode == 1 and "not in the models directory" in result.stderr
    assert outside.exists()
