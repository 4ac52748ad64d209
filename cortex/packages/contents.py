"""Which commands and systemd services each package ships, from apt's Contents files.

apt's lists say what a package is for, not what is in it, so "I need the dig
command" could not find bind9-dnsutils, and whether mosquitto is a server had
to be guessed from debtags, which most packages lack. (Which unit a plan
enables stays services.py's careful rule: many packages ship units that are
no server, powertop's and nftables' among them.) Debian
publishes a Contents file per architecture (every path of every package);
descriptions.py has apt fetch them with the other metadata, and this module
keeps only the lines that matter here: programs in ``bin``/``sbin`` and units
in ``lib/systemd/system``. The files are 670 MB uncompressed, so apt's own
``apt-helper cat-file`` decompresses them and ``grep`` filters them, in about
1.5 s on two cores; Python sees 50,000 lines.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from pathlib import Path

APT_HELPER = "/usr/lib/apt/apt-helper"
WANTED = r"^(usr/)?s?bin/[^/ ]+ |^(usr/)?lib/systemd/system/[^/ ]+\.service "


class ContentsError(RuntimeError):
    """apt-helper or grep failed on the Contents files (the index is then built without them)."""


def list_files(lists_dir: Path) -> list[Path]:
    """The ``Contents-<arch>`` files in an apt lists directory, any compression."""
    return sorted(p for p in Path(lists_dir).glob("*_Contents-*") if p.is_file() and ".diff" not in p.name)


@dataclass
class Contents:
    """Per package: the commands on the PATH it installs, and its systemd service units (templates such as
    ``foo@.service`` left out: they run nothing until given an instance)."""

    commands: dict[str, set[str]] = field(default_factory=dict)
    units: dict[str, set[str]] = field(default_factory=dict)

    def add(self, path: str, owners: str) -> None:
        """One Contents line: a path and the packages that ship it ("net/bind9-dnsutils,...")."""
        name = path.rsplit("/", 1)[1]
        if "/systemd/" in path and "@" in name:
            return
        table = self.units if "/systemd/" in path else self.commands
        for owner in owners.split(","):
            table.setdefault(owner.rsplit("/", 1)[-1], set()).add(name)


def read(files: list[Path]) -> Contents | None:
    """The commands and units of every package in ``files``; None when there are no Contents files."""
    if not files:
        return None
    try:
        cat = subprocess.Popen([APT_HELPER, "cat-file", *map(str, files)], stdout=subprocess.PIPE)
        try:
            grep = subprocess.run(["grep", "-E", WANTED], stdin=cat.stdout, capture_output=True, text=True)
        finally:
            cat.stdout.close()  # type: ignore[union-attr]
            cat_status = cat.wait()
    except OSError as e:
        raise ContentsError(f"cannot run {APT_HELPER} and grep: {e}") from e
    if cat_status != 0 or grep.returncode > 1:  # grep says 1 when nothing matched
        raise ContentsError(f"could not read apt's Contents files ({grep.stderr.strip() or f'exit {cat_status}'})")
    contents = Contents()
    for line in grep.stdout.splitlines():
        parts = line.split()
        if len(parts) == 2:
            contents.add(*parts)
    return contents
