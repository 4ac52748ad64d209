"""cortexd itself: its state, the commands' dispatch, and its lifecycle, as uvicorn's Server has them.

``Daemon`` holds the configuration, the monitor, the inference queue, the model cache and the
request stats, and owns what runs: the socket server (``server.py``, the wire), the monitor's
task, the Prometheus endpoint and systemd's watchdog. ``startup`` starts them in an order that
fails cleanly, ``serve`` answers until SIGTERM/SIGINT or the ``shutdown`` command (SIGHUP
reloads the configuration) and ``shutdown`` stops them again. ``main.py`` only reads argv and
daemonizes. The command handlers (``commands.py``) see this object and nothing of sockets.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import os
import signal
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cortex import __version__
from cortex.config import Config, ConfigError, load_config
from cortex.daemon.commands import COMMANDS, LOOKUP, Command, check_params
from cortex.daemon.inference import InferenceQueue
from cortex.daemon.metrics import CONTENT_TYPE, Stats, render
from cortex.daemon.monitor_loader import Monitor, load_monitor
from cortex.daemon.sd_notify import Notifier
from cortex.daemon.server import Limits, Server
from cortex.llm_service import api_key
from cortex.llm_service.llama_api import get_text, probe
from cortex.protocol import ErrorCode, ProtocolError, Request, error, ok

if TYPE_CHECKING:
    from cortex.daemon.prometheus import MetricsEndpoint
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
        self.monitor: Monitor = monitor if monitor is not None else load_monitor(config, self.infer_from_thread)
        self.inference = InferenceQueue(config.section("llm"), config.llm_key_file, config.paths.mode)
        self.stats = Stats()
        self.shutdown_requested = asyncio.Event()
        self.models: ModelCache | None = None  # made by the first request that names a model
        self.server = Server(socket_path, self.dispatch, Limits.from_config(config), config.paths.mode)
        self.notifier = Notifier()
        self.loop: asyncio.AbstractEventLoop | None = None
        self._endpoint: MetricsEndpoint | None = None
        self._tasks: dict[str, asyncio.Task[None]] = {}  # the monitor's loop and the watchdog
        self._reloads: set[asyncio.Task[None]] = set()

    async def startup(self) -> None:
        """The metrics endpoint first (a busy port fails the start with nothing left behind), then the socket,
        the monitor and systemd's watchdog; raise OSError (SocketInUse among them) when one cannot start."""
        self.loop = asyncio.get_running_loop()
        if self.config["metrics.enabled"]:
            self._endpoint = await self._start_metrics()
        await self.server.start()
        self._tasks["monitor"] = asyncio.create_task(self.monitor.run())
        self.notifier.ready(f"serving on {self.socket_path}")
        if self.notifier.watchdog_interval:
            self._tasks["watchdog"] = asyncio.create_task(self._watchdog(self.notifier.watchdog_interval))
        log.info("cortexd %s ready (pid %d, %s mode)", self.version, self.pid, self.mode)

    async def serve(self, on_ready: Callable[[], None] = lambda: None) -> None:
        """Start, answer until SIGTERM/SIGINT or the ``shutdown`` command, then stop; SIGHUP reloads."""
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.shutdown_requested.set)
        loop.add_signal_handler(signal.SIGHUP, self._on_hup)
        await self.startup()
        on_ready()
        await self.shutdown_requested.wait()
        await self.shutdown()

    async def shutdown(self) -> None:
        """Stop accepting, let in-flight requests finish for up to ``shutdown_timeout``, then stop the rest."""
        log.info("stopping: finishing in-flight requests (up to %g s)", self.config["daemon.shutdown_timeout"])
        self.notifier.stopping()
        if self._endpoint is not None:
            await self._endpoint.stop()
        await self.server.stop(self.config["daemon.shutdown_timeout"])
        if "watchdog" in self._tasks:
            self._tasks.pop("watchdog").cancel()
        self.monitor.stop()
        if "monitor" in self._tasks:
            monitoring = self._tasks.pop("monitor")
            await asyncio.wait({monitoring}, timeout=1)  # a sample in progress may finish; a stuck one is left behind
            monitoring.cancel()
        await asyncio.to_thread(self.monitor.close)
        if self.models is not None:
            await asyncio.to_thread(self.models.close)
        log.info("stopped")

    async def _start_metrics(self) -> MetricsEndpoint:
        """The Prometheus endpoint on 127.0.0.1:[metrics] port; a port in use is an OSError that says which key."""
        from cortex.daemon.prometheus import MetricsEndpoint

        port = self.config["metrics.port"]
        endpoint = MetricsEndpoint(port, self.exposition, CONTENT_TYPE)
        try:
            await endpoint.start()
        except OSError as e:
            raise OSError(f"cannot serve metrics on 127.0.0.1:{port} ([metrics] port): {e.strerror or e}") from None
        return endpoint

    async def _watchdog(self, interval: float) -> None:
        while True:
            self.notifier.watchdog()
            await asyncio.sleep(interval)

    def _on_hup(self) -> None:
        task = asyncio.get_running_loop().create_task(self._reload_on_signal())
        self._reloads.add(task)
        task.add_done_callback(self._reloads.discard)

    async def _reload_on_signal(self) -> None:
        self.notifier.reloading()
        try:
            await self.reload()
        except ConfigError as e:
            self.notifier.ready(f"reload rejected: {e}")
        else:
            self.notifier.ready("reloaded")

    def infer_from_thread(self, params: dict[str, Any], timeout: float) -> dict[str, Any]:
        """One inference through the queue, waited for in a worker thread (the monitor's AI explanations)."""
        if self.loop is None:
            raise RuntimeError("cortexd is not serving yet")
        future = asyncio.run_coroutine_threadsafe(self.inference.run(params), self.loop)
        try:
            return future.result(timeout)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise

    async def exposition(self) -> str:
        """The Prometheus text of everything cortexd knows: the monitor's sample, alert counts, llama-server's own."""
        url = self.config["llm.base_url"]
        health, counts, llm_text, state = await asyncio.gather(
            asyncio.to_thread(self.monitor.health),
            asyncio.to_thread(self.monitor.counts),
            asyncio.to_thread(get_text, url + "/metrics", 1.0, api_key.read(self.config.llm_key_file)),
            asyncio.to_thread(probe, url, 0.5),
        )
        gauges = {"queue_depth": self.inference.depth, "queue_max": self.inference.max, "uptime": self.uptime()}
        return render(self.stats, gauges, {**health, "llm": {**health["llm"], "state": state}}, counts, llm_text)

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
        self.inference.reconfigure(new.section("llm"), new.llm_key_file)
        self.monitor.apply_config(new)
        self.server.limits = Limits.from_config(new)
        if self.models is not None:
            self.models.config = new
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
