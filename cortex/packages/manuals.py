"""What each command does, in its manual page's own words: the NAME lines of sections 1, 6 and 8.

A request like "add physical volumes to an existing volume group" describes a
command (vgextend), not a package (lvm2, "Linux Logical Volume Manager"), and
a how-to question asks for one. The manual page's NAME line says what the
command does in the words such requests use. Two sources, one shape:

* **the archive**, ``data/manuals.tsv.xz``: every section 1, 6 and 8 page in
  Debian's archive with the package that ships it, read by man-db's
  ``lexgrog`` from the packages themselves (``scripts/archive_manuals.py``;
  a tool the user wants is usually not installed, so its page is not here);
* **this machine**, man-db's own database (``whatis``) for the pages that are
  installed, owned by the package whose dpkg file list names them: these win,
  and cover packages and releases the archive file does not know.

A page counts for the package whose *command* it documents. Debian often ships
pages apart from their programs: ldd(1) in ``manpages`` (ldd is libc-bin's),
objdump(1) in ``binutils-common``, git(1) in ``git-man``. When the page's
package puts no command on the PATH and apt's Contents name packages that
ship the page's command, the page goes to one of them (:func:`attribute`).
"""

from __future__ import annotations

import lzma
import os
import re
import subprocess
from dataclasses import dataclass, replace
from pathlib import Path

ARCHIVE = Path(__file__).parent / "data" / "manuals.tsv.xz"
DPKG_INFO = Path("/var/lib/dpkg/info")
MANDB = Path("/var/cache/man/index.db")  # rebuilt by man-db's dpkg trigger: its mtime says the pages changed
SECTIONS = ("1", "6", "8")
_PAGE_PATH = re.compile(r"^/usr/share/man/man([168])/([^/]+?)\.[168][a-z]*(?:\.gz)?$")
_WHATIS = re.compile(r"^(\S+) \(([168])[a-z]*\)\s+- (.+)$")


@dataclass(frozen=True)
class Manual:
    """One manual page: the package that ships it, its file name, section, the commands its NAME line lists, and
    what it says they do."""

    package: str
    page: str
    section: str
    names: tuple[str, ...]
    description: str


def read_archive(path: Path = ARCHIVE) -> list[Manual]:
    """The archive's pages (empty when the data file is missing)."""
    try:
        text = lzma.decompress(path.read_bytes()).decode("utf-8", errors="replace")
    except (OSError, lzma.LZMAError):
        return []
    out = []
    for line in text.splitlines():
        parts = line.split("\t")
        if len(parts) == 5:
            package, page, section, names, description = parts
            out.append(Manual(package, page, section, tuple(n for n in names.split(",") if n), description))
    return out


def page_owners(info_dir: Path = DPKG_INFO) -> dict[tuple[str, str], str]:
    """{(page, section): package} of the installed section 1, 6 and 8 pages, from dpkg's file lists."""
    owners: dict[tuple[str, str], str] = {}
    try:
        lists = [e for e in os.scandir(info_dir) if e.name.endswith(".list")]
    except OSError:
        return owners
    for entry in lists:
        package = entry.name[: -len(".list")].split(":", 1)[0]
        try:
            with open(entry.path, encoding="utf-8", errors="replace") as f:
                for line in f:
                    if line.startswith("/usr/share/man/man"):
                        m = _PAGE_PATH.match(line.rstrip("\n"))
                        if m:
                            owners[(m.group(2), m.group(1))] = package
        except OSError:
            continue
    return owners


def read_local(run=subprocess.run, info_dir: Path = DPKG_INFO) -> list[Manual]:
    """The installed pages man-db knows, each with the package that ships it (pages no package owns are
    skipped: nothing could install them)."""
    try:
        done = run(
            ["whatis", "-l", "-w", "*", "-s", ":".join(SECTIONS)],
            capture_output=True,
            text=True,
            errors="replace",
            timeout=30,
            check=False,
            env={**os.environ, "MANWIDTH": "1000", "LC_ALL": "C.UTF-8"},
        )
    except (OSError, subprocess.TimeoutExpired):
        return []
    owners = page_owners(info_dir)
    by_page: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for line in done.stdout.splitlines():
        m = _WHATIS.match(line.strip())
        if m and m.group(3).strip() != "(unknown subject)":  # whatis's word for a page without a NAME line
            by_page.setdefault((m.group(1), m.group(2)), []).append((m.group(1), m.group(3).strip()))
    out = []
    for (page, section), entries in by_page.items():
        package = owners.get((page, section))
        if package:
            out.append(Manual(package, page, section, (page,), entries[0][1]))
    return out


def signature() -> list[list[object]]:
    """What the manual data depends on, for the index's rebuild check."""
    out: list[list[object]] = []
    for path in (ARCHIVE, MANDB):
        try:
            st = path.stat()
            out.append([str(path), st.st_mtime_ns, st.st_size])
        except OSError:
            out.append([str(path), 0, 0])
    return out


def attribute(pages: list[Manual], commands: dict[str, set[str]], depends: dict[str, set[str]]) -> list[Manual]:
    """Each page of a package that ships no command (``commands``: package -> its commands, from Contents) moved
    to a package that ships the command it is named after: one that depends on the page's package if any
    (fontforge on fontforge-common), else the first by name. A package with commands keeps its pages, so
    openssl's cmp(1ssl) stays openssl's and is not diffutils' cmp."""
    shippers: dict[str, list[str]] = {}
    for package, names in commands.items():
        for command in names:
            shippers.setdefault(command, []).append(package)
    out = []
    for m in pages:
        others = [] if commands.get(m.package) else sorted(shippers.get(m.page, ()))
        if others:
            own = [p for p in others if m.package in depends.get(p, ())]
            m = replace(m, package=(own or others)[0])
        out.append(m)
    return out


def merged(archive: list[Manual], local: list[Manual]) -> list[Manual]:
    """The archive's pages with this machine's installed pages in place of the archive's for the same page."""
    seen = {(m.package, m.page, m.section) for m in local}
    return local + [m for m in archive if (m.package, m.page, m.section) not in seen]
