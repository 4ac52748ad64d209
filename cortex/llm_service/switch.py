"""Switching cortex-llm to another model, and what the running server says about itself.

``load`` is careful in the order a user would be: check the new file and the
memory first (nothing is touched when that fails), then rewrite llm.env and
restart; if the new model does not come up, put the old llm.env value back,
start the old model again, and report why. In system mode the restart is
``systemctl restart cortex-llm``; in user mode it is ``server.stop`` and
``server.start``.
"""

from __future__ import annotations

import itertools
import re
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from cortex import process
from cortex.config import Config, load_config, read_env_file, set_value
from cortex.llm_service import server
from cortex.llm_service.modelfile import ModelFileError, check_model
from cortex.llm_service.server import SERVICE, ServiceError

MODEL_VAR = "CORTEX_LLM_MODEL_PATH"


def _file_value(llm_env: Path) -> str:
    """The model path written in llm.env ("" when the file or the line is absent: the fallbacks apply)."""
    if not llm_env.is_file():
        return ""
    return read_env_file(llm_env).get(MODEL_VAR, ("", 0))[0]


def _restart_user(config: Config, timeout: float) -> None:
    server.stop(config)
    server.start(config, timeout=timeout)


def _restart_system(config: Config, timeout: float) -> None:
    result = subprocess.run(["systemctl", "restart", f"{SERVICE}.service"], capture_output=True, text=True)
    if result.returncode != 0:
        raise ServiceError(f"systemctl restart {SERVICE} failed: {result.stderr.strip() or result.returncode}")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = server.health(config.llm_url, timeout=0.5)
        if state == "ready":
            return
        time.sleep(0.2)
    raise ServiceError(f"{SERVICE} did not become ready within {timeout:g} s (journalctl -u {SERVICE})")


def load(
    config: Config,
    model: Path,
    timeout: float = server.START_TIMEOUT,
    reload: Callable[[], Config] = load_config,
    available: int | None = None,
) -> server.Status:
    """Make ``model`` the served model: check, rewrite llm.env, restart; roll back when it fails to come up.

    ``available`` overrides the free-memory figure of the RAM check (None: MemAvailable now).
    """
    model = Path(model).absolute()
    try:
        check_model(model, config.llm_ctx * config["llm.parallel"], available)
    except ModelFileError as e:
        raise ServiceError(str(e)) from None
    restart = _restart_system if config.paths.mode == "system" else _restart_user
    llm_env = config.paths.llm_env
    previous = _file_value(llm_env)
    set_value("service.model_path", str(model), config.paths)
    new_config = reload()
    if new_config.model_path != model:
        set_value("service.model_path", previous, config.paths)
        raise ServiceError(
            f"llm.env now names {model}, but {new_config.model_path_source} overrides it; unset that to switch models"
        )
    try:
        restart(new_config, timeout)
    except ServiceError as e:
        set_value("service.model_path", previous, config.paths)
        old_config = reload()
        try:
            restart(old_config, timeout)
            back = f"restored {old_config.model_path.name}, which is running again"
        except ServiceError as e2:
            back = f"restored llm.env, but the previous model did not start either: {e2}"
        raise ServiceError(f"{model.name} did not come up ({e}); {back}") from None
    return server.status(new_config)


def unload(config: Config) -> bool:
    """Stop cortex-llm (the model leaves memory); False if it was not running."""
    if config.paths.mode == "system":
        return subprocess.run(["systemctl", "stop", f"{SERVICE}.service"], capture_output=True).returncode == 0
    return server.stop(config)


def _metric(text: str, name: str) -> float | None:
    m = re.search(rf"^llamacpp:{name}\s+([0-9.eE+-]+)$", text, re.M)
    return float(m.group(1)) if m else None


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


def _text(url: str, timeout: float = 2.0) -> str:
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.read().decode("utf-8", "replace")
    except (OSError, ValueError):
        return ""


def live_status(config: Config) -> dict[str, object]:
    """``server.status`` plus what llama-server reports: context, slots, throughput (``/props``, ``/slots``,
    ``/metrics``); threads from its command line, else the configured value."""
    st = server.status(config)
    doc: dict[str, object] = {**st.to_dict(), "model_path": str(config.model_path)}
    if st.state != "ready":
        return {**doc, "context": None, "threads": None, "slots": None, "tokens_per_second": None}
    props = server.get_json(f"{st.url}/props")
    slots = server.get_json(f"{st.url}/slots") if props.get("endpoint_slots", True) else []
    slots = slots if isinstance(slots, list) else []
    metrics = _text(f"{st.url}/metrics")
    pid = st.pid or process.read_pid(config.paths.pid_file(SERVICE))
    doc.update(
        model_path=str(props.get("model_path") or config.model_path),
        context=(props.get("default_generation_settings") or {}).get("n_ctx"),
        threads=_threads(pid) or config.llm_threads,
        slots={
            "total": props.get("total_slots", len(slots)),
            "busy": sum(1 for s in slots if s.get("is_processing")),
        },
        tokens_per_second=_metric(metrics, "predicted_tokens_seconds"),
        prompt_tokens_per_second=_metric(metrics, "prompt_tokens_seconds"),
        tokens_predicted_total=_metric(metrics, "tokens_predicted_total"),
        requests_processing=_metric(metrics, "requests_processing"),
    )
    return doc
