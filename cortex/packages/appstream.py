"""AppStream (DEP-11) metadata from apt: which packages are applications, and the words software centres use.

Debian publishes, next to its package lists, the AppStream catalogue that
GNOME Software and KDE Discover search: one YAML document per component with
its type (``desktop-application``, ``console-application``, ``font``...), a
name and summary written for users ("Video Editor"), freedesktop categories
(``AudioVideoEditing``) and upstream's search keywords. Two things come of it
for the ranking: a package that ships an application is a program, not a part
of one; and "cut my holiday videos" meets kdenlive's "Video Editor".

Only the English (``C``) values are read, by a line scanner that knows the
layout of these files: a YAML parser takes a minute over the 20 MB catalogue.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

APPLICATION_TYPES = frozenset({"desktop-application", "console-application", "web-application"})
_TOP = re.compile(r"^([A-Za-z][A-Za-z0-9]*):\s*(.*)$")
_CAMEL = re.compile(r"[A-Z]+[a-z0-9]*|[a-z0-9]+")


def list_files(lists_dir: Path) -> list[Path]:
    """The DEP-11 ``Components-<arch>.yml`` files in an apt lists directory, any compression."""
    return sorted(p for p in Path(lists_dir).glob("*_dep11_Components-*.yml*") if p.is_file())


def category_words(category: str) -> list[str]:
    """``AudioVideoEditing`` -> audio, video, editing."""
    return [w.lower() for w in _CAMEL.findall(category)]


@dataclass
class Component:
    type: str = ""
    package: str = ""
    name: str = ""
    summary: str = ""
    keywords: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)

    def title(self) -> str:
        """Name and summary as a software centre shows them: "Kdenlive: Video Editor"."""
        return f"{self.name}: {self.summary}" if self.summary else self.name

    def keyword_words(self) -> list[str]:
        """Upstream's search keywords and the words of its categories, lower-case: looser than the title."""
        return " ".join([*self.keywords, *(w for c in self.categories for w in category_words(c))]).lower().split()


@dataclass
class AppInfo:
    """What AppStream says of one package, all its components together."""

    app: bool = False  # ships a desktop, console or web application
    title: str = ""
    keywords: str = ""


def components(text: str) -> Iterator[Component]:
    """Each component of a DEP-11 file, English values only."""
    for doc in text.split("\n---\n"):
        item = Component()
        key = ""
        in_c = False  # inside the "C:" list of the translated Keywords
        for line in doc.split("\n"):
            top = _TOP.match(line)
            if top:
                key, value = top.group(1), top.group(2).strip()
                in_c = False
                if key == "Type":
                    item.type = value
                elif key == "Package":
                    item.package = value
            elif key in ("Name", "Summary") and line.startswith("  C: "):
                setattr(item, key.lower(), line[5:].strip().strip("'\""))
            elif key == "Categories" and line.startswith("- "):
                item.categories.append(line[2:].strip())
            elif key == "Keywords":
                if line.startswith("  C:"):
                    in_c = True
                elif in_c and line.startswith("  - "):
                    item.keywords.append(line[4:].strip().strip("'\""))
                elif not line.startswith("  - "):
                    in_c = False
        if item.package and item.type:
            yield item


def read(paths: list[Path]) -> dict[str, AppInfo]:
    """{package: AppInfo} from DEP-11 files."""
    from cortex.packages import debian

    out: dict[str, AppInfo] = {}
    for path in paths:
        for c in components(debian.read_text(path)):
            info = out.setdefault(c.package, AppInfo())
            info.app = info.app or c.type in APPLICATION_TYPES
            if c.type in APPLICATION_TYPES or not info.title:  # the application's own title wins over an add-on's
                info.title = c.title()
            info.keywords = " ".join(dict.fromkeys([*info.keywords.split(), *c.keyword_words()]))
    return out
