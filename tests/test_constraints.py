"""constraints.txt is what every install gets: it pins each package of this virtualenv at the version installed.

bootstrap.sh installs with ``-c constraints.txt`` (and .ci/run runs bootstrap), so this fails when the file
misses a package or pins another version than the one the tests run with, and when bootstrap stops using it
(pip would then install the newest versions pyproject.toml's ranges allow).
"""

from __future__ import annotations

import re
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOT_PINNED = {"cortex", "pip", "setuptools", "wheel"}  # the project itself and the virtualenv's own tools


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_constraints_pin_every_installed_package_at_its_version() -> None:
    pinned = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, version = line.partition("==")
            assert version, f"constraints.txt: {line!r} is not an exact pin"
            pinned[_norm(name)] = version.strip()
    installed = {_norm(d.metadata["Name"]): d.version for d in metadata.distributions()}
    for name in NOT_PINNED:
        installed.pop(name, None)
    assert pinned == installed
