"""apt's long package descriptions, AppStream catalogue and Contents files, fetched by apt itself into Cortex's own
lists directory.

Debian's ``Packages`` lists carry only a one-line summary per package; the
long descriptions live in ``Translation-en``, which Debian's container images
switch off (``Acquire::Languages "none"``). Without them "find memory leaks"
cannot find valgrind, whose summary never says "leak". So Cortex asks apt to
download just the ``Translation-en`` files (no ``Packages``, no cache rebuild)
into ``state_dir/apt-lists``: the same mirrors and signature checks as
``apt-get update``, without touching the system's apt configuration or lists,
so a later plain ``apt-get update`` cannot delete them. The index matches them
to packages by ``Description-md5`` and falls back to summaries when they are
missing or stale. The same call fetches Debian's AppStream catalogue (DEP-11
``Components``, see appstream.py), which such images switch off as well, and
the Contents files (contents.py: which commands and services each package
ships; about 77 MB as apt stores them, the largest part).

    python -m cortex.packages.descriptions [DIR]     fetch (or refresh) them
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

DIRNAME = "apt-lists"  # next to packages.db in the state directory


class DescriptionsError(RuntimeError):
    """apt could not fetch the descriptions; the message has apt's own words."""


def descriptions_dir(state_dir: Path) -> Path:
    return Path(state_dir) / DIRNAME


def fetch_command(dest: Path) -> list[str]:
    """``apt-get update`` restricted to English translations, written to ``dest`` only."""
    return [
        "apt-get",
        "update",
        "-qq",
        "--error-on=any",
        "-o", f"Dir::State::Lists={dest}",
        "-o", "Acquire::Languages=en",
        "-o", "Acquire::IndexTargets::deb::Packages::DefaultEnabled=false",
        "-o", "Dir::Cache::pkgcache=",
        "-o", "Dir::Cache::srcpkgcache=",
        # AppStream's catalogue (appstream.py), defined here in full: machines without the appstream package
        # lack the target, and images that have it often switch it off.
        "-o", "Acquire::IndexTargets::deb::DEP-11::MetaKey=$(COMPONENT)/dep11/Components-$(NATIVE_ARCHITECTURE).yml",
        "-o", "Acquire::IndexTargets::deb::DEP-11::ShortDescription=Components-$(NATIVE_ARCHITECTURE)",
        "-o", "Acquire::IndexTargets::deb::DEP-11::Description=$(RELEASE)/$(COMPONENT) DEP-11 Metadata",
        "-o", "Acquire::IndexTargets::deb::DEP-11::DefaultEnabled=true",
        # Contents (contents.py), as apt-file defines them.
        "-o", "Acquire::IndexTargets::deb::Contents-deb::MetaKey=$(COMPONENT)/Contents-$(ARCHITECTURE)",
        "-o", "Acquire::IndexTargets::deb::Contents-deb::ShortDescription=Contents-$(ARCHITECTURE)",
        "-o", "Acquire::IndexTargets::deb::Contents-deb::Description=$(RELEASE)/$(COMPONENT) $(ARCHITECTURE) Contents",
        "-o", "Acquire::IndexTargets::deb::Contents-deb::DefaultEnabled=true",
    ]  # fmt: skip


def fetch(dest: Path, timeout: float = 900) -> int:
    """Fetch or refresh the ``Translation-en``, DEP-11 and Contents files into ``dest``; returns their total size in
    bytes."""
    from cortex.packages import appstream, contents, debian

    dest = Path(dest)
    (dest / "partial").mkdir(parents=True, exist_ok=True)
    try:
        done = subprocess.run(fetch_command(dest), capture_output=True, text=True, timeout=timeout, check=False)
    except FileNotFoundError as e:
        raise DescriptionsError("apt-get is not installed; Cortex reads package data from apt") from e
    except subprocess.TimeoutExpired as e:
        raise DescriptionsError(f"apt-get update did not finish in {timeout:g} s; check the network") from e
    files = debian.list_files(dest, "Translation-en") + appstream.list_files(dest) + contents.list_files(dest)
    if done.returncode != 0:
        lines = [line for line in (done.stderr or done.stdout).splitlines() if line.strip()]
        reason = lines[-1] if lines else f"exit status {done.returncode}"
        raise DescriptionsError(f"apt-get could not fetch the package descriptions into {dest}: {reason}")
    if not files:
        raise DescriptionsError(f"apt-get fetched no Translation-en files into {dest}; check /etc/apt/sources.list")
    return sum(p.stat().st_size for p in files)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args:
        dest = Path(args[0])
    else:
        from cortex.config import load_config

        dest = descriptions_dir(load_config().paths.state_dir)
    try:
        size = fetch(dest)
    except DescriptionsError as e:
        print(f"cortex: {e}; plans fall back to one-line summaries", file=sys.stderr)
        return 1
    print(f"apt's long package descriptions, AppStream catalogue and Contents: {size / 1e6:.1f} MB in {dest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
