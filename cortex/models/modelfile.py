"""The one GGUF reader: check a model file before llama-server starts on it, and say what it holds.

llama-server's own errors for a bad model are long and late; these checks say
in one line what is wrong with the file and how to fix it, before anything
starts. The header walk reads only the GGUF metadata and tensor table (a few KB),
never the weights, so it is cheap and detects truncated files without numpy;
``cortex model info`` reads the same walk.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

GGUF_MAGIC = b"GGUF"
FIX = "set CORTEX_LLM_MODEL_PATH in llm.env to a GGUF model, or 'cortex model pull smollm2-135m' for the bundled one"

# GGUF metadata value types -> struct format of a scalar (8 = string, 9 = array).
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


@dataclass(frozen=True)
class ModelInfo:
    path: Path
    size_bytes: int
    version: int
    tensors: int
    metadata: dict[str, object]
    parameters: int = 0  # elements of all tensors

    @property
    def architecture(self) -> str:
        return str(self.metadata.get("general.architecture", "unknown"))

    @property
    def name(self) -> str:
        return str(self.metadata.get("general.name") or self.path.stem)


class _Reader:
    """Little-endian reads that turn a short read into a truncation error."""

    def __init__(self, f: BinaryIO, path: Path):
        self.f, self.path = f, path

    def take(self, fmt: str) -> tuple:
        size = struct.calcsize("<" + fmt)
        data = self.f.read(size)
        if len(data) != size:
            raise ModelFileError(f"{self.path}: the file is truncated (GGUF header cut short); re-download it or {FIX}")
        return struct.unpack("<" + fmt, data)

    def string(self) -> str:
        (n,) = self.take("Q")
        if n > 1 << 24:
            raise ModelFileError(f"{self.path}: corrupt GGUF header (string of {n} bytes); {FIX}")
        raw = self.f.read(n)
        if len(raw) != n:
            raise ModelFileError(f"{self.path}: the file is truncated (GGUF header cut short); re-download it or {FIX}")
        return raw.decode("utf-8", "replace")

    def value(self, kind: int) -> object:
        if kind in _SCALARS:
            return self.take(_SCALARS[kind])[0]
        if kind == _STRING:
            return self.string()
        if kind == _ARRAY:
            item_kind, count = self.take("IQ")
            if count > 1 << 26:
                raise ModelFileError(f"{self.path}: corrupt GGUF header (array of {count} items); {FIX}")
            items = [self.value(item_kind) for _ in range(count)]
            return items if count <= 16 else f"<{count} items>"
        raise ModelFileError(f"{self.path}: corrupt GGUF header (unknown value type {kind}); {FIX}")


def read_header(path: Path) -> ModelInfo:
    """Open ``path`` and walk its GGUF header; raise ModelFileError with a fix for anything wrong."""
    path = Path(path)
    if not path.exists():
        raise ModelFileError(f"model file not found: {path}; {FIX}")
    if path.is_dir():
        raise ModelFileError(f"{path} is a directory, not a model file; {FIX}")
    if not os.access(path, os.R_OK):
        raise ModelFileError(f"{path} is not readable by this user; fix its permissions (chmod a+r) or {FIX}")
    size = path.stat().st_size
    with path.open("rb") as f:
        if f.read(4) != GGUF_MAGIC:
            raise ModelFileError(f"{path} is not a GGUF model (wrong magic bytes); {FIX}")
        r = _Reader(f, path)
        (version,) = r.take("I")
        if version not in (2, 3):
            raise ModelFileError(f"{path}: unsupported GGUF version {version}; use a GGUF v2 or v3 model")
        n_tensors, n_kv = r.take("QQ")
        if n_tensors > 1 << 20 or n_kv > 1 << 20:
            raise ModelFileError(f"{path}: corrupt GGUF header ({n_tensors} tensors, {n_kv} keys); {FIX}")
        metadata: dict[str, object] = {}
        for _ in range(n_kv):
            key = r.string()
            (kind,) = r.take("I")
            metadata[key] = r.value(kind)
        data_end = parameters = 0
        for _ in range(n_tensors):
            r.string()
            (n_dims,) = r.take("I")
            dims = r.take("Q" * n_dims) if n_dims else ()
            ggml_type, offset = r.take("IQ")
            elements = 1
            for d in dims:
                elements *= d
            parameters += elements
            block, nbytes = _GGML_BLOCKS.get(ggml_type, (1, 0))
            data_end = max(data_end, offset + elements // block * nbytes)
        alignment = int(metadata.get("general.alignment", 32))  # type: ignore[call-overload]
        data_start = -(-f.tell() // alignment) * alignment
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


def check_model(path: Path, ctx_size: int = 512, available: int | None = None) -> ModelInfo:
    """Everything llama-server needs of the file: present, readable, GGUF, whole, and fits in free memory."""
    info = read_header(path)
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
    arch = info.architecture
    layers = int(info.metadata.get(f"{arch}.block_count", 32))  # type: ignore[call-overload]
    width = int(info.metadata.get(f"{arch}.embedding_length", 4096))  # type: ignore[call-overload]
    heads = int(info.metadata.get(f"{arch}.attention.head_count", 1) or 1)  # type: ignore[call-overload]
    kv_heads = int(info.metadata.get(f"{arch}.attention.head_count_kv", heads) or heads)  # type: ignore[call-overload]
    kv_bytes = 2 * layers * ctx_size * width * kv_heads // heads * 2  # K and V, f16
    return info.size_bytes + kv_bytes + 64 * 2**20


def _quantization(file_type: object) -> str:
    import gguf  # only for the names of llama.cpp's file types

    if file_type is None:
        return "unknown"
    try:
        return gguf.LlamaFileType(int(file_type)).name.removeprefix("MOSTLY_")  # type: ignore[call-overload]
    except ValueError:
        return f"file type {file_type}"


def model_info(path: Path, ctx_size: int = 2048) -> dict[str, Any]:
    """The DESIGN section 3 ``model info`` document, plus size and a RAM estimate for ``ctx_size`` tokens."""
    header = read_header(path)  # raises ModelFileError with the fix
    arch, meta = header.architecture, header.metadata
    context = meta.get(f"{arch}.context_length")
    return {
        "path": str(Path(path).absolute()),
        "name": header.name,
        "architecture": arch,
        "parameters": header.parameters,
        "quantization": _quantization(meta.get("general.file_type")),
        "context_length": int(context) if context is not None else None,  # type: ignore[call-overload]
        "chat_template": bool(meta.get("tokenizer.chat_template")),
        "size_bytes": header.size_bytes,
        "ctx_size": ctx_size,
        "ram_bytes": estimate_ram(header, ctx_size),
    }
