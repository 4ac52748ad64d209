"""Several models ready at once: one llama-server per model, each on its own loopback port.

cortexd asks ``ModelCache.ensure(name)`` when an ``inference`` names a
``model``; the default model keeps being served by cortex-llm itself
(``[llm] base_url``) and is never counted here. A model not yet loaded is
started with the same flags as cortex-llm (``LlamaServer.for_model``) on a free
loopback port. Before that, least-recently-used models are stopped until the new one
fits ``[llm] max_models`` and ``[llm] memory_budget`` (MiB of estimated RAM,
0: no budget). A model idle for ``[llm] keep_alive`` seconds is stopped by
``sweep``. A model whose llama-server dies while starting is not started again
for a while (1 s, doubling to 60 s): a request flood naming a broken model gets
a quick error instead of a llama-server per request. Blocking calls: the daemon
runs them in a worker thread.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cortex import process
from cortex.config import Config
from cortex.llm_service.backoff import Backoff
from cortex.llm_service.supervisor import START_TIMEOUT, LlamaServer, ServiceError
from cortex.models.modelfile import estimate_ram

MIB = 2**20


class CacheError(Exception):
    """A model that cannot be made ready; ``code`` is the daemon error code it maps to."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class Loaded:
    name: str
    path: Path
    server: LlamaServer
    pid: int
    ram_bytes: int  # estimated when it was loaded
    last_used: float

    @property
    def url(self) -> str:
        return self.server.url


class ModelCache:
    def __init__(self, config: Config, clock: Callable[[], float] = time.monotonic):
        self.config = config
        self.clock = clock
        self.loaded: dict[Path, Loaded] = {}
        self._lock = threading.Lock()  # one start or stop at a time; lookups of loaded models do not wait on it
        self._closed = threading.Event()
        self._sweeper: threading.Thread | None = None
        self._failed: dict[Path, tuple[float, Backoff]] = {}  # {model that failed to start: (next try at, its wait)}

    def resolve(self, name: Any, any_path: bool = True) -> Path:
        """The model file ``name`` names; without ``any_path`` (a peer that is not an admin) only catalog
        models and files in the models directory."""
        from cortex.models.store import ModelStoreError, PathNotAllowed, installed_path

        if not isinstance(name, str) or not name.strip():
            raise CacheError("invalid_params", "'model' must be a model name (cortex model list) or a GGUF path")
        try:
            return installed_path(name, self.config.paths.models_dir, any_path).resolve()
        except PathNotAllowed as e:
            raise CacheError("unauthorized", str(e)) from None
        except ModelStoreError as e:
            raise CacheError("not_found", str(e)) from None

    def is_default(self, path: Path) -> bool:
        return path == self.config.model_path.resolve()

    def ensure(self, name: str, any_path: bool = True) -> str | None:
        """The URL serving model ``name`` (started if needed), or None for the default model (cortex-llm)."""
        path = self.resolve(name, any_path)
        if self.is_default(path):
            return None
        entry = self.loaded.get(path)
        if entry is not None and process.alive(entry.pid):
            entry.last_used = self.clock()
            return entry.url
        with self._lock:
            entry = self.loaded.get(path)
            if entry is not None and process.alive(entry.pid):
                entry.last_used = self.clock()
                return entry.url
            self.loaded.pop(path, None)
            return self._start(name, path).url

    def _start(self, name: str, path: Path) -> Loaded:
        server = LlamaServer.for_model(self.config, path)
        try:
            binary, model = server.preflight()
        except ServiceError as e:
            raise CacheError("llm_unavailable", str(e)) from None
        need = estimate_ram(model, self.config.llm_ctx * self.config["llm.parallel"])
        budget = self.config["llm.memory_budget"] * MIB
        if budget and need > budget:
            raise CacheError(
                "llm_unavailable",
                f"{path.name} needs about {need // MIB} MiB, more than [llm] memory_budget ({budget // MIB} MiB)",
            )
        retry_at, backoff = self._failed.get(path, (0.0, Backoff()))
        if self.clock() < retry_at:
            raise CacheError(
                "llm_unavailable",
                f"llama-server for {path.name} failed to start; next try in {retry_at - self.clock():.0f} s",
            )
        self._evict_for(need)
        try:
            pid = server.launch(binary, model, START_TIMEOUT).pid or 0
        except ServiceError as e:
            self._failed[path] = (self.clock() + backoff.failed(), backoff)
            raise CacheError("llm_unavailable", f"llama-server for {path.name} did not start: {e}") from None
        self._failed.pop(path, None)
        entry = Loaded(name, path, server, pid, need, self.clock())
        self.loaded[path] = entry
        if self._sweeper is None:
            self._sweeper = threading.Thread(target=self._sweep_forever, name="model-cache-sweeper", daemon=True)
            self._sweeper.start()
        return entry

    def _sweep_forever(self) -> None:
        while not self._closed.wait(min(self.config["llm.keep_alive"] / 4, 30.0)):
            self.sweep()

    def _evict_for(self, need: int) -> None:
        """Stop least-recently-used models until one more (of ``need`` bytes) fits both limits."""
        budget = self.config["llm.memory_budget"] * MIB
        while self.loaded and (
            len(self.loaded) >= self.config["llm.max_models"]
            or (budget and sum(e.ram_bytes for e in self.loaded.values()) + need > budget)
        ):
            oldest = min(self.loaded.values(), key=lambda e: e.last_used)
            self._stop(oldest)

    def _stop(self, entry: Loaded) -> None:
        self.loaded.pop(entry.path, None)
        with contextlib.suppress(ServiceError):  # it survived SIGKILL too: nothing more to do from here
            entry.server.stop()

    def sweep(self) -> list[str]:
        """Stop models idle longer than ``[llm] keep_alive``; return their names."""
        keep = self.config["llm.keep_alive"]
        now = self.clock()
        with self._lock:
            idle = [e for e in self.loaded.values() if now - e.last_used > keep or not process.alive(e.pid)]
            for entry in idle:
                self._stop(entry)
        return [e.name for e in idle]

    def ps(self) -> list[dict[str, Any]]:
        now = self.clock()
        return [
            {
                "model": e.path.name,
                "name": e.name,
                "url": e.url,
                "pid": e.pid,
                "rss_bytes": process.rss_bytes(e.pid),
                "ram_estimate_bytes": e.ram_bytes,
                "idle_seconds": round(now - e.last_used, 1),
                "keep_alive_seconds": max(0.0, round(self.config["llm.keep_alive"] - (now - e.last_used), 1)),
            }
            for e in sorted(self.loaded.values(), key=lambda e: -e.last_used)
        ]

    def close(self) -> None:
        """Stop every model this cache started (cortexd is exiting)."""
        self._closed.set()
        with self._lock:
            for entry in list(self.loaded.values()):
                self._stop(entry)
