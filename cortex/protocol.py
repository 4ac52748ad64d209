"""The IPC wire format of cortexd (DESIGN section 2): the one source of truth.

Newline-delimited JSON over a Unix socket. The server and the client both
build and read envelopes with the functions here, so an error code or a key
name exists in exactly one place.
"""

from __future__ import annotations

import json
import time
from collections import namedtuple
from enum import Enum

from cortex.redact import redact

TYPE_CHECKING = False  # on cortex daemon status's path: typing is for type checkers only (4 ms to import)
if TYPE_CHECKING:
    from typing import Any

PROTOCOL_VERSION = 1
MAX_FRAME = 1 << 20  # bytes in one request line, newline excluded
MAX_DEPTH = 64  # nesting levels a request may use; deeper is a parse_error, not a RecursionError


class ErrorCode(str, Enum):
    PARSE_ERROR = "parse_error"
    INVALID_REQUEST = "invalid_request"
    UNKNOWN_COMMAND = "unknown_command"
    INVALID_PARAMS = "invalid_params"
    UNAUTHORIZED = "unauthorized"
    RATE_LIMITED = "rate_limited"
    TOO_LARGE = "too_large"
    QUEUE_FULL = "queue_full"
    LLM_UNAVAILABLE = "llm_unavailable"
    TIMEOUT = "timeout"
    CONFIG_ERROR = "config_error"
    NOT_FOUND = "not_found"
    INTERNAL = "internal"


class ProtocolError(Exception):
    """A request cannot be served; becomes an error envelope with ``code`` and ``message``."""

    def __init__(self, code: ErrorCode, message: str, id: Any = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.id = id


class Request(namedtuple("Request", "command params id", defaults=(None,))):
    """One valid request: ``command``, its ``params`` dict and the client's ``id``.

    A named tuple, not a dataclass, so the client (which imports this module) skips dataclasses' imports.
    """

    __slots__ = ()


def ok(id: Any, data: Any) -> dict[str, Any]:
    return {"id": id, "success": True, "data": data, "timestamp": time.time()}


def error(id: Any, code: ErrorCode | str, message: str) -> dict[str, Any]:
    """An error answer; every one the daemon sends is built here, so here its known secrets are stripped."""
    return {
        "id": id,
        "success": False,
        "error": {"code": ErrorCode(code).value, "message": redact(message)},
        "timestamp": time.time(),
    }


def token_event(id: Any, text: str) -> dict[str, Any]:
    return {"id": id, "event": "token", "data": {"text": text}}


def encode(message: dict[str, Any]) -> bytes:
    """One frame: compact JSON, UTF-8, newline-terminated.

    A lone surrogate (JSON may escape one, as in an id ``"\\ud800"``; UTF-8 cannot carry it) goes out escaped
    as it came in, so the answer to a command that ran is never lost.
    """
    text = _ENCODER.encode(message)
    try:
        return text.encode() + b"\n"
    except UnicodeEncodeError:
        return _ASCII_ENCODER.encode(message).encode() + b"\n"


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise ValueError(f"number {text[:20]} is out of range")
    return value


# Built once: json.dumps/json.loads with options build a new coder on every call.
_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False)
_ASCII_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=True, allow_nan=False)
_DECODER = json.JSONDecoder(parse_constant=_reject_constant, parse_float=_finite_float)


def _depth_ok(text: str) -> bool:
    """Cheap upper bound on nesting (brackets inside strings count too, which only errs on the safe side)."""
    if text.count("[") + text.count("{") <= MAX_DEPTH:
        return True
    depth = 0
    for ch in text:
        if ch in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                return False
        elif ch in "]}":
            depth -= 1
    return True


def loads(frame: bytes) -> Any:
    """Parse one frame's JSON, or raise ProtocolError(parse_error) saying what is wrong."""
    try:
        text = frame.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ProtocolError(ErrorCode.PARSE_ERROR, f"request is not valid UTF-8 (byte {e.start})") from None
    if not _depth_ok(text):
        raise ProtocolError(ErrorCode.PARSE_ERROR, f"request nests deeper than {MAX_DEPTH} levels")
    try:
        return _DECODER.decode(text)
    except (ValueError, RecursionError) as e:
        raise ProtocolError(ErrorCode.PARSE_ERROR, f"request is not valid JSON: {e}") from None


def decode_request(frame: bytes) -> Request:
    """Validate one frame into a Request; the ProtocolError carries the id when one was readable."""
    obj = loads(frame)
    if not isinstance(obj, dict):
        raise ProtocolError(ErrorCode.INVALID_REQUEST, "a request must be a JSON object with a 'command'")
    rid = obj.get("id")
    command = obj.get("command", obj.get("method"))
    if command is None:
        raise ProtocolError(ErrorCode.INVALID_REQUEST, "request has no 'command' (or 'method')", rid)
    if not isinstance(command, str) or not command:
        raise ProtocolError(ErrorCode.INVALID_REQUEST, "'command' must be a non-empty string", rid)
    params = obj.get("params")
    if params is None:
        params = {}
    elif not isinstance(params, dict):
        raise ProtocolError(ErrorCode.INVALID_PARAMS, "'params' must be a JSON object", rid)
    return Request(command, params, rid)
