"""The local package index: apt's lists in SQLite with FTS5, so plans are grounded in real package names.

One database, ``state_dir/packages.db``, holds a row per package (name,
section, priority, summary and long description, provides, installed size,
reverse-dependency count, debtags, the service unit it ships, install state)
and an FTS5 table over the text columns. Long descriptions come from
``Translation-en`` files, apt's or the ones Cortex fetched into
``state_dir/apt-lists`` (see descriptions.py), matched by ``Description-md5``.
It remembers the path, mtime and size of every list file and of dpkg's status
file:

* lists changed (``apt-get update``) -> full rebuild into a temporary file,
  then an atomic rename, so readers never see a half-built index;
* only dpkg's status changed (a package was installed) -> the install state
  columns are refreshed in place, in well under a second;
* nothing changed -> nothing is read but two ``stat`` calls per file.

No lists at all raises :class:`PackageIndexError` telling the user to run
``apt-get update``: an empty index must never turn into an empty plan.
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
import sqlite3
import time
from collections import Counter
from collections.abc import Callable, Collection, Sequence
from dataclasses import astuple, dataclass
from pathlib import Path
from typing import Any

from cortex.packages import appstream, building, contents, debian, descriptions, manuals, semantic
from cortex.packages.services import service_unit
from cortex.packages.vocabulary import is_part

log = logging.getLogger(__name__)

LISTS_DIR = Path("/var/lib/apt/lists")
STATUS_FILE = Path("/var/lib/dpkg/status")
SCHEMA_VERSION = "19"
PRIORITY_RANK = {"required": 4, "important": 3, "standard": 2, "optional": 1, "extra": 0}

SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE packages (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    version TEXT NOT NULL DEFAULT '',
    source TEXT NOT NULL DEFAULT '',
    section TEXT NOT NULL DEFAULT '',
    priority TEXT NOT NULL DEFAULT '',
    summary TEXT NOT NULL DEFAULT '',
    description TEXT NOT NULL DEFAULT '',
    provides TEXT NOT NULL DEFAULT '',
    installed_size INTEGER NOT NULL DEFAULT 0,
    rdepends INTEGER NOT NULL DEFAULT 0,
    mentions INTEGER NOT NULL DEFAULT 0,
    tags TEXT NOT NULL DEFAULT '',
    essential INTEGER NOT NULL DEFAULT 0,
    service TEXT NOT NULL DEFAULT '',
    installed INTEGER NOT NULL DEFAULT 0,
    installed_version TEXT NOT NULL DEFAULT '',
    app INTEGER NOT NULL DEFAULT 0,
    app_title TEXT NOT NULL DEFAULT '',
    app_keywords TEXT NOT NULL DEFAULT '',
    commands TEXT NOT NULL DEFAULT '',
    units TEXT NOT NULL DEFAULT '',
    curated INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX packages_source ON packages (source);  -- "dovecot" names the source of dovecot-core
CREATE TABLE provides (virtual TEXT NOT NULL, package TEXT NOT NULL);
CREATE INDEX provides_virtual ON provides (virtual);
CREATE VIRTUAL TABLE packages_fts USING fts5(
    name, provides, summary, description, tags, appstream, commands,
    content='packages', content_rowid='id', tokenize='porter unicode61'
);
CREATE TABLE manuals (
    id INTEGER PRIMARY KEY,
    package TEXT NOT NULL,
    page TEXT NOT NULL,
    section TEXT NOT NULL,
    names TEXT NOT NULL,
    description TEXT NOT NULL,
    local INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX manuals_package ON manuals (package);
CREATE INDEX manuals_page ON manuals (page);
CREATE VIRTUAL TABLE manuals_fts USING fts5(
    names, description, content='manuals', content_rowid='id', tokenize='porter unicode61'
);
"""
# bm25 weights of the FTS columns: a word in the name matters most, then provides and the summary.
BM25_WEIGHTS = (20.0, 4.0, 5.0, 1.0, 1.5, 3.0, 4.0)
_BY_IDS = "SELECT {} FROM {} WHERE id IN (SELECT value FROM json_each(?))"  # rows by a JSON list of ids, in one query
MANUAL_WEIGHTS = (5.0, 3.0)  # a manual page's command names, its NAME line's description


class PackageIndexError(RuntimeError):
    """The index cannot be built or read; the message says what to run."""


