"""A small real index and manual store for how-to tests: eight packages, seven installed pages of this machine,
with the bundled embedder's vectors (the ``small`` fixture of conftest.py)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from cortex.ask.docs import DocStore
from cortex.packages.index import PackageIndex

PACKAGES = ["procps", "psmisc", "iproute2", "coreutils", "systemd", "util-linux", "ldnsutils", "passwd"]
PAGES = [("pkill", "1"), ("killall", "1"), ("kill", "1"), ("ss", "8"), ("df", "1"), ("free", "1"), ("lsblk", "8")]


def stanza(name: str) -> str:
    return f"Package: {name}\nVersion: 1.0\nSection: admin\nPriority: optional\nDescription: {name} tools\n"


def build_small(root: Path, embedder_dir: Path) -> tuple[PackageIndex, DocStore]:
    for page, _ in PAGES:
        if not shutil.which(page) and not Path("/usr/sbin", page).exists():
            pytest.skip(f"{page} is not installed here")
    (root / "lists").mkdir()
    lists = root / "lists" / "deb.example.org_debian_dists_stable_main_binary-amd64_Packages"
    lists.write_text("\n".join(stanza(p) for p in PACKAGES), encoding="utf-8")
    (root / "status").write_text("", encoding="utf-8")
    index = PackageIndex(root / "state" / "packages.db", root / "lists", root / "status", models_dir=embedder_dir)
    index.ensure()
    store = DocStore(root / "state" / "manuals.db", embedder_dir)
    report = store.refresh(PAGES)
    assert report.parsed == len(PAGES)
    return index, store
