"""The daemon's state: configuration, monitor, inference queue, request stats, shutdown.

``Daemon`` is what the command handlers see; it knows nothing of sockets.
``Server`` (server.py) owns the wire and calls ``Daemon.dispatch``.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Awaitable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cortex import __version__
from cortex.config import Config, ConfigError, load_config
from cortex.daemon.commands import COMMANDS, LOOKUP, Command, check_params
from cortex.daemon.inference import InferenceQueue
from cortex.daemon.metrics import Stats
from cortex.daemon.monitor import Monitor, load_monitor
from cortex.daemon.protocol import ErrorCode, ProtocolError, Request, error, ok

if TYPE_CHECKING:
    from cortex.daemon.server import Connection
    from cortex.llm_service.cache import ModelCache

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
        self.models: ModelCache | None = None  # made by the first request that names a model

    def model_cache(self) -> ModelCache:
        if self.models is None:
            from cortex.llm_service.cache import ModelCache

            self.models = ModelCache(self.config)
        return self.models

    @property
    def mode(self) -> str:
        return self.config.paths.mode

    def uptime(self) -> float:
        return time.monotonic() - self.started

    def dispatch(self, request: Request, conn: Connection) -> dict[str, Any] | Awaitable[dict[str, Any]]:
        """One request's response, or an awaitable of it when the command has to wait (inference, health).

        Every failure becomes an error envelope. Commands that answer at once are
        answered without a task, which is most of what cortexd's throughput is.
        """
        started = time.perf_counter()
        entry = LOOKUP.get(request.command)
        if entry is None:
            known = ", ".join(sorted(COMMANDS))
            return self._failed(
                request,
                "unknown",
                ErrorCode.UNKNOWN_COMMAND,
                f"unknown command {request.command!r}; known: {known}",
                started,
            )
        name, command, waits = entry
        if command.admin and not conn.is_admin:
            return self._failed(
                request, name, ErrorCode.UNAUTHORIZED, f"'{name}' needs root or the daemon's own user", started
            )
        try:
            if request.params and command.params is not None:
                check_params(request, command.params)
            if waits:
                return self._wait_for(name, command, request, conn, started)
            response = ok(request.id, command.handler(self, request, conn))
        except ProtocolError as e:
            return self._failed(request, name, e.code, e.message, started)
        except Exception:
            log.exception("command %r failed", request.command)
            return self._failed(request, name, ErrorCode.INTERNAL, "internal error in cortexd; see its log", started)
        self.stats.record(name, "ok", time.perf_counter() - started)
        return response

    async def _wait_for(
        self, name: str, command: Command, request: Request, conn: Connection, started: float
    ) -> dict[str, Any]:
        try:
            response = ok(request.id, await command.handler(self, request, conn))
        except ProtocolError as e:
            return self._failed(request, name, e.code, e.message, started)
        except ConnectionError:
            raise  # the client left (e.g. mid-stream); the server closes quietly
        except Exception:
            log.exception("command %r failed", request.command)
            return self._failed(request, name, ErrorCode.INTERNAL, "internal error in cortexd; see its log", started)
        self.stats.record(name, "ok", time.perf_counter() - started)
        return response

    def _failed(self, request: Request, name: str, code: ErrorCode, message: str, started: float) -> dict[str, Any]:
        self.stats.record(name, code.value, time.perf_counter() - started)
        return error(request.id, code, message)

    def reload_config(self) -> list[str]:
        """Re-read the configuration; raise ConfigError (keeping the old one) when it is invalid."""
        new = load_config(paths=self.config.paths, config_file=self.config_file)
        changed = new.diff(self.config)
        self.config = new
        logging.getLogger().setLevel(new["daemon.log_level"])
        self.inference.reconfigure(new.section("llm"))
        self.monitor.apply_config(new)
        if self.models is not None:
            self.models.config = new
        for hook in self.on_reload:
            hook(new, changed)
        log.info("configuration reloaded; changed: %s", ", ".join(changed) or "nothing")
        return changed

    async def reload(self) -> dict[str, Any]:
        """reload-config and SIGHUP: new settings now, cortex-llm restarted if its settings changed.

        Raises ConfigError, keeping the old configuration, when the files are invalid.
        """
        from cortex.llm_service.supervisor import LlamaServer

        old = self.config
        try:
            changed = self.reload_config()
        except ConfigError as e:
            log.error("configuration not reloaded, keeping the old one: %s", e)
            raise
        data: dict[str, Any] = {"reloaded": True, "changed": changed}
        llm = await asyncio.to_thread(LlamaServer(old).reconfigure, self.config, changed)
        if llm is not None:
            data["llm"] = llm
        return data