@dataclass(frozen=True)
class Package:
    name: str
    version: str
    source: str  # the source package: openssl for libssl-dev, the name itself when apt gives none
    section: str
    priority: str
    summary: str
    description: str
    provides: tuple[str, ...]
    installed_size: int  # KiB, as apt reports it
    rdepends: int  # how many packages depend on this one
    mentions: int  # how many recommend, suggest or enhance it: a popularity proxy where popcon is absent
    tags: tuple[str, ...]
    essential: bool
    service: str  # systemd unit to enable after install, "" for none
    installed: bool
    installed_version: str
    app: bool = False  # ships an AppStream desktop or console application: a program, not a part of one
    app_title: str = ""  # AppStream "name: summary", written for users ("Kdenlive: Video Editor")
    app_keywords: str = ""  # AppStream search keywords and category words
    commands: tuple[str, ...] = ()  # programs it puts on the PATH, by apt's Contents files (empty without them)
    units: tuple[str, ...] = ()  # systemd services it ships, by the same files: a server, not which unit to enable
    curated: int = 0  # how many metapackages (Debian's tasks and blends) pick it: the tools a field relies on

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Package:
        return cls(
            name=row["name"],
            version=row["version"],
            source=row["source"],
            section=row["section"],
            priority=row["priority"],
            summary=row["summary"],
            description=row["description"],
            provides=tuple(p for p in row["provides"].split() if p),
            installed_size=row["installed_size"],
            rdepends=row["rdepends"],
            mentions=row["mentions"],
            tags=tuple(t for t in row["tags"].split() if t),
            essential=bool(row["essential"]),
            service=row["service"],
            installed=bool(row["installed"]),
            installed_version=row["installed_version"],
            app=bool(row["app"]),
            app_title=row["app_title"],
            app_keywords=row["app_keywords"],
            commands=tuple(row["commands"].split()),
            units=tuple(row["units"].split()),
            curated=row["curated"],
        )

    @property
    def priority_rank(self) -> int:
        return PRIORITY_RANK.get(self.priority, 1)


@dataclass(frozen=True)
class Hit:
    """A search result: the package and its FTS5 bm25 relevance (higher is better)."""

    package: Package
    relevance: float


@dataclass(frozen=True)
class ManualHit:
    """A manual page matching a search: what it says, whether it is installed here, its bm25 relevance."""

    package: str
    page: str
    section: str
    names: tuple[str, ...]
    description: str
    local: bool
    relevance: float
    row: int = 0  # its id in the index (and its row among the vectors)

    @property
    def cite(self) -> str:
        return f"{self.page}({self.section})"


@dataclass(frozen=True)
class BuildReport:
    action: str  # "built" | "refreshed" | "vectors" | "unchanged"
    packages: int
    seconds: float
    pending: bool = False  # the vectors are out of date and another process is building them (building.py)


# Debtags facets that say what a package is for; the others (implementation language, culture...) are noise
# for matching a request.
TOPICAL_FACETS = frozenset(
    {"accessibility", "admin", "game", "interface", "mail", "network", "office", "protocol", "science", "security"}
    | {"sound", "use", "web", "works-with", "works-with-format", "hardware", "scope", "x11"}
)


def name_words(name: str) -> str:
    """A name and its letter and digit runs, so "lua" finds ``lua5.4`` and "zlib" finds ``zlib1g-dev``."""
    return " ".join(dict.fromkeys([name, *re.findall(r"[a-z]+|[0-9]+", name)]))


def _also_known_as(row: list[Any]) -> str:
    """The FTS ``provides`` column of a row: its virtual packages, and its source package when that has another
    name, so "openssl" finds ``libssl-dev`` (weighted below the package's own name)."""
    name, source, provides = row[0], row[2], row[7]
    return provides if source == name else f"{provides} {name_words(source)}".strip()


def tag_words(tags: list[str] | tuple[str, ...]) -> str:
    """The values of a package's topical debtags as words: ``use::editing works-with::image:raster`` ->
    ``editing image raster``."""
    words = []
    for tag in tags:
        facet, _, value = tag.partition("::")
        if facet in TOPICAL_FACETS and value and value != "TODO":
            words.extend(re.split(r"[:\-]", value))
    return " ".join(dict.fromkeys(words))


def first_sentence(text: str, limit: int = 200) -> str:
    """The first sentence of a long description, at most ``limit`` characters."""
    sentence = re.split(r"(?<=[a-z0-9)])[.!?](?:\s|$)", " ".join(text.split()), maxsplit=1)[0]
    return sentence[:limit]


def _signature(paths: list[Path]) -> list[list[Any]]:
    out = []
    for p in paths:
        st = p.stat()
        out.append([str(p), st.st_mtime_ns, st.st_size])
    return out


