"""A non-editable install (the README's system mode: pip install '.[server]') carries every file the code reads."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_the_wheel_holds_every_file_git_tracks_under_cortex(tmp_path: Path) -> None:
    tracked = subprocess.run(
        ["git", "-C", str(REPO), "ls-files", "cortex"], capture_output=True, text=True, check=True
    ).stdout.split()
    assert any(not name.endswith(".py") for name in tracked)  # the data files this is about
    source = tmp_path / "src"  # the tracked files only: what a fresh clone builds from
    for name in [*tracked, "pyproject.toml", "README.md"]:
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        (source / name).write_bytes((REPO / name).read_bytes())
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(tmp_path), "."],
        cwd=source, check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    (wheel,) = tmp_path.glob("cortex-*.whl")
    assert set(tracked) <= set(zipfile.ZipFile(wheel).namelist())
