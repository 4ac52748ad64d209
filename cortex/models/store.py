"""The models directory: which models are installed, finding one by name or path, removing one.

A model is named by its catalog name (``phi-2``), its file name in the models
directory, or a path to any GGUF file. Files in the directory that are not in
the catalog are listed too, under their file stem. Whoever may not name files
(a cortexd peer that is not an admin) names only the first two, or a path
straight into the models directory.
"""

from __future__ import annotations

import os
from pathlib import Path

from cortex.models.catalog import CATALOG, CatalogEntry, find


class ModelStoreError(LookupError):
    """No such model, or it may not be removed; the message says what to do."""


class PathNotAllowed(ModelStoreError):
    """A path outside the models directory, named by someone who may not name files. One message for every
    such path: whether it exists is not the asker's business."""

    def __init__(self) -> None:
        super().__init__(
            "naming a model file by path needs root or the daemon's own user; "
            "name a model from 'cortex model list' (the catalog or the models directory)"
        )


def resolve(name: str, models_dir: Path, any_path: bool = True) -> Path:
    """The file ``name`` refers to: a path, a catalog name, a file or stem in ``models_dir``. It may not exist yet
    only for catalog names (so ``pull`` knows where it goes). Without ``any_path`` a path must lie directly in
    ``models_dir``, judged from its text alone (PathNotAllowed otherwise): nothing elsewhere is looked at."""
    entry = find(name)
    if entry is not None:
        return models_dir / entry.file
    if not any_path:
        if "/" in name or name.startswith("~"):
            path = Path(os.path.normpath(name))
            if not (path.is_absolute() and path.parent == models_dir.absolute()):
                raise PathNotAllowed()
            return path
    else:
        path = Path(name).expanduser()
        if "/" in name or _lexists(path):
            return path.absolute()
    for candidate in (models_dir / name, models_dir / f"{name}.gguf"):
        if _lexists(candidate):
            return candidate
    raise ModelStoreError(f"no model named {name!r}; see 'cortex model list' for names, or give a path to a GGUF file")


def _lexists(path: Path) -> bool:
    """Something is at ``path``, a broken symlink included: what it is, the GGUF reader says."""
    return path.exists() or path.is_symlink()


def installed_path(name: str, models_dir: Path, any_path: bool = True) -> Path:
    """Like ``resolve`` but something must be at the path (whether it is a model, ``modelfile`` checks)."""
    path = resolve(name, models_dir, any_path)
    if not _lexists(path):
        entry = find(name)
        if entry is None:
            raise ModelStoreError(f"model file not found: {path}; check the path, or see 'cortex model list'")
        raise ModelStoreError(f"{name} is not installed; download it with 'cortex model pull {entry.name}'")
    return path


def missing_catalog_model(path: Path, models_dir: Path) -> CatalogEntry | None:
    """The catalog model that ``cortex model pull`` would put at ``path`` when that file is missing (the bundled
    default in a new home, or a catalog model since removed); None when it is there or is no catalog file."""
    entry = find(path.name)
    if entry is None or path.exists() or path.parent.absolute() != models_dir.absolute():
        return None
    return entry


def local_files(models_dir: Path) -> list[Path]:
    """GGUF files in the models directory (not partial downloads)."""
    if not models_dir.is_dir():
        return []
    return sorted(p for p in models_dir.glob("*.gguf") if p.is_file())


def list_models(models_dir: Path) -> list[dict[str, object]]:
    """The catalog with installed flags, then installed files the catalog does not know (DESIGN section 3 shape)."""
    from cortex.models.modelfile import ModelFileError, estimate_ram, read_header

    rows = [e.to_dict(models_dir) for e in CATALOG]
    known = {e.file for e in CATALOG}
    for path in local_files(models_dir):
        if path.name in known:
            continue
        try:
            ram = estimate_ram(read_header(path), 2048)
        except ModelFileError:
            ram = 0  # listed so it can be removed; 'cortex model info' says what is wrong with it
        rows.append(
            {
                "name": path.stem,
                "file": path.name,
                "size_bytes": path.stat().st_size,
                "ram_bytes": ram,
                "installed": True,
                "best_for": "",
                "repo": "",
                "unverified": False,
            }
        )
    return rows


def remove(name: str, models_dir: Path, in_use: Path | None = None) -> Path:
    """Delete an installed model from ``models_dir``; refuse files elsewhere and the model in use."""
    path = installed_path(name, models_dir)
    if path.resolve().parent != models_dir.resolve():
        raise ModelStoreError(f"{path} is not in the models directory {models_dir}; Cortex removes only its own files")
    if in_use is not None and in_use.exists() and path.resolve() == in_use.resolve():
        raise ModelStoreError(
            f"{path.name} is the configured model; choose another first ('cortex model use NAME'), then remove it"
        )
    try:
        path.unlink()
    except OSError as e:  # a directory named like a model, say
        raise ModelStoreError(f"cannot remove {path}: {e.strerror}; Cortex removes only model files") from None
    return path
