"""What the cortexd benchmarks share: the baseline server, starting cortexd, reading RSS.

The baseline is the smallest honest asyncio NDJSON server: read a line, parse
it, answer ``{"id", "success", "data": {"pong": true}}``. Ratios against it show
what cortexd's framing, limits and dispatch cost on this machine, in this run.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

BARE_SERVER = r"""
import asyncio, json, sys, time

async def handle(reader, writer):
    while True:
        line = await reader.readline()
        if not line:
            break
        request = json.loads(line)
        response = {"id": request.get("id"), "success": True, "data": {"pong": True}, "timestamp": time.time()}
        writer.write(json.dumps(response).encode() + b"\n")
        await writer.drain()
    writer.close()

async def main(path):
    server = await asyncio.start_unix_server(handle, path=path)
    async with server:
        await server.serve_forever()

asyncio.run(main(sys.argv[1]))
"""


def wait_for_socket(path: Path, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        s = socket.socket(socket.AF_UNIX)
        try:
            s.connect(str(path))
            return
        except OSError:
            time.sleep(0.05)
        finally:
            s.close()
    raise TimeoutError(f"nothing listens on {path}")


def start_bare(path: Path) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen([sys.executable, "-c", BARE_SERVER, str(path)])
    wait_for_socket(path)
    return proc


def start_cortexd(path: Path, conf_text: str = "", env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    home = Path(tempfile.mkdtemp(prefix="cortexd-bench-"))
    conf = home / "daemon.conf"
    conf.write_text(conf_text)
    full_env = {**os.environ, "CORTEX_HOME": str(home), **(env or {})}
    argv = [sys.executable, "-m", "cortex.daemon.main", "--foreground", "--user", "--socket", str(path)]
    proc = subprocess.Popen([*argv, "--config", str(conf)], env=full_env, stderr=subprocess.DEVNULL)
    wait_for_socket(path)
    return proc


def start_llama_server(ctx_size: int = 1024) -> tuple[str, Callable[[], bool], Path | None]:
    """A llama-server with the bundled model on a free loopback port (never 8085), started as 'cortex up' does.

    Returns its URL, the function that stops it and its API key file (``llm_conf`` puts it in cortexd's [llm]).
    """
    from cortex.config import load_config
    from cortex.llm_service.supervisor import LlamaServer

    sys.path.insert(0, str(Path(__file__).parents[1] / "tests"))
    from conftest import bundled_model_path, free_port

    home = Path(tempfile.mkdtemp(prefix="cortexd-bench-llm-"))
    env = {
        "CORTEX_HOME": str(home),
        "CORTEX_LLM_PORT": str(free_port()),
        "CORTEX_LLM_MODEL_PATH": str(bundled_model_path()),
        "CORTEX_LLM_THREADS": "2",
        "CORTEX_LLM_CTX_SIZE": str(ctx_size),
        "PATH": os.environ.get("PATH", ""),
    }
    config = load_config(env=env)
    server = LlamaServer(config)
    server.start(timeout=120)
    return config.llm_url, server.stop, config.llm_key_file


def llm_conf(url: str, key_file: Path | None) -> str:
    """daemon.conf's [llm] section for cortexd in front of that llama-server (an empty key file: no key)."""
    return f"[llm]\nbase_url: {url}\napi_key_file: {key_file or ''}\n"


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for {pid}")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time the process has used."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()