def fts_query(terms: list[str]) -> str:
    """An FTS5 OR-query of ``terms``, each quoted so no word is read as FTS syntax."""
    quoted = []
    for term in terms:
        words = re.findall(r"[\w+.]+", term.lower())
        if words:
            quoted.append('"' + " ".join(words).replace('"', "") + '"')
    return " OR ".join(dict.fromkeys(quoted))


class PackageIndex:
    """apt's package data in SQLite; ``ensure()`` keeps it in step with apt's lists and dpkg."""

    def __init__(
        self,
        db_path: Path,
        lists_dir: Path = LISTS_DIR,
        status_file: Path = STATUS_FILE,
        descriptions_dir: Path | None = None,
        models_dir: Path | None = None,
    ):
        self.db_path = Path(db_path)
        self.lists_dir = Path(lists_dir)
        self.status_file = Path(status_file)
        # Long descriptions Cortex fetched itself (descriptions.py); apt's own lists may carry them too.
        self.descriptions_dir = Path(descriptions_dir or descriptions.descriptions_dir(self.db_path.parent))
        self._conn: sqlite3.Connection | None = None
        self._vocabulary: dict[str, int] | None = None
        # The semantic signal's vectors, when the embedder is installed in models_dir (semantic.py).
        self.vectors = semantic.Vectors(self.db_path, models_dir or self.db_path.parent / "no-models")

    # Building -------------------------------------------------------------------------------------------------

    def _lists(self) -> list[Path]:
        lists = debian.list_files(self.lists_dir)
        if not lists:
            raise PackageIndexError(
                f"no package lists in {self.lists_dir}; run 'apt-get update' (as root) so Cortex can see the packages"
            )
        return lists

    def _translations(self) -> list[Path]:
        return debian.list_files(self.lists_dir, "Translation-en") + debian.list_files(
            self.descriptions_dir, "Translation-en"
        )

    def _appstream(self) -> list[Path]:
        return appstream.list_files(self.lists_dir) + appstream.list_files(self.descriptions_dir)

    def _contents(self) -> list[Path]:
        """Cortex's own Contents files, else the system's (apt-file fetches them too): one set, not both."""
        return contents.list_files(self.descriptions_dir) or contents.list_files(self.lists_dir)

    def status_stamp(self) -> str:
        """What changes when a package is installed or removed (for caches kept beside the index)."""
        meta = self._stored_meta()
        return f"{meta.get('built_at')} {meta.get('status')}"

    def _stored_meta(self) -> dict[str, str]:
        if not self.db_path.exists():
            return {}
        try:
            with sqlite3.connect(self.db_path) as conn:
                return dict(conn.execute("SELECT key, value FROM meta").fetchall())
        except sqlite3.DatabaseError:
            return {}  # corrupt or foreign file: rebuild it

    def ensure(self, progress: Callable[[str, int, int], None] | None = None, vectors: bool = True) -> BuildReport:
        """Bring the index up to date with apt's lists and dpkg's status, and its vectors with it (unless
        ``vectors`` is false); cheap when nothing changed. ``progress(stage, done, total)`` hears about a build.
        While another process builds the vectors, the ones there are (or none) serve: the report says so, and
        so does a line on stderr."""
        start = time.monotonic()
        lists = self._lists() + self._translations() + self._appstream() + self._contents()
        lists_sig = json.dumps([*_signature(lists), *manuals.signature()])
        status_sig = json.dumps(_signature([self.status_file]) if self.status_file.exists() else [])
        meta = self._stored_meta()
        action = "unchanged"
        if meta.get("schema") != SCHEMA_VERSION or meta.get("lists") != lists_sig:
            if progress:
                progress("reading apt's lists and manual pages", 0, 0)
            self._build(lists_sig, status_sig)
            meta, action = self._stored_meta(), "built"
        elif meta.get("status") != status_sig:
            self._refresh_installed(status_sig)
            action = "refreshed"
        stamp = f"{semantic.MODEL} {meta.get('built_at')} {meta.get('packages')}"
        pending = False
        if vectors and not self.vectors.current(stamp) and semantic.available(self.vectors.models_dir):
            with building.exclusive(self.db_path.parent, wait=False) as mine:
                pending = not mine
                if pending:
                    building.tell(self.db_path.parent)
                elif not self.vectors.current(stamp):  # (or another builder finished meanwhile)
                    self.vectors.build(
                        self._vector_texts(), stamp, lambda done, total: progress and progress("vectors", done, total)
                    )
                    action = "built" if action == "built" else "vectors"
        return BuildReport(action, int(meta.get("packages", 0)), time.monotonic() - start, pending)

    def _vector_texts(self) -> dict[str, list[tuple[int, str]]]:
        """What the semantic signal encodes: the summaries of packages that are programs, not parts of them
        (full-text search serves "libssl headers"), and every NAME line."""
        with sqlite3.connect(self.db_path) as conn:
            packages = [
                (row, f"{summary}. {first_sentence(description)}".strip(". "))
                for row, name, summary, description in conn.execute(
                    "SELECT id, name, summary, description FROM packages"
                )
                if summary and not is_part(name)
            ]
            pages = conn.execute("SELECT id, description FROM manuals").fetchall()
        return {"packages": packages, "manuals": pages}

    def _read_packages(self) -> tuple[dict[str, dict[str, str]], dict[str, str]]:
        """{name: fields} from every Packages list (the highest version wins, as apt's candidate) and
        {md5: long text} translations."""
        packages: dict[str, dict[str, str]] = {}
        for path in self._lists():
            for fields in debian.stanzas(debian.read_text(path)):
                known = packages.get(fields["package"])
                # apt's candidate: the highest version of any suite (the security suite's deb12u12 over deb12u9);
                # fields only the release's list carries (debtags) are kept
                if known is None:
                    packages[fields["package"]] = fields
                elif debian.version_compare(fields.get("version", ""), known.get("version", "")) > 0:
                    packages[fields["package"]] = {**known, **fields}
                else:
                    packages[fields["package"]] = {**fields, **known}
        translations: dict[str, str] = {}
        for path in self._translations():
            for fields in debian.stanzas(debian.read_text(path)):
                translations[fields.get("description-md5", "")] = debian.long_description(
                    fields.get("description-en", "")
                )[1]
        return packages, translations

    def _build(self, lists_sig: str, status_sig: str) -> int:
        self._vocabulary = None
        packages, translations = self._read_packages()
        apps = appstream.read(self._appstream())
        try:
            shipped = contents.read(self._contents())
        except contents.ContentsError as e:
            log.warning("%s; the index is built without commands and services", e)
            shipped = None
        installed = debian.installed_packages(self.status_file)
        if self.status_file.is_file():  # locally installed packages that no list carries still belong in the index
            for fields in debian.stanzas(self.status_file.read_text(encoding="utf-8", errors="replace")):
                if fields["package"] in installed and fields["package"] not in packages:
                    packages[fields["package"]] = fields

        rdepends: Counter[str] = Counter()
        depends: dict[str, set[str]] = {}
        mentions: Counter[str] = Counter()
        virtual: list[tuple[str, str]] = []
        rows = []
        curated: Counter[str] = Counter()  # picked by a metapackage: Debian's blends and tasks name each field's tools
        for name, f in packages.items():
            if f.get("section", "").endswith("metapackages") or name.startswith("task-"):
                for pick in debian.dependency_names(f.get("depends", "") + "," + f.get("recommends", "")):
                    curated[pick] += 1
            depends[name] = debian.dependency_names(f.get("depends", "") + "," + f.get("pre-depends", "")) - {name}
            for dep in depends[name]:
                rdepends[dep] += 1
            for other in debian.dependency_names(
                f.get("recommends", "") + "," + f.get("suggests", "") + "," + f.get("enhances", "")
            ):
                if other != name:
                    mentions[other] += 1
            provides = sorted(debian.dependency_names(f.get("provides", "")))
            virtual.extend((v, name) for v in provides)
            summary, long_text = debian.long_description(f.get("description", ""))
            if not long_text:
                long_text = translations.get(f.get("description-md5", ""), "")
            tags = " ".join(t.strip() for t in f.get("tag", "").replace("\n", " ").split(",") if t.strip())
            section = f.get("section", "").rsplit("/", 1)[-1]
            size = f.get("installed-size", "0")
            rows.append(
                [
                    name,
                    f.get("version", ""),
                    f.get("source", "").split(" ", 1)[0] or name,  # "Source: openssl (3.0.15-1)"
                    section,
                    f.get("priority", ""),
                    summary,
                    long_text,
                    " ".join(provides),
                    int(size) if size.isdigit() else 0,
                    tags,
                    1 if f.get("essential", "").lower() == "yes" else 0,
                    service_unit(name, section, tags),
                    1 if name in installed else 0,
                    installed.get(name, ""),
                    *astuple(apps.get(name) or appstream.AppInfo()),
                    " ".join(sorted(shipped.commands.get(name, ()))) if shipped else "",
                    " ".join(sorted(shipped.units.get(name, ()))) if shipped else "",
                ]
            )
        for row in rows:
            row[9:9] = [rdepends.get(row[0], 0), mentions.get(row[0], 0)]
            row.append(curated.get(row[0], 0))

        self.db_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.db_path.with_name(f"{self.db_path.name}.{os.getpid()}.tmp")
        tmp.unlink(missing_ok=True)
        conn = sqlite3.connect(tmp)
        try:
            conn.executescript("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;" + SCHEMA)
            conn.executemany(
                "INSERT INTO packages (name, version, source, section, priority, summary, description, provides,"
                " installed_size, rdepends, mentions, tags, essential, service, installed, installed_version, app,"
                " app_title, app_keywords, commands, units, curated)"
                " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                rows,
            )
            conn.executemany("INSERT INTO provides VALUES (?, ?)", virtual)
            self._insert_manuals(conn, {r[0] for r in rows}, shipped.commands if shipped else {}, depends)
            conn.executemany(
                "INSERT INTO packages_fts (rowid, name, provides, summary, description, tags, appstream, commands)"
                " VALUES (?,?,?,?,?,?,?,?)",
                (
                    (
                        i,
                        name_words(r[0]),
                        _also_known_as(r),
                        r[5],
                        r[6],
                        tag_words(r[11].split()),
                        f"{r[17]} {r[18]}",
                        r[19],
                    )
                    for i, r in enumerate(rows, 1)
                ),
            )
            meta = {
                "schema": SCHEMA_VERSION,
                "lists": lists_sig,
                "status": status_sig,
                "packages": str(len(rows)),
                "built_at": str(int(time.time())),
            }
            conn.executemany("INSERT INTO meta VALUES (?, ?)", meta.items())
            conn.commit()
        finally:
            conn.close()
        self.close()
        os.replace(tmp, self.db_path)
        return len(rows)

    def _insert_manuals(
        self, conn: sqlite3.Connection, names: set[str], commands: dict[str, set[str]], depends: dict[str, set[str]]
    ) -> None:
        """The manual pages of the indexed packages: this machine's installed pages, the archive's for the rest,
        each with the package of the command it documents."""
        local = manuals.read_local()
        pages = manuals.attribute(local + manuals.read_archive(), commands, depends)  # one map of who ships what
        local, archive = pages[: len(local)], pages[len(local) :]
        local_keys = {(m.package, m.page, m.section) for m in local}
        rows = [
            (
                m.package,
                m.page,
                m.section,
                ",".join(m.names),
                m.description,
                (m.package, m.page, m.section) in local_keys,
            )
            for m in manuals.merged(archive, local)
            if m.package in names
        ]
        conn.executemany(
            "INSERT INTO manuals (package, page, section, names, description, local) VALUES (?,?,?,?,?,?)", rows
        )
        conn.execute("INSERT INTO manuals_fts (rowid, names, description) SELECT id, names, description FROM manuals")

    def _refresh_installed(self, status_sig: str) -> None:
        installed = debian.installed_packages(self.status_file)
        conn = sqlite3.connect(self.db_path)
        try:
            with conn:
                conn.execute("UPDATE packages SET installed = 0, installed_version = '' WHERE installed = 1")
                conn.executemany(
                    "UPDATE packages SET installed = 1, installed_version = ? WHERE name = ?",
                    [(v, n) for n, v in installed.items()],
                )
                conn.execute("INSERT OR REPLACE INTO meta VALUES ('status', ?)", (status_sig,))
        finally:
            conn.close()

    # Reading --------------------------------------------------------------------------------------------------

    @property
    def conn(self) -> sqlite3.Connection:
        if self._conn is None:
            if not self.db_path.exists():
                self.ensure()
            self._conn = sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True, check_same_thread=False)
            self._conn.row_factory = sqlite3.Row
        return self._conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def get(self, name: str) -> Package | None:
        row = self.conn.execute("SELECT * FROM packages WHERE name = ?", (name,)).fetchone()
        return Package.from_row(row) if row else None

    def get_many(self, names: list[str]) -> dict[str, Package]:
        if not names:
            return {}
        marks = ",".join("?" * len(names))
        rows = self.conn.execute(f"SELECT * FROM packages WHERE name IN ({marks})", names).fetchall()
        return {r["name"]: Package.from_row(r) for r in rows}

    def exists(self, name: str) -> bool:
        return self.conn.execute("SELECT 1 FROM packages WHERE name = ?", (name,)).fetchone() is not None

    def search_manuals(self, terms: list[str], limit: int = 1000, per_package: int = 8) -> list[ManualHit]:
        """Manual pages whose names or NAME line match any of ``terms``, best bm25 relevance first, at most
        ``per_package`` of each package (google-cloud-cli alone has 17,000 pages)."""
        query = fts_query(terms)
        if not query:
            return []
        weights = ", ".join(str(w) for w in MANUAL_WEIGHTS)
        rows = self.conn.execute(
            "SELECT * FROM (SELECT *, row_number() OVER (PARTITION BY package ORDER BY relevance DESC) AS nth"
            f" FROM (SELECT m.*, -bm25(manuals_fts, {weights}) AS relevance FROM manuals_fts"
            " JOIN manuals m ON m.id = manuals_fts.rowid WHERE manuals_fts MATCH ?))"
            " WHERE nth <= ? ORDER BY relevance DESC LIMIT ?",
            (query, per_package, limit),
        ).fetchall()
        return [_manual_hit(r, r["relevance"]) for r in rows]

    def installed_manuals(self, pages: Collection[tuple[str, str]]) -> dict[tuple[str, str], ManualHit]:
        """{(page, section): its installed manual page} for ``pages``."""
        if not pages:
            return {}
        rows = self.conn.execute(
            "SELECT * FROM manuals WHERE local = 1 AND page IN (SELECT value FROM json_each(?))",
            (json.dumps(sorted({page for page, _ in pages})),),
        ).fetchall()
        return {(r["page"], r["section"]): _manual_hit(r, 0.0) for r in rows if (r["page"], r["section"]) in pages}

    def popularity_of(self, names: Collection[str]) -> dict[str, int]:
        """{package: how many packages depend on, recommend or suggest it}."""
        rows = self.conn.execute(
            "SELECT name, rdepends + mentions FROM packages WHERE name IN (SELECT value FROM json_each(?))",
            (json.dumps(sorted(names)),),
        ).fetchall()
        return dict(rows)

    def installed_command_pages(self) -> list[tuple[str, str]]:
        """(page, section) of the installed manual pages of commands that are on this machine's PATH (not the
        thousands of sub-command pages some packages ship)."""
        rows = self.conn.execute("SELECT page, section FROM manuals WHERE local = 1").fetchall()
        return [(page, section) for page, section in rows if on_path(page)]

    def nearest(self, vector: Any, limit: int = 30) -> list[str]:
        """The packages whose summary or a NAME line is closest in meaning to ``vector`` (an encoded request,
        ``self.vectors.encode``), closest first; empty without one."""
        if vector is None:
            return []
        found = [*self.nearest_packages(vector, limit)]
        found += [(manual.package, sim) for manual, sim in self.nearest_manuals(vector, 2 * limit)]
        names: dict[str, float] = {}
        for name, sim in sorted(found, key=lambda f: -f[1]):
            names.setdefault(name, sim)
        return list(names)[:limit]

    def nearest_manuals(self, vector: Any, limit: int = 40) -> list[tuple[ManualHit, float]]:
        """The manual pages whose NAME line is closest in meaning to ``vector`` (an encoded question)."""
        found = self.vectors.nearest(vector, "manuals", limit)
        ids = json.dumps([i for i, _ in found])
        rows = {r["id"]: r for r in self.conn.execute(_BY_IDS.format("*", "manuals"), (ids,))}
        return [(_manual_hit(rows[i], 0.0), sim) for i, sim in found if i in rows]

    def nearest_packages(self, vector: Any, limit: int = 20) -> list[tuple[str, float]]:
        """The packages whose summary is closest in meaning to ``vector``: (name, cosine)."""
        found = self.vectors.nearest(vector, "packages", limit)
        names = dict(self.conn.execute(_BY_IDS.format("id, name", "packages"), (json.dumps([i for i, _ in found]),)))
        return [(names[i], sim) for i, sim in found if i in names]

    def package_similarity(self, vector: Any, names: Collection[str]) -> dict[str, float]:
        """{package: cosine of ``vector`` with its summary} for ``names`` that have a vector."""
        rows = self.conn.execute(
            "SELECT id, name FROM packages WHERE name IN (SELECT value FROM json_each(?))", (json.dumps(sorted(names)),)
        ).fetchall()
        sims = self.vectors.similarity(vector, "packages", [r[0] for r in rows])
        return {name: float(sim) for (_, name), sim in zip(rows, sims, strict=True) if not math.isnan(sim)}

    def manuals_of(self, packages: Sequence[str], per_package: int = 3) -> list[ManualHit]:
        """Up to ``per_package`` manual pages of each of ``packages``: its commands' pages first (section 1, 8)."""
        rows = self.conn.execute(
            "SELECT * FROM (SELECT m.*, row_number() OVER (PARTITION BY package ORDER BY section IN ('1', '8') DESC,"
            " local DESC, length(page)) AS nth FROM manuals m WHERE package IN (SELECT value FROM json_each(?)))"
            " WHERE nth <= ?",
            (json.dumps(list(packages)), per_package),
        ).fetchall()
        return [_manual_hit(r, 0.0) for r in rows]

    def similarity(self, vector: Any, names: Collection[str]) -> dict[str, float]:
        """{package: how close in meaning ``vector`` (an encoded request) is to its summary or one of its NAME
        lines} (cosine), for ``names``; empty without a vector."""
        if vector is None or not names:
            return {}
        out = self.package_similarity(vector, names)
        pages = self.conn.execute(
            "SELECT id, package FROM manuals WHERE package IN (SELECT value FROM json_each(?))",
            (json.dumps(sorted(names)),),
        ).fetchall()
        sims = self.vectors.similarity(vector, "manuals", [r[0] for r in pages])
        for (_, name), sim in zip(pages, sims, strict=True):
            if not math.isnan(sim):
                out[name] = max(out.get(name, -1.0), float(sim))
        return out

    def command_owners(self, command: str) -> list[str]:
        """Packages that put ``command`` on the PATH (by the Contents files), most depended-on first."""
        query = fts_query([command])
        if not query:
            return []
        rows = self.conn.execute(
            "SELECT p.name, p.commands FROM packages_fts JOIN packages p ON p.id = packages_fts.rowid"
            " WHERE packages_fts MATCH ? ORDER BY p.rdepends + p.mentions DESC, p.name",
            (f"commands : {query}",),
        ).fetchall()
        # FTS splits "x-www-browser" and folds case: keep exact names, in any case ("R" is r-base-core's)
        return [name for name, shipped in rows if command.lower() in shipped.lower().split()]

    def names_software(self, word: str) -> bool:
        """``word`` is the name of a package or of a source package ("dovecot" builds dovecot-core)."""
        sql = "SELECT 1 FROM packages WHERE name = ? OR source = ? LIMIT 1"
        return self.conn.execute(sql, (word, word)).fetchone() is not None

    def vocabulary(self) -> dict[str, int]:
        """The words of package names, summaries and AppStream titles, each with how many packages use it:
        the words a misspelt request word may be corrected to. Made on first use (well under a second) and
        kept until the index is rebuilt."""
        if self._vocabulary is None:
            counts: dict[str, int] = {}
            for name, summary, title in self.conn.execute("SELECT name, summary, app_title FROM packages"):
                words = {name, *re.findall(r"[a-z][a-z0-9]+", f"{name} {summary} {title}".lower())}
                for word in words:
                    counts[word] = counts.get(word, 0) + 1
            self._vocabulary = counts
        return self._vocabulary

    def providers(self, virtual: str) -> list[str]:
        """Real packages that provide ``virtual`` (e.g. ``httpd``), most depended-on first."""
        rows = self.conn.execute(
            "SELECT p.name FROM provides v JOIN packages p ON p.name = v.package WHERE v.virtual = ?"
            " ORDER BY p.rdepends DESC, p.name",
            (virtual,),
        ).fetchall()
        return [r[0] for r in rows]

    def search(
        self, terms: list[str], limit: int = 200, names: Collection[str] | None = None, name_like: Sequence[str] = ()
    ) -> list[Hit]:
        """Packages matching any of ``terms`` (words or phrases), best bm25 relevance first; only ``names``
        if given, only names matching one of the SQL LIKE patterns ``name_like`` if given."""
        return self._match(fts_query(terms), limit, names, name_like)

    def search_all(self, any_of: list[str], limit: int = 200) -> list[Hit]:
        """Packages matching every one of ``any_of``, each an FTS5 OR-query from :func:`fts_query`."""
        return self._match(" AND ".join(f"({q})" for q in any_of if q), limit)

    def frequency(self, fts: str, skip_prefixes: Sequence[str] = ()) -> int:
        """How many packages an FTS5 query matches: how generic its words are. Names starting with one of
        ``skip_prefixes`` are not counted (3,000 ``libghc-`` libraries do not make "haskell" a common word)."""
        skip = "".join(" AND p.name NOT LIKE ?" for _ in skip_prefixes)
        return self.conn.execute(
            "SELECT count(*) FROM packages_fts JOIN packages p ON p.id = packages_fts.rowid"
            f" WHERE packages_fts MATCH ?{skip}",
            (fts, *(f"{prefix}%" for prefix in skip_prefixes)),
        ).fetchone()[0]

    def _match(
        self, query: str, limit: int, names: Collection[str] | None = None, name_like: Sequence[str] = ()
    ) -> list[Hit]:
        if not query:
            return []
        weights = ", ".join(str(w) for w in BM25_WEIGHTS)
        only = ""
        params: list[Any] = [query]
        if names is not None:
            only += " AND p.name IN (SELECT value FROM json_each(?))"
            params.append(json.dumps(sorted(names)))
        if name_like:
            only += " AND (" + " OR ".join("p.name LIKE ?" for _ in name_like) + ")"
            params.extend(name_like)
        params.append(limit)
        rows = self.conn.execute(
            f"SELECT p.*, -bm25(packages_fts, {weights}) AS relevance FROM packages_fts"
            f" JOIN packages p ON p.id = packages_fts.rowid WHERE packages_fts MATCH ?{only}"
            f" ORDER BY bm25(packages_fts, {weights}) LIMIT ?",
            params,
        ).fetchall()
        return [Hit(Package.from_row(r), r["relevance"]) for r in rows]

    def count(self) -> int:
        return self.conn.execute("SELECT count(*) FROM packages").fetchone()[0]

    def manual_count(self, fts: str = "") -> int:
        """How many manual pages' NAME lines match the FTS5 query ``fts`` (all pages without one)."""
        if not fts:
            return self.conn.execute("SELECT count(*) FROM manuals").fetchone()[0]
        return self.conn.execute("SELECT count(*) FROM manuals_fts WHERE manuals_fts MATCH ?", (fts,)).fetchone()[0]


