"""The command table of DESIGN section 2: names, aliases, params checks and handlers.

A handler is ``async (daemon, request, conn) -> data``; it raises ProtocolError
for anything the caller did wrong. Adding a command is one function and one row.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cortex.daemon.metrics import CONTENT_TYPE
from cortex.llm_service import api_key
from cortex.llm_service.llama_api import get_text, probe, served_model
from cortex.process import rss_bytes
from cortex.protocol import PROTOCOL_VERSION, ErrorCode, ProtocolError, Request, token_event

if TYPE_CHECKING:
    from cortex.daemon.app import Daemon
    from cortex.daemon.server import Connection

Handler = Callable[["Daemon", Request, "Connection"], Any]  # returns data, or an awaitable of it


@dataclass(frozen=True)
class Command:
    handler: Handler
    params: tuple[str, ...] | None = ()  # accepted params (None: the handler checks its own)
    admin: bool = False  # needs root or the daemon's own user

    @property
    def waits(self) -> bool:
        """An async handler runs as a task; a plain one answers inside the read callback."""
        return asyncio.iscoroutinefunction(self.handler)


def check_params(request: Request, allowed: tuple[str, ...]) -> None:
    unknown = sorted(set(request.params) - set(allowed))
    if unknown:
        hint = f"; allowed: {', '.join(allowed)}" if allowed else "; this command takes none"
        raise ProtocolError(ErrorCode.INVALID_PARAMS, f"unknown params {', '.join(unknown)}{hint}")


def ping(d: Daemon, r: Request, c: Connection) -> Any:
    return {"pong": True}


def version(d: Daemon, r: Request, c: Connection) -> Any:
    return {"name": "cortexd", "version": d.version, "protocol": PROTOCOL_VERSION}


def _served(url: str, key: str) -> tuple[str, str]:
    """cortex-llm's state and the model it names (blocking: run in a thread)."""
    state, model = probe(url, 0.5), ""
    if state == "up":
        with contextlib.suppress(ValueError, IndexError, AttributeError):  # a /v1/models answer without a model
            model = served_model(get_text(url + "/v1/models", 0.5, key))
    return state, model


async def _llm_state(d: Daemon) -> dict[str, Any]:
    url = d.config["llm.base_url"]
    state, model = await asyncio.to_thread(_served, url, api_key.read(d.config.llm_key_file))
    return {
        "backend": "llama.cpp",
        "url": url,
        "state": state,
        "model": model or d.config.model_path.name,
        "model_path": str(d.config.model_path),
    }


async def status(d: Daemon, r: Request, c: Connection) -> Any:
    counts, llm = await asyncio.gather(asyncio.to_thread(d.monitor.counts), _llm_state(d))
    return {
        "version": d.version,
        "pid": d.pid,
        "uptime_seconds": round(d.uptime(), 1),
        "socket": str(d.socket_path),
        "mode": d.mode,
        "llm": llm,
        "alerts": {"active": counts.get("active", 0), "critical": counts.get("critical", 0)},
        "queue": {"depth": d.inference.depth, "max": d.inference.max},
    }


async def health(d: Daemon, r: Request, c: Connection) -> Any:
    data = await asyncio.to_thread(d.monitor.health)
    data["llm"] = {**data.get("llm", {}), **await _llm_state(d)}  # keeps the monitor's tokens/s
    data["daemon"] = {"rss_bytes": rss_bytes(), "pid": d.pid, "uptime_seconds": round(d.uptime(), 1)}
    data.setdefault("thresholds", d.config.section("thresholds"))
    return data


def config(d: Daemon, r: Request, c: Connection) -> Any:
    return d.config.as_dict()


async def reload_config(d: Daemon, r: Request, c: Connection) -> Any:
    from cortex.config import ConfigError

    try:
        return await d.reload()
    except ConfigError as e:
        raise ProtocolError(ErrorCode.CONFIG_ERROR, f"{e} (the old configuration stays in effect)") from None


def _opt_str(r: Request, name: str) -> str | None:
    value = r.params.get(name)
    if value is not None and not isinstance(value, str):
        raise ProtocolError(ErrorCode.INVALID_PARAMS, f"'{name}' must be a string")
    return value


async def alerts(d: Daemon, r: Request, c: Connection) -> Any:
    limit = r.params.get("limit", 100)
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= 10000:
        raise ProtocolError(ErrorCode.INVALID_PARAMS, "'limit' must be a whole number from 1 to 10000")
    args = (_opt_str(r, "severity"), _opt_str(r, "category"), _opt_str(r, "status"), limit)
    try:
        return await asyncio.to_thread(d.monitor.alerts, *args)
    except ValueError as e:  # the store rejects an unknown severity/status with a message
        raise ProtocolError(ErrorCode.INVALID_PARAMS, str(e)) from None


