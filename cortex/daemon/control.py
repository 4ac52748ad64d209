"""Start and stop cortexd in the background (``cortex daemon start|stop``, ``cortex up|down``).

``start_background`` runs ``cortexd`` without ``--foreground``: it double-forks,
writes ``paths.pid_file("cortexd")`` and its first process exits only once the
daemon serves (or with the reason it could not), so no polling is needed to
know the outcome; a ping confirms it. ``stop_background`` sends SIGTERM to the
pid in the pid file, after checking that the pid really is a cortexd.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from cortex import process
from cortex.config import Config

SOCKET_WAIT = 10.0  # seconds start_background waits for the first ping


class ControlError(RuntimeError):
    """Starting or stopping failed; the message says why and what to do."""


def read_pid(config: Config) -> int | None:
    """The pid in cortexd's pid file when that process is alive and is cortexd, else None."""
    return process.read_pid(config.paths.pid_file("cortexd"), expect=("cortexd", "cortex.daemon"))


def _ping(socket_path: str) -> bool:
    from cortex.daemon_client import CortexDaemonClient, DaemonError

    try:
        return CortexDaemonClient(socket_path, timeout=2.0).ping()
    except (DaemonError, OSError, ValueError):
        return False


def start_background(config: Config, config_file: Path | None = None) -> int:
    """Start cortexd for ``config``'s run mode; return its pid once it answers ping.

    Raises ControlError with cortexd's own message when it refuses (e.g. already running).
    """
    socket_path = config.socket_path
    argv = [sys.executable, "-m", "cortex.daemon.main", f"--{config.paths.mode}", "--socket", str(socket_path)]
    if config_file is not None:
        argv += ["--config", str(config_file)]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=SOCKET_WAIT + 20)
    if result.returncode != 0:
        raise ControlError(result.stderr.strip() or f"cortexd exited with status {result.returncode}")
    deadline = time.monotonic() + SOCKET_WAIT
    while not _ping(socket_path):
        if time.monotonic() > deadline:
            raise ControlError(f"cortexd started but does not answer on {socket_path}; see 'cortex daemon logs'")
        time.sleep(0.05)
    pid = read_pid(config)
    if pid is None:
        raise ControlError(f"cortexd answers but its pid file {config.paths.pid_file('cortexd')} is missing")
    return pid


def stop_background(config: Config, timeout: float | None = None) -> int | None:
    """SIGTERM the background cortexd and wait for it to exit; return its pid, or None if none ran."""
    pid = read_pid(config)
    if pid is None:
        return None
    timeout = timeout if timeout is not None else config["daemon.shutdown_timeout"] + 5
    if not process.stop(pid, timeout, kill=False):
        raise ControlError(f"cortexd (pid {pid}) did not stop; 'kill -9 {pid}' ends it without cleanup")
    return pid
