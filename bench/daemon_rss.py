"""Idle RSS of cortexd after N seconds (default 60) against a bare asyncio NDJSON server.

    .venv/bin/python bench/daemon_rss.py [--seconds 60]

Target: cortexd <= 25 MB idle. Every server answers one ping first (so lazy
imports on the request path are counted), then sits idle. cortexd is measured
twice: as shipped (the system monitor sampling every 30 s with its SQLite alert
store) and with ``[monitor] enabled: false``, which isolates the daemon itself.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from daemon_common import rss_bytes, start_bare, start_cortexd, stop

from cortex.daemon_client import CortexDaemonClient


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=60)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="cortexd-rss-"))
    servers = {
        "bare asyncio NDJSON server": start_bare(tmp / "bare.sock"),
        "cortexd (monitor on)": start_cortexd(tmp / "on.sock"),
        "cortexd ([monitor] enabled: false)": start_cortexd(tmp / "off.sock", "[monitor]\nenabled: false\n"),
    }
    try:
        for path in ("bare.sock", "on.sock", "off.sock"):
            assert CortexDaemonClient(tmp / path).ping()
        time.sleep(args.seconds)
        rss = {name: rss_bytes(proc.pid) for name, proc in servers.items()}
    finally:
        for proc in servers.values():
            stop(proc)
    bare = rss["bare asyncio NDJSON server"]
    for name, value in rss.items():
        verdict = "" if value == bare else f"  {value / bare:.2f}x bare, {'ok' if value <= 25e6 else 'over'} 25 MB"
        print(f"idle {args.seconds:g} s  {name:<36} {value / 1e6:5.1f} MB ({value / 2**20:.1f} MiB){verdict}")


if __name__ == "__main__":
    main()
