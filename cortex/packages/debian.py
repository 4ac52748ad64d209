"""Reading apt's own data: the ``*_Packages`` lists (compressed or not) and dpkg's status file.

Files are read directly rather than through ``apt-cache dumpavail``: one pass
over the text is several times faster than apt's formatter. Formats Python
cannot open itself (lz4 and zstd, which Debian's container images use) are
decompressed by ``apt-helper cat-file``, the decompressor apt itself uses.
"""

from __future__ import annotations

import bz2
import gzip
import lzma
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

APT_HELPER = "/usr/lib/apt/apt-helper"
LIST_SUFFIXES = ("", ".gz", ".xz", ".bz2", ".lz4", ".zst")
# Only the fields the index uses; everything else is skipped while parsing.
FIELDS = frozenset(
    {
        "package",
        "version",
        "installed-size",
        "provides",
        "depends",
        "pre-depends",
        "recommends",
        "suggests",
        "enhances",
        "description",
        "description-md5",
        "description-en",
        "source",
        "tag",
        "section",
        "priority",
        "essential",
        "status",
        "architecture",
    }
)
_DEP_NAME = re.compile(r"^\s*([a-z0-9][a-z0-9+.\-]*)")


def read_text(path: Path) -> str:
    """The decompressed text of an apt list file."""
    opener = {".gz": gzip.open, ".xz": lzma.open, ".bz2": bz2.open}.get(path.suffix)
    if path.suffix in (".lz4", ".zst"):
        done = subprocess.run([APT_HELPER, "cat-file", str(path)], capture_output=True, check=False)
        if done.returncode != 0:
            raise OSError(f"cannot decompress {path}: {done.stderr.decode(errors='replace').strip()}")
        return done.stdout.decode("utf-8", errors="replace")
    if opener is not None:
        with opener(path, "rb") as f:
            return f.read().decode("utf-8", errors="replace")
    return path.read_text(encoding="utf-8", errors="replace")


def list_files(lists_dir: Path, kind: str = "Packages") -> list[Path]:
    """apt's list files of one kind (``Packages`` or ``Translation-en``), sorted for a stable signature."""
    found = []
    for path in lists_dir.glob(f"*_{kind}*"):
        base = path.name
        for suffix in LIST_SUFFIXES:
            if suffix and base.endswith(suffix):
                base = base[: -len(suffix)]
                break
        if base.endswith(f"_{kind}") and path.is_file():
            found.append(path)
    return sorted(found)


def stanzas(text: str) -> Iterator[dict[str, str]]:
    """Control-file paragraphs as {lower-case field: value}; continuation lines are kept with their newline."""
    for block in text.split("\n\n"):
        fields: dict[str, str] = {}
        key = ""
        for line in block.split("\n"):
            if not line:
                continue
            if line[0] in " \t":
                if key:
                    fields[key] += "\n" + line[1:]
                continue
            name, sep, value = line.partition(":")
            if not sep:
                key = ""
                continue
            key = name.lower()
            if key in FIELDS:
                fields[key] = value.strip()
            else:
                key = ""
        if "package" in fields:
            yield fields


def dependency_names(value: str) -> set[str]:
    """Every package name a Depends-style field mentions, alternatives included, versions and arch dropped."""
    names = set()
    for alternative in re.split(r"[,|]", value):
        m = _DEP_NAME.match(alternative)
        if m:
            names.add(m.group(1))
    return names


def long_description(value: str) -> tuple[str, str]:
    """(summary, long text) of a Description field; ' .' lines are paragraph breaks."""
    summary, _, rest = value.partition("\n")
    lines = [("" if line.strip() == "." else line.strip()) for line in rest.split("\n")] if rest else []
    return summary.strip(), "\n".join(lines).strip()


def _order(c: str) -> int:
    """dpkg's sort weight of one non-digit character: ``~`` before everything, then the end, then letters."""
    if c == "~":
        return -1
    if c.isalpha():
        return ord(c)
    return ord(c) + 256


def _compare_part(a: str, b: str) -> int:
    """dpkg's comparison of an upstream version or revision: alternating non-digit and digit runs."""
    i = j = 0
    while i < len(a) or j < len(b):
        first_diff = 0
        while (i < len(a) and not a[i].isdigit()) or (j < len(b) and not b[j].isdigit()):
            ac = _order(a[i]) if i < len(a) and not a[i].isdigit() else 0
            bc = _order(b[j]) if j < len(b) and not b[j].isdigit() else 0
            if ac != bc:
                return -1 if ac < bc else 1
            i += 1
            j += 1
        while i < len(a) and a[i] == "0":
            i += 1
        while j < len(b) and b[j] == "0":
            j += 1
        while i < len(a) and a[i].isdigit() and j < len(b) and b[j].isdigit():
            if not first_diff:
                first_diff = ord(a[i]) - ord(b[j])
            i += 1
            j += 1
        if i < len(a) and a[i].isdigit():
            return 1
        if j < len(b) and b[j].isdigit():
            return -1
        if first_diff:
            return -1 if first_diff < 0 else 1
    return 0


def _split_version(version: str) -> tuple[int, str, str]:
    epoch, sep, rest = version.partition(":")
    if not sep:
        epoch, rest = "0", version
    upstream, sep, revision = rest.rpartition("-")
    if not sep:
        upstream, revision = rest, ""
    return int(epoch) if epoch.isdigit() else 0, upstream, revision


def version_compare(a: str, b: str) -> int:
    """-1, 0 or 1 as Debian version ``a`` sorts before, with or after ``b`` (``dpkg --compare-versions``):
    how apt picks the candidate when the security suite carries a newer build than the release."""
    ea, ua, ra = _split_version(a.strip())
    eb, ub, rb = _split_version(b.strip())
    if ea != eb:
        return -1 if ea < eb else 1
    return _compare_part(ua, ub) or _compare_part(ra, rb)


def installed_packages(status_file: Path) -> dict[str, str]:
    """{name: version} of the packages dpkg has installed (``install ok installed`` or held)."""
    if not status_file.is_file():
        return {}
    out = {}
    for f in stanzas(status_file.read_text(encoding="utf-8", errors="replace")):
        words = f.get("status", "").split()
        if len(words) == 3 and words[0] in ("install", "hold") and words[2] == "installed":
            out[f["package"]] = f.get("version", "")
    return out