def _target(r: Request) -> tuple[int | str | None, bool]:
    alert_id, every = r.params.get("id"), r.params.get("all", False)
    if not isinstance(every, bool):
        raise ProtocolError(ErrorCode.INVALID_PARAMS, "'all' must be true or false")
    if (alert_id is None) == (not every):
        raise ProtocolError(ErrorCode.INVALID_PARAMS, "give either an alert 'id' or 'all': true")
    if alert_id is not None and (not isinstance(alert_id, (int, str)) or isinstance(alert_id, bool)):
        raise ProtocolError(ErrorCode.INVALID_PARAMS, "'id' must be an alert number (see 'cortex daemon alerts')")
    return alert_id, every


async def _change_alerts(method: Callable[..., Any], r: Request) -> Any:
    alert_id, every = _target(r)
    try:
        return await asyncio.to_thread(method, alert_id, every)
    except KeyError:
        raise ProtocolError(ErrorCode.NOT_FOUND, f"no alert with id {alert_id}") from None
    except ValueError as e:
        raise ProtocolError(ErrorCode.INVALID_PARAMS, str(e)) from None


async def acknowledge(d: Daemon, r: Request, c: Connection) -> Any:
    return await _change_alerts(d.monitor.acknowledge, r)


async def dismiss(d: Daemon, r: Request, c: Connection) -> Any:
    if r.params.get("all") is True and not c.is_admin:
        raise ProtocolError(ErrorCode.UNAUTHORIZED, "dismissing all alerts needs root or the daemon's own user")
    return await _change_alerts(d.monitor.dismiss, r)


async def inference(d: Daemon, r: Request, c: Connection) -> Any:
    async def on_token(text: str) -> None:
        await c.send(token_event(r.id, text))

    params = r.params
    if params.get("template") not in (None, "chat", "raw"):  # a prompt template, rendered off the event loop
        from cortex.llm.prompts import PromptError, apply_template, prompt_dirs

        try:
            params = await asyncio.to_thread(apply_template, params, prompt_dirs(d.config))
        except PromptError as e:
            raise ProtocolError(ErrorCode(e.code), e.message) from None
    base_url = None
    if "model" in params:  # a model of the model cache, named by path only by admins; started in a worker thread
        from cortex.llm_service.cache import CacheError

        try:
            base_url = await asyncio.to_thread(d.model_cache().ensure, params["model"], c.is_admin)
        except CacheError as e:
            raise ProtocolError(ErrorCode(e.code), e.message) from None
        params = {k: v for k, v in params.items() if k != "model"}
    data = await d.inference.run(params, on_token, base_url)
    d.stats.record_inference(data)
    return data


def models(d: Daemon, r: Request, c: Connection) -> Any:
    return {"models": d.models.ps() if d.models else [], "default": d.config.model_path.name}


async def metrics(d: Daemon, r: Request, c: Connection) -> Any:
    return {"text": await d.exposition(), "content_type": CONTENT_TYPE}


def shutdown(d: Daemon, r: Request, c: Connection) -> Any:
    asyncio.get_running_loop().call_soon(d.shutdown_requested.set)
    return {"shutdown": "initiated"}


COMMANDS: dict[str, Command] = {
    "ping": Command(ping),
    "version": Command(version),
    "status": Command(status),
    "health": Command(health),
    "config": Command(config),
    "reload-config": Command(reload_config, admin=True),
    "alerts": Command(alerts, ("severity", "category", "status", "limit")),
    "alerts.acknowledge": Command(acknowledge, ("id", "all")),
    "alerts.dismiss": Command(dismiss, ("id", "all")),
    "inference": Command(inference, None),  # inference.build_request checks its params
    "metrics": Command(metrics),
    "models": Command(models),
    "shutdown": Command(shutdown, admin=True),
}
ALIASES = {"config.get": "config", "config.reload": "reload-config", "alerts.list": "alerts", "llm.ps": "models"}
# Every accepted name (aliases too) -> (canonical name, command, waits): one dict lookup per request.
LOOKUP: dict[str, tuple[str, Command, bool]] = {
    **{name: (name, c, c.waits) for name, c in COMMANDS.items()},
    **{alias: (name, COMMANDS[name], COMMANDS[name].waits) for alias, name in ALIASES.items()},
}
