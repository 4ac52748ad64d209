"""The systemd notify protocol, spoken directly: datagrams of ``KEY=value`` lines to ``$NOTIFY_SOCKET``.

No libsystemd binding needed; see sd_notify(3). A name starting with ``@`` is
an abstract socket. Without ``NOTIFY_SOCKET`` (not under systemd) every call
is a no-op.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Mapping

log = logging.getLogger("cortexd.notify")


class Notifier:
    def __init__(self, env: Mapping[str, str] | None = None):
        env = os.environ if env is None else env
        address = env.get("NOTIFY_SOCKET", "")
        self.address = "\0" + address[1:] if address.startswith("@") else address
        self.watchdog_interval = self._watchdog_interval(env)

    @staticmethod
    def _watchdog_interval(env: Mapping[str, str]) -> float | None:
        """Seconds between WATCHDOG=1 pings: half of WATCHDOG_USEC, when the watchdog is meant for us."""
        usec = env.get("WATCHDOG_USEC", "")
        pid = env.get("WATCHDOG_PID", "")
        if not usec.isdigit() or int(usec) == 0 or (pid and pid != str(os.getpid())):
            return None
        return int(usec) / 2 / 1_000_000

    def send(self, *fields: str) -> bool:
        if not self.address:
            return False
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
        try:
            sock.sendto("\n".join(fields).encode(), self.address)
            return True
        except OSError as e:
            log.warning("cannot notify systemd at %s: %s", self.address.replace("\0", "@"), e)
            return False
        finally:
            sock.close()

    def ready(self, status: str) -> bool:
        return self.send("READY=1", f"STATUS={status}", f"MAINPID={os.getpid()}")

    def status(self, status: str) -> bool:
        return self.send(f"STATUS={status}")

    def reloading(self) -> bool:
        return self.send("RELOADING=1", f"MONOTONIC_USEC={time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000}")

    def watchdog(self) -> bool:
        return self.send("WATCHDOG=1")

    def stopping(self) -> bool:
        return self.send("STOPPING=1", "STATUS=stopping")
