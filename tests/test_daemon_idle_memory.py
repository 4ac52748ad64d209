"""What an idle cortexd keeps out of memory, and that what it defers still works when needed.

Each extension module below costs RSS for code an idle daemon never runs (bench/daemon_rss.py):
ssl through asyncio (4.5 MB, see ``cortex/daemon/asyncio_without_ssl.py``) and shutil's
compressors through argparse (0.8 MB, see ``cortex.daemon.main.HelpFormatter``).
"""

from __future__ import annotations

import ssl
from pathlib import Path

from test_daemon_support import DaemonProcess, FakeLLM, write_conf

from cortex.daemon_client import CortexDaemonClient

NOT_LOADED_WHEN_IDLE = ("_ssl", "_lzma", "_bz2")


def loaded(pid: int, module: str) -> bool:
    """Whether the process has mapped the extension module ``module`` (``_ssl`` brings libssl and libcrypto)."""
    return f"/{module}." in Path(f"/proc/{pid}/maps").read_text()


def test_an_idle_daemon_keeps_ssl_and_the_compressors_out(tmp_path: Path) -> None:
    home, sock = tmp_path / "home", tmp_path / "run" / "c.sock"
    with DaemonProcess(home, sock, write_conf(home / "daemon.conf", {})) as d:
        assert CortexDaemonClient(sock).status()["pid"] == d.proc.pid
        assert [m for m in NOT_LOADED_WHEN_IDLE if loaded(d.proc.pid, m)] == []


def test_inference_reaches_an_https_llm(tmp_path: Path, certificate: tuple[Path, Path]) -> None:
    cert, key = certificate
    home, sock = tmp_path / "home", tmp_path / "run" / "c.sock"
    with FakeLLM(reply="over tls") as llm:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        llm.httpd.socket = context.wrap_socket(llm.httpd.socket, server_side=True)
        url = llm.url.replace("http://", "https://")
        conf = write_conf(home / "daemon.conf", {"llm": {"base_url": url}, "monitor": {"enabled": "false"}})
        with DaemonProcess(home, sock, conf, env={"SSL_CERT_FILE": str(cert)}) as d:
            assert CortexDaemonClient(sock).inference("hello?", max_tokens=4)["output"] == "over tls"
            assert loaded(d.proc.pid, "_ssl")  # loaded on first use, which also shows the idle test can see it
