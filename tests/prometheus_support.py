"""Real Prometheus and Alertmanager processes on loopback for the tests, each with its own temp dir and free port.

The binaries are Debian's ``prometheus`` and ``prometheus-alertmanager`` packages, which ``scripts/bootstrap.sh``
installs with their services left off.
No tests here; ``test_prometheus.py`` and ``test_monitor_alertmanager.py`` import from this module.
"""

from __future__ import annotations

import http.client
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from conftest import free_port
from test_daemon_support import poll

RULES = Path(__file__).resolve().parent.parent / "contrib" / "prometheus" / "cortex-rules.yml"


def tool(name: str) -> str:
    """The path of a Prometheus binary; the test is skipped, saying why, when it is not installed."""
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} is not installed (scripts/bootstrap.sh installs Debian's prometheus packages)")
    return path


def run_tool(name: str, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([tool(name), *args], input=stdin, capture_output=True, text=True, timeout=60, check=False)


def request(url: str, body: Any = None) -> tuple[int, Any]:
    """GET (or POST ``body`` as JSON) and return the status and the answer (decoded when it is JSON)."""
    host, _, path = url.removeprefix("http://").partition("/")
    conn = http.client.HTTPConnection(host, timeout=30)
    try:
        headers = {"Content-Type": "application/json"} if body is not None else {}
        conn.request(
            "GET" if body is None else "POST", "/" + path, json.dumps(body) if body is not None else None, headers
        )
        response = conn.getresponse()
        data = response.read().decode()
        return response.status, json.loads(data) if "json" in response.getheader("Content-Type", "") else data
    finally:
        conn.close()


class Server:
    """One of the binaries serving on 127.0.0.1:``port`` until the ``with`` block ends; its log is in ``dir``."""

    def __init__(self, name: str, dir: Path, args: list[str]):
        self.dir, self.port = dir, free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.argv = [tool(name), f"--web.listen-address=127.0.0.1:{self.port}", *args]
        self.log = dir / f"{name}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def ready(self) -> bool:
        if self.proc is not None and self.proc.poll() is not None:
            raise RuntimeError(f"{self.argv[0]} exited with {self.proc.returncode}: {self.log.read_text()[-2000:]}")
        try:
            return request(self.url + "/-/ready")[0] == 200
        except OSError:
            return False

    def __enter__(self) -> Server:
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(self.argv, cwd=self.dir, stdout=log, stderr=subprocess.STDOUT)
        if not poll(self.ready, 60):
            self.__exit__()
            raise RuntimeError(f"{self.argv[0]} did not become ready: {self.log.read_text()[-2000:]}")
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def prometheus(dir: Path, target: str, rule_files: list[Path]) -> Server:
    """Prometheus scraping ``target`` (host:port) every second as job "cortex", evaluating ``rule_files``."""
    dir.mkdir(parents=True, exist_ok=True)
    config = {  # JSON is YAML
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(p) for p in rule_files],
        "scrape_configs": [{"job_name": "cortex", "static_configs": [{"targets": [target]}]}],
    }
    (dir / "prometheus.yml").write_text(json.dumps(config))
    args = [f"--config.file={dir / 'prometheus.yml'}", f"--storage.tsdb.path={dir / 'data'}"]
    return Server("prometheus", dir, args)


def alertmanager(dir: Path, webhook: str) -> Server:
    """Alertmanager (no cluster) routing each alert at once, in a group of its own, to ``webhook``, resolved too."""
    dir.mkdir(parents=True, exist_ok=True)
    config = {
        "route": {"receiver": "sink", "group_by": ["..."], "group_wait": "0s", "group_interval": "1s"},
        "receivers": [{"name": "sink", "webhook_configs": [{"url": webhook, "send_resolved": True}]}],
    }
    (dir / "alertmanager.yml").write_text(json.dumps(config))
    args = [f"--config.file={dir / 'alertmanager.yml'}", f"--storage.path={dir / 'data'}", "--cluster.listen-address="]
    return Server("prometheus-alertmanager", dir, args)
