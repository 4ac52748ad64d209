"""Shared fixtures: an isolated CORTEX_HOME for every test, and one real llama-server per session.

The llama-server fixture runs the real binary with the bundled model on a free
loopback port, through the same ``LlamaServer.start`` (cortex.llm_service.supervisor) that
``cortex up`` uses. The model is taken from ``CORTEX_TEST_MODEL`` or the
invoking user's models directory (where ``scripts/bootstrap.sh`` put it).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from cortex.config import Config, load_config
from cortex.paths import get_paths

# Variables that would leak the developer's own setup into tests.
_LEAKY = [
    "CORTEX_HOME", "CORTEX_MODE", "CORTEX_SOCKET", "CORTEX_PROVIDER", "CORTEXD_MODEL_PATH", "CORTEXD_N_THREADS",
    "CORTEXD_LOG_LEVEL", "LLAMA_CPP_BASE_URL", "LLAMA_CPP_MODEL", "OLLAMA_BASE_URL", "OPENAI_BASE_URL",
    "OPENAI_API_KEY", "ANTHROPIC_API_KEY", "CORTEX_LLM_MODEL_PATH", "CORTEX_LLM_THREADS", "CORTEX_LLM_CTX_SIZE",
    "CORTEX_LLM_PORT", "CORTEX_LLM_HOST", "CORTEX_LLM_API_KEY_FILE", "NOTIFY_SOCKET", "XDG_RUNTIME_DIR",
    "ANTHROPIC_BASE_URL",
]  # fmt: skip

BUNDLED_MODEL = get_paths("user", env={k: v for k, v in os.environ.items() if k != "CORTEX_HOME"}).bundled_model


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def bundled_model_path() -> Path:
    """The bundled GGUF, installed on first use if bootstrap has not put it in place."""
    path = Path(os.environ.get("CORTEX_TEST_MODEL", BUNDLED_MODEL))
    if not path.is_file():
        from cortex.models.bundled import install

        path = install(path.parent)
    return path


@pytest.fixture(scope="session")
def embedder_dir() -> Path:
    """The bundled embedder (all-MiniLM-L6-v2), installed beside the bundled model on first use."""
    from cortex.packages import semantic

    directory = BUNDLED_MODEL.parent
    if not semantic.available(directory):
        semantic.install(directory)
    return directory


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory, embedder_dir: Path):
    """A small real index and manual store with vectors (howto_support.py), once per module."""
    from howto_support import build_small

    return build_small(tmp_path_factory.mktemp("howto"), embedder_dir)


@pytest.fixture(autouse=True)
def cortex_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own empty CORTEX_HOME (user mode) and none of the developer's variables."""
    for name in _LEAKY:
        monkeypatch.delenv(name, raising=False)
    home = tmp_path / "cortex-home"
    monkeypatch.setenv("CORTEX_HOME", str(home))
    return home


@pytest.fixture(scope="session")
def real_index(tmp_path_factory: pytest.TempPathFactory):
    """apt's real lists, indexed once per session for every module that needs them."""
    from cortex.packages import debian
    from cortex.packages.index import LISTS_DIR, STATUS_FILE, PackageIndex

    if not debian.list_files(LISTS_DIR):
        pytest.skip("no apt lists on this machine (run apt-get update)")
    from cortex.packages import descriptions

    state = tmp_path_factory.getbasetemp() / "real-index"
    descriptions.fetch(descriptions.descriptions_dir(state))  # as bootstrap.sh does: apt's long descriptions
    index = PackageIndex(state / "packages.db", LISTS_DIR, STATUS_FILE)
    index.ensure()
    return index


@dataclass
class LlamaServer:
    base_url: str
    port: int
    home: Path
    model: Path
    config: Config
    key_file: Path  # its API key: every client sends it, as Cortex's own do

    @property
    def key(self) -> str:
        from cortex.llm_service import api_key

        return api_key.read(self.key_file)

    def llm_conf(self) -> dict[str, str]:
        """daemon.conf's [llm] lines that point cortexd at this server."""
        return {"base_url": self.base_url, "api_key_file": str(self.key_file)}

    def env(self) -> dict[str, str]:
        """Variables that point a cortex process at this server (and its home, where the package index is kept)."""
        return {
            "LLAMA_CPP_BASE_URL": self.base_url,
            "CORTEX_LLM_PORT": str(self.port),
            "CORTEX_HOME": str(self.home),
            "CORTEX_LLM_API_KEY_FILE": str(self.key_file),
        }


@pytest.fixture(scope="session")
def llama_server(tmp_path_factory: pytest.TempPathFactory):
    """A real llama-server with the bundled model, shared by the whole session."""
    from cortex.llm_service import supervisor

    home = tmp_path_factory.mktemp("llama-home")
    port = free_port()
    env = {
        "CORTEX_HOME": str(home),
        "CORTEX_LLM_PORT": str(port),
        "CORTEX_LLM_MODEL_PATH": str(bundled_model_path()),
        "CORTEX_LLM_THREADS": "2",
        "CORTEX_LLM_CTX_SIZE": "2048",
    }
    config = load_config(env=env)
    try:
        supervisor.LlamaServer(config).start(timeout=120)
    except supervisor.ServiceError as e:
        pytest.fail(f"llama-server did not start: {e}")
    assert config.llm_key_file is not None and config.llm_key_file.is_file()
    yield LlamaServer(config.llm_url, port, home, config.model_path, config, config.llm_key_file)
    supervisor.LlamaServer(config).stop()


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1: (cert, key)."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    argv = ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1"]
    argv += ["-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)]
    subprocess.run(argv, check=True, capture_output=True)
    return cert, key
