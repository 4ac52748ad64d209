"""Apply a reloaded model setting to cortex-llm (DESIGN section 4, the seed's troubleshooting flow).

Edit ``model_path`` in daemon.conf, then ``cortex daemon reload-config``: in
user mode the running llama-server is restarted on the new model, but only
after the new file passes cortex-llm's checks, and the old model comes back if
the new one fails to load. In system mode cortex-llm is its own systemd unit,
so the answer says which command applies the change. Blocking: call it from a
worker thread.
"""

from __future__ import annotations

import logging
from typing import Any

from cortex.config import Config

log = logging.getLogger("cortexd.model")

# Settings llama-server reads at start: a change to any of them needs a restart.
SERVICE_KEYS = frozenset(
    {
        "llm.model_path",
        "service.model_path",
        "llm.n_ctx",
        "service.ctx_size",
        "llm.n_threads",
        "service.threads",
        "llm.parallel",
        "llm.use_mmap",
        "service.port",
        "service.host",
        "service.server_bin",
    }
)


def apply_model_change(old: Config, new: Config, changed: list[str]) -> dict[str, Any] | None:
    """Restart cortex-llm for ``new`` when a setting it reads changed; None when nothing to do."""
    if not SERVICE_KEYS.intersection(changed):
        return None
    model = str(new.model_path)
    if new.paths.mode == "system":
        return {"restarted": False, "model": model, "message": "apply it with 'systemctl restart cortex-llm'"}
    from cortex.llm_service import server

    if server.status(old).pid is None:
        return {"restarted": False, "model": model, "message": "cortex-llm is not running; 'cortex llm start' uses it"}
    try:
        server.preflight(new)
    except server.ServiceError as e:
        log.warning("kept the running model: %s", e)
        return {"restarted": False, "model": str(old.model_path), "message": f"kept the running model: {e}"}
    log.info("restarting cortex-llm on %s", model)
    server.stop(old)
    try:
        server.start(new)
    except server.ServiceError as e:
        log.error("cortex-llm failed on the new settings (%s); starting it again on the old ones", e)
        try:
            server.start(old)
        except server.ServiceError as again:
            return {"restarted": False, "model": "", "message": f"{e}; the old model failed too: {again}"}
        return {"restarted": False, "model": str(old.model_path), "message": f"kept the old model: {e}"}
    return {"restarted": True, "model": model, "message": f"cortex-llm now serves {new.model_path.name}"}
