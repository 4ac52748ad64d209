"""``CortexDaemonClient``: the Python client of cortexd's IPC protocol (DESIGN sections 2 and 5).

Blocking sockets and the standard library only, so ``cortex daemon status``
and scripts importing this pay almost nothing: it speaks through ``_socket``,
the C module under ``socket``, whose Python layer (enum tables, selectors)
costs about 4 ms to import for nothing a Unix stream socket needs. Envelopes
and error codes come from ``cortex.protocol``.
"""

from __future__ import annotations

import _socket
import itertools
import json
import os
import time

from cortex.protocol import encode

TYPE_CHECKING = False  # on cortex daemon status's path: typing is for type checkers only (4 ms to import)
if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping
    from pathlib import Path
    from typing import Any

    from cortex.config import Config


class DaemonError(Exception):
    """cortexd answered with an error envelope; ``code`` is one of protocol.ErrorCode's values."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


class DaemonNotRunning(DaemonError):
    """Nothing answers on the socket."""

    def __init__(self, socket_path: str, why: str):
        if why == "permission denied":  # it may well run: this user may not use it
            message = (
                f"cannot use cortexd on {socket_path}: permission denied; only root and members of the cortex group"
                " may (an administrator adds you with 'sudo usermod -aG cortex USER', effective at your next login)"
            )
        else:
            from cortex.hints import start_hint
            from cortex.paths import SOCKET_FILE, locate

            mode = "system" if socket_path == os.path.join(locate("system")["run_dir"], SOCKET_FILE) else "user"
            message = f"cortexd is not running on {socket_path} ({why}); {start_hint('cortexd', mode)}"
        super().__init__("not_running", message)
        self.socket_path = socket_path


def socket_for(config: Config, env: Mapping[str, str] | None = None) -> str:
    """The socket a client dials: the configured one, except that a user with no socket setting, no
    CORTEX_HOME and no socket of their own, on a machine where the system service is installed, dials the
    system's: that is how members of group cortex reach the system cortexd without any setup."""
    from cortex.paths import SOCKET_FILE, SYSTEM_MARKER, locate

    env = os.environ if env is None else env
    own = config.socket_path
    if (
        config.where["mode"] == "user"
        and not config["daemon.socket_path"]
        and not env.get("CORTEX_HOME")
        and not os.path.exists(own)
        and os.path.exists(SYSTEM_MARKER)
    ):
        return os.path.join(locate("system")["run_dir"], SOCKET_FILE)
    return own


def default_socket_path() -> str:
    """CORTEX_SOCKET, then daemon.conf's socket_path, then the mode's default (``socket_for``)."""
    if os.environ.get("CORTEX_SOCKET"):
        return os.environ["CORTEX_SOCKET"]
    from cortex.config import ConfigError, load_config

    try:
        return socket_for(load_config())
    except ConfigError:
        from cortex.paths import SOCKET_FILE, locate

        return os.path.join(locate()["run_dir"], SOCKET_FILE)


class CortexDaemonClient:
    """One connection per call; ``timeout`` bounds each wait for the daemon (None: wait forever)."""

    def __init__(self, socket_path: str | Path | None = None, timeout: float | None = 30.0):
        self.socket_path = str(socket_path) if socket_path else default_socket_path()
        self.timeout = timeout
        self._ids = itertools.count(1)

    def _connect(self) -> _socket.socket:
        sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            for attempt in range(100):  # a full accept backlog says EAGAIN at once; wait for room
                try:
                    sock.connect(self.socket_path)
                    break
                except BlockingIOError:
                    if attempt == 99:
                        raise TimeoutError from None
                    time.sleep(0.01)
        except FileNotFoundError:
            sock.close()
            raise DaemonNotRunning(self.socket_path, "no socket") from None
        except (TimeoutError, ConnectionRefusedError, PermissionError) as e:
            sock.close()
            why = "permission denied" if isinstance(e, PermissionError) else "no answer"
            raise DaemonNotRunning(self.socket_path, why) from None
        return sock

    def _frames(self, request: dict[str, Any]) -> Iterator[dict[str, Any]]:
        """Send one request and yield every frame the daemon sends back until the final response."""
        sock = self._connect()
        try:
            sock.sendall(encode(request))
            buffer = bytearray()
            scanned = 0  # bytes of ``buffer`` known to hold no newline: a big frame is scanned once, not per read
            while True:
                end = buffer.find(b"\n", scanned)
                if end < 0:
                    scanned = len(buffer)
                    try:
                        chunk = sock.recv(1 << 16)
                    except TimeoutError:
                        raise DaemonError("timeout", f"cortexd did not answer within {self.timeout:g} s") from None
                    if not chunk:
                        raise DaemonError("internal", "cortexd closed the connection without an answer")
                    buffer += chunk
                    continue
                frame = json.loads(buffer[:end])
                del buffer[: end + 1]
                scanned = 0
                yield frame
                if "success" in frame:
                    return
        finally:
            sock.close()

    def _send_command(self, request: dict[str, Any]) -> dict[str, Any]:
        """Send a raw request dict; return the response envelope (token events of a stream are skipped)."""
        response: dict[str, Any] = {}
        for frame in self._frames(request):
            response = frame
        return response

    def call(self, command: str, **params: Any) -> Any:
        """Run ``command``; return its ``data`` or raise DaemonError with the daemon's code and message."""
        response = self._send_command({"command": command, "params": params, "id": next(self._ids)})
        if not response.get("success"):
            err = response.get("error") or {}
            raise DaemonError(err.get("code", "internal"), err.get("message", "unknown error"))
        return response["data"]

    def ping(self) -> bool:
        return bool(self.call("ping").get("pong"))

    def version(self) -> dict[str, Any]:
        return self.call("version")

    def status(self) -> dict[str, Any]:
        return self.call("status")

    def health(self) -> dict[str, Any]:
        return self.call("health")

    def config(self) -> dict[str, Any]:
        return self.call("config")

    def alerts(self, **filters: Any) -> dict[str, Any]:
        """Filters: severity, category, status, limit."""
        return self.call("alerts", **filters)

    def acknowledge_alert(self, alert_id: int | None = None, all: bool = False) -> dict[str, Any]:
        return self.call("alerts.acknowledge", **({"all": True} if all else {"id": alert_id}))

    def dismiss_alert(self, alert_id: int | None = None, all: bool = False) -> dict[str, Any]:
        return self.call("alerts.dismiss", **({"all": True} if all else {"id": alert_id}))

    def inference(self, prompt: str | None = None, **params: Any) -> dict[str, Any]:
        if prompt is not None:
            params["prompt"] = prompt
        return self.call("inference", **params)

    def stream_inference(self, prompt: str | None = None, **params: Any) -> Iterator[str]:
        """Yield text pieces as the model produces them; the iterator's return value is the final data."""
        if prompt is not None:
            params["prompt"] = prompt
        request = {"command": "inference", "params": {**params, "stream": True}, "id": next(self._ids)}
        for frame in self._frames(request):
            if frame.get("event") == "token":
                yield frame["data"]["text"]
            elif not frame.get("success"):
                err = frame.get("error") or {}
                raise DaemonError(err.get("code", "internal"), err.get("message", "unknown error"))
            else:
                return frame["data"]

    def metrics(self) -> str:
        return self.call("metrics")["text"]

    def reload_config(self) -> dict[str, Any]:
        return self.call("reload-config")

    def shutdown(self) -> dict[str, Any]:
        return self.call("shutdown")
