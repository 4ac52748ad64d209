"""What a GGUF file holds, read from its header with the ``gguf`` package: for ``cortex model info``.

The header is checked first with the service's own walk (``read_header``), so
a truncated or foreign file gets the same one-line error as at start time;
only then is ``GGUFReader`` (numpy memory map, never loading the weights)
asked for tensor shapes and typed metadata.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from cortex.llm_service.modelfile import ModelFileError, estimate_ram, read_header


def _field(reader: Any, key: str) -> Any:
    field = reader.fields.get(key)
    return field.contents() if field is not None else None


def _quantization(file_type: Any) -> str:
    import gguf

    if file_type is None:
        return "unknown"
    try:
        return gguf.LlamaFileType(int(file_type)).name.removeprefix("MOSTLY_")
    except ValueError:
        return f"file type {file_type}"


def model_info(path: Path, ctx_size: int = 2048) -> dict[str, Any]:
    """The DESIGN section 3 ``model info`` document, plus size and a RAM estimate for ``ctx_size`` tokens."""
    header = read_header(path)  # raises ModelFileError with the fix
    try:
        from gguf import GGUFReader

        reader = GGUFReader(path)
    except (ValueError, OSError) as e:
        raise ModelFileError(f"{path}: the gguf package cannot read it ({e})") from None
    arch = str(_field(reader, "general.architecture") or "unknown")
    parameters = sum(math.prod(int(d) for d in t.shape) for t in reader.tensors)
    template = _field(reader, "tokenizer.chat_template")
    context = _field(reader, f"{arch}.context_length")
    return {
        "path": str(Path(path).absolute()),
        "name": str(_field(reader, "general.name") or Path(path).stem),
        "architecture": arch,
        "parameters": parameters,
        "quantization": _quantization(_field(reader, "general.file_type")),
        "context_length": int(context) if context is not None else None,
        "chat_template": bool(template),
        "size_bytes": header.size_bytes,
        "ctx_size": ctx_size,
        "ram_bytes": estimate_ram(header, ctx_size),
    }