COMMAND_DIRS = ("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin", "/usr/games")


COMMANDS_TTL = 5.0  # seconds a listing of the command directories is trusted: a program installed meanwhile shows
_commands: tuple[float, dict[str, list[str]]] = (-math.inf, {})  # name -> the directories listing it, in order


def on_path(command: str) -> bool:
    """Whether ``command`` is a program in the usual command directories. A how-to question asks this of some
    500 pages, most of them not installed: a name the directories' listing lacks costs no system call."""
    global _commands
    if "/" in command:
        return False
    if time.monotonic() - _commands[0] > COMMANDS_TTL:
        where: dict[str, list[str]] = {}
        for d in COMMAND_DIRS:
            try:
                for name in os.listdir(d):
                    where.setdefault(name, []).append(d)
            except OSError:
                continue
        _commands = (time.monotonic(), where)
    return any(os.access(f"{d}/{command}", os.X_OK) for d in _commands[1].get(command, ()))


def _manual_hit(row: sqlite3.Row, relevance: float) -> ManualHit:
    return ManualHit(
        row["package"], row["page"], row["section"], tuple(row["names"].split(",")), row["description"],
        bool(row["local"]), relevance, row["id"],
    )  # fmt: skip


def popularity(pkg: Package) -> float:
    """A popularity proxy without popcon: how many packages depend on, recommend or suggest it, and its priority."""
    return math.log1p(pkg.rdepends + pkg.mentions) + 0.5 * pkg.priority_rank


_indexes: dict[Path, PackageIndex] = {}


def open_index(config: Any = None, db_path: Path | None = None) -> PackageIndex:
    """The process-wide index for ``config`` (its ``state_dir/packages.db``), brought up to date once."""
    if db_path is None:
        from cortex.config import load_config

        config = config or load_config()
        db_path = config.paths.state_dir / "packages.db"
    index = _indexes.get(db_path)
    if index is None:
        from cortex.paths import get_paths

        models_dir = config.paths.models_dir if config is not None else get_paths().models_dir
        index = PackageIndex(db_path, models_dir=models_dir)
        try:
            index.ensure()
        except PermissionError:
            # A user in system mode cannot write /var/lib/cortex: read the shared index if there is one,
            # else keep a private one.
            if not db_path.exists():
                index = PackageIndex(Path.home() / ".cache" / "cortex" / "packages.db")
                index.ensure()
        _indexes[db_path] = index
    return index
