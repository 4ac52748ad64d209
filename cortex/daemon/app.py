"""The daemon's state: configuration, monitor, inference queue, request stats, shutdown.

``Daemon`` is what the command handlers see; it knows nothing of sockets.
``Server`` (server.py) owns the wire and calls ``Daemon.dispatch``.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cortex import __version__
from cortex.config import Config, ConfigError, load_config
from cortex.daemon.commands import COMMANDS, check_params, resolve
from cortex.daemon.inference import InferenceQueue
from cortex.daemon.metrics import Stats
from cortex.daemon.monitor import Monitor, load_monitor
from cortex.daemon.protocol import ErrorCode, ProtocolError, Request, error, ok

if TYPE_CHECKING:
    from cortex.daemon.server import Connection

log = logging.getLogger("cortexd")


class Daemon:
    def __init__(
        self, config: Config, socket_path: Path, config_file: Path | None = None, monitor: Monitor | None = None
    ):
        self.config = config
        self.config_file = config_file
        self.socket_path = socket_path
        self.pid = os.getpid()
        self.version = __version__
        self.started = time.monotonic()
        self.monitor: Monitor = monitor if monitor is not None else load_monitor(config)
        self.inference = InferenceQueue(config.section("llm"))
        self.stats = Stats()
        self.shutdown_requested = asyncio.Event()
        self.on_reload: list[Any] = []  # callables(config, changed) run after a successful reload

    @property
    def mode(self) -> str:
        return self.config.paths.mode

    def uptime(self) -> float:
        return time.monotonic() - self.started

    async def dispatch(self, request: Request, conn: Connection) -> dict[str, Any]:
        """Run one request's command; every failure becomes an error envelope."""
        started = time.perf_counter()
        name = resolve(request.command)
        command = COMMANDS.get(name) if name else None
        try:
            if command is None:
                raise ProtocolError(
                    ErrorCode.UNKNOWN_COMMAND,
                    f"unknown command {request.command!r}; known: {', '.join(sorted(COMMANDS))}",
                )
            if command.admin and not conn.is_admin:
                raise ProtocolError(ErrorCode.UNAUTHORIZED, f"'{name}' needs root or the daemon's own user")
            if request.params and command.params is not None:
                check_params(request, command.params)
            response = ok(request.id, await command.handler(self, request, conn))
        except ProtocolError as e:
            response = error(request.id, e.code, e.message)
        except ConnectionError:
            raise  # the client left (e.g. mid-stream); the server closes quietly
        except Exception:
            log.exception("command %r failed", request.command)
            response = error(request.id, ErrorCode.INTERNAL, "internal error in cortexd; see its log")
        outcome = "ok" if response["success"] else response["error"]["code"]
        self.stats.record(name if command else "unknown", outcome, time.perf_counter() - started)
        return response

    def reload_config(self) -> list[str]:
        """Re-read the configuration; raise ConfigError (keeping the old one) when it is invalid."""
        new = load_config(paths=self.config.paths, config_file=self.config_file)
        changed = new.diff(self.config)
        self.config = new
        logging.getLogger().setLevel(new["daemon.log_level"])
        self.inference.reconfigure(new.section("llm"))
        self.monitor.apply_config(new)
        for hook in self.on_reload:
            hook(new, changed)
        log.info("configuration reloaded; changed: %s", ", ".join(changed) or "nothing")
        return changed

    async def reload(self) -> dict[str, Any]:
        """reload-config and SIGHUP: new settings now, cortex-llm restarted if its settings changed.

        Raises ConfigError, keeping the old configuration, when the files are invalid.
        """
        from cortex.daemon.model_switch import apply_model_change

        old = self.config
        try:
            changed = self.reload_config()
        except ConfigError as e:
            log.error("configuration not reloaded, keeping the old one: %s", e)
            raise
        data: dict[str, Any] = {"reloaded": True, "changed": changed}
        llm = await asyncio.to_thread(apply_model_change, old, self.config, changed)
        if llm is not None:
            data["llm"] = llm
        return data
