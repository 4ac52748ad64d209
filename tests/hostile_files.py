"""Files a hostile or careless user leaves where Cortex reads: made for real, on disk, for the tests to use.

No tests here; ``test_files_*`` and the CLI test import from this module.
"""

from __future__ import annotations

import os
import socket
import struct
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

# Each kind of file that is not what a reader expects; ``make`` puts one at a path.
NOT_REGULAR = ("fifo", "directory", "device", "socket", "dangling")
BAD_TEXT = ("latin1", "huge")
KIND_WORDS = {
    "fifo": "named pipe (FIFO)",
    "directory": "directory",
    "device": "character device",
    "socket": "socket",
    "dangling": "does not exist",
    "latin1": "not UTF-8",
    "huge": "larger than",
}


def make(kind: str, path: Path) -> Path:
    """Put a file of ``kind`` (NOT_REGULAR or BAD_TEXT) at ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "directory":
        path.mkdir()
    elif kind == "device":
        path.symlink_to("/dev/zero")
    elif kind == "socket":
        cwd = os.getcwd()
        os.chdir(path.parent)  # a relative name: test paths can exceed AF_UNIX's 108 bytes
        try:
            with socket.socket(socket.AF_UNIX) as s:
                s.bind(path.name)
        finally:
            os.chdir(cwd)
    elif kind == "dangling":
        path.symlink_to(path.parent / "nothing-here")
    elif kind == "latin1":
        path.write_bytes(b"# written by an old editor: caf\xe9\n")
    elif kind == "huge":
        with path.open("wb") as f:
            f.truncate(64 << 20)  # sparse: 64 MiB of zeros that take no disk
    else:
        raise ValueError(kind)
    return path


def finishes(fn: Callable[..., Any], *args: Any, within: float = 60.0) -> Any:
    """``fn(*args)``'s result or exception, or AssertionError if it is still blocked after ``within`` seconds.

    A bound on a hang, not a timing measure: before the fixes a FIFO blocked forever.
    """
    out: dict[str, Any] = {}

    def run() -> None:
        try:
            out["value"] = fn(*args)
        except BaseException as e:
            out["error"] = e

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(within)
    assert not thread.is_alive(), f"{getattr(fn, '__name__', fn)} still blocked after {within} s"
    if "error" in out:
        raise out["error"]
    return out.get("value")


# --- crafted GGUF files -------------------------------------------------------------------------------------

U8, U32, STRING, ARRAY = 0, 4, 8, 9


def _string(text: str) -> bytes:
    raw = text.encode()
    return struct.pack("<Q", len(raw)) + raw


def gguf_bytes(kvs: bytes, n_kv: int = 1, n_tensors: int = 0) -> bytes:
    return b"GGUF" + struct.pack("<IQQ", 3, n_tensors, n_kv) + kvs


def nested_arrays(path: Path, depth: int = 5000, size: int = 1 << 20) -> Path:
    """One key whose value is an array of an array of ... ``depth`` deep, padded to ``size`` bytes."""
    body = _string("evil.nested") + struct.pack("<I", ARRAY)
    body += struct.pack("<IQ", ARRAY, 1) * (depth - 1) + struct.pack("<IQ", U32, 0)
    data = gguf_bytes(body)
    path.write_bytes(data + b"\0" * max(0, size - len(data)))
    return path


def big_array(path: Path, count: int = 1 << 26, item: int = U8, size: int = 64 << 20) -> Path:
    """One key holding an array of ``count`` items, in a sparse file of ``size`` bytes (zeros, no disk)."""
    with path.open("wb") as f:
        f.write(gguf_bytes(_string("evil.big") + struct.pack("<IIQ", ARRAY, item, count)))
        f.truncate(size)
    return path


def huge_string(path: Path) -> Path:
    """A key whose value claims 2^40 bytes."""
    path.write_bytes(gguf_bytes(_string("evil.string") + struct.pack("<IQ", STRING, 1 << 40) + b"x" * 64))
    return path


def many_dims(path: Path) -> Path:
    """A tensor claiming 2^31 dimensions (ggml allows 4)."""
    tensor = _string("t") + struct.pack("<I", 1 << 31)
    path.write_bytes(gguf_bytes(tensor, n_kv=0, n_tensors=1) + b"\0" * 4096)
    return path


def many_strings(path: Path, count: int = 1 << 23) -> Path:
    """An array of ``count`` empty strings: each must be walked, 8 bytes apiece (a sparse file)."""
    return big_array(path, count, STRING, size=64 + 8 * count)


def _kv(key: str, kind: int, payload: bytes) -> bytes:
    return _string(key) + struct.pack("<I", kind) + payload


def wrong_types(path: Path) -> Path:
    """Counts where text or an array belongs: a string block count and file type, an array context length."""
    kvs = (
        _kv("general.architecture", STRING, _string("llama"))
        + _kv("llama.block_count", STRING, _string("many"))
        + _kv("llama.context_length", ARRAY, struct.pack("<IQII", U32, 2, 1, 2))
        + _kv("general.file_type", STRING, _string("q8"))
    )
    path.write_bytes(gguf_bytes(kvs, n_kv=4) + b"\0" * 4096)
    return path


def zero_alignment(path: Path) -> Path:
    path.write_bytes(gguf_bytes(_kv("general.alignment", U32, struct.pack("<I", 0))) + b"\0" * 4096)
    return path


CRAFTED: dict[str, Callable[[Path], Path]] = {
    "nested": nested_arrays,
    "big-array": big_array,
    "huge-string": huge_string,
    "many-dims": many_dims,
    "many-strings": many_strings,
    "zero-alignment": zero_alignment,
}
