"""This machine's own documentation for how-to answers: the options and examples of installed manual pages.

``state_dir/manuals.db`` (SQLite, FTS5) holds one row per option or example
of every installed page of a command (the NAME lines themselves live in the
package index, beside the archive's). Pages are parsed by
:mod:`cortex.ask.manpage` once and kept by path and mtime, so a refresh after
installing a package parses only the new pages.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cortex.packages import building, semantic

if TYPE_CHECKING:
    from cortex.ask import manpage

SCHEMA_VERSION = 2
SCHEMA = """
CREATE TABLE pages (
    id INTEGER PRIMARY KEY, page TEXT NOT NULL, section TEXT NOT NULL, path TEXT NOT NULL UNIQUE,
    mtime INTEGER NOT NULL, synopsis TEXT NOT NULL DEFAULT ''
);
CREATE TABLE entries (
    id INTEGER PRIMARY KEY, page_id INTEGER NOT NULL REFERENCES pages (id) ON DELETE CASCADE,
    kind TEXT NOT NULL, tag TEXT NOT NULL, text TEXT NOT NULL, placeholders TEXT NOT NULL DEFAULT ''
);
CREATE INDEX entries_page ON entries (page_id);
CREATE VIRTUAL TABLE entries_fts USING fts5(tag, text, content='entries', content_rowid='id',
    tokenize='porter unicode61');
"""
ENTRY_WEIGHTS = (2.0, 1.0)  # the option or command line itself, its description


@dataclass(frozen=True)
class DocHit:
    """An option or example of an installed page matching a question."""

    page: str
    section: str
    kind: str  # option | command | example
    tag: str
    text: str
    placeholders: tuple[str, ...]
    relevance: float
    row: int = 0  # its id in the store (and its row among the vectors)


@dataclass(frozen=True)
class RefreshReport:
    pages: int
    parsed: int
    seconds: float


class DocStore:
    """The parsed installed pages; ``refresh`` brings it in step with the pages on disk."""

    def __init__(self, db_path: Path, models_dir: Path | None = None):
        self.db_path = Path(db_path)
        self._conn: sqlite3.Connection | None = None
        # Each entry's meaning, when the embedder is installed (the same vectors.db cache as the package index's).
        self.vectors = semantic.Vectors(self.db_path, models_dir or self.db_path.parent / "no-models")

    @property
    def conn(self) -> sqlite3.Connection:
        if self._conn is None:
            self.db_path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.db_path, check_same_thread=False)
            conn.execute("PRAGMA foreign_keys = ON")
            if conn.execute("PRAGMA user_version").fetchone()[0] != SCHEMA_VERSION:
                conn.executescript(
                    "DROP TABLE IF EXISTS entries_fts; DROP TABLE IF EXISTS entries; DROP TABLE IF EXISTS pages;"
                    + SCHEMA
                    + f"PRAGMA user_version = {SCHEMA_VERSION};"
                )
            conn.row_factory = sqlite3.Row
            self._conn = conn
        return self._conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def refresh(
        self, pages: Iterable[tuple[str, str]], progress: Callable[[int, int], None] | None = None, jobs: int = 2
    ) -> RefreshReport:
        """Parse the pages ``(page, section)`` that are new or changed on disk, forget the ones gone."""
        import concurrent.futures  # here, as the parser: what a question reads from the store needs neither

        from cortex.ask import manpage

        start = time.monotonic()
        wanted: dict[str, tuple[str, str, int]] = {}
        for page, section in pages:
            path = manpage.locate(page, section)
            if path is not None:
                try:
                    wanted[str(path)] = (page, section, os.stat(path).st_mtime_ns)
                except OSError:
                    continue
        conn = self.conn
        known = {row["path"]: (row["id"], row["mtime"]) for row in conn.execute("SELECT id, path, mtime FROM pages")}
        stale = [pid for path, (pid, mtime) in known.items() if path not in wanted or wanted[path][2] != mtime]
        todo = [path for path, (_, _, mtime) in wanted.items() if known.get(path, (0, None))[1] != mtime]
        with conn:
            for pid in stale:
                conn.execute(
                    "INSERT INTO entries_fts (entries_fts, rowid, tag, text) SELECT 'delete', id, tag, text"
                    " FROM entries WHERE page_id = ?",
                    (pid,),
                )
                conn.execute("DELETE FROM pages WHERE id = ?", (pid,))
        done = 0

        def parse(path: str) -> tuple[str, manpage.ManPage | None]:
            page, section, _ = wanted[path]
            try:
                return path, manpage.parse(manpage.render(Path(path)), page, section)
            except manpage.ManPageError:
                return path, None

        with concurrent.futures.ThreadPoolExecutor(max(jobs, 1)) as pool:
            for path, man in pool.map(parse, todo):
                done += 1
                if progress:
                    progress(done, len(todo))
                page, section, mtime = wanted[path]
                with conn:
                    cur = conn.execute(
                        "INSERT INTO pages (page, section, path, mtime, synopsis) VALUES (?,?,?,?,?)",
                        (page, section, path, mtime, "\n".join(man.synopsis[:6]) if man else ""),
                    )
                    if man is None:
                        continue
                    rows = [("option", e) for e in man.options] + [("command", e) for e in man.commands]
                    rows += [("example", e) for e in man.examples]
                    for kind, e in rows:
                        eid = conn.execute(
                            "INSERT INTO entries (page_id, kind, tag, text, placeholders) VALUES (?,?,?,?,?)",
                            (cur.lastrowid, kind, e.tag, e.text[:600], json.dumps(e.placeholders)),
                        ).lastrowid
                        conn.execute(
                            "INSERT INTO entries_fts (rowid, tag, text) VALUES (?,?,?)", (eid, e.tag, e.text[:600])
                        )
        self._embed(progress)
        return RefreshReport(len(wanted), len(todo), time.monotonic() - start)

    def _embed(self, progress: Callable[[int, int], None] | None) -> None:
        count, last = self.conn.execute("SELECT count(*), max(id) FROM entries").fetchone()
        stamp = f"{semantic.MODEL} {count} {last}"
        if not semantic.available(self.vectors.models_dir) or self.vectors.current(stamp):
            return
        rows = self.conn.execute("SELECT id, kind, tag, text FROM entries").fetchall()
        texts = [(r["id"], _meaning(r["kind"], r["tag"], r["text"])) for r in rows]
        self.vectors.build({"entries": texts}, stamp, progress)

    def search(self, fts: str, limit: int = 200) -> list[DocHit]:
        """Options and examples matching the FTS5 query ``fts``, best bm25 first."""
        if not fts:
            return []
        weights = ", ".join(map(str, ENTRY_WEIGHTS))
        rows = self.conn.execute(
            f"SELECT p.page, p.section, e.*, -bm25(entries_fts, {weights}) AS rel"
            " FROM entries_fts JOIN entries e ON e.id = entries_fts.rowid JOIN pages p ON p.id = e.page_id"
            f" WHERE entries_fts MATCH ? ORDER BY bm25(entries_fts, {weights}) LIMIT ?",
            (fts, limit),
        ).fetchall()
        return [_hit(r, r["rel"]) for r in rows]

    def nearest(self, vector: Any, limit: int = 60) -> list[tuple[DocHit, float]]:
        """The entries closest in meaning to ``vector`` (an encoded question), closest first."""
        found = self.vectors.nearest(vector, "entries", limit)
        hits = self.entries([row for row, _ in found])
        return [(hit, sim) for hit, (_, sim) in zip(hits, found, strict=True) if hit is not None]

    def entries(self, rows: list[int]) -> list[DocHit | None]:
        """The entries with ids ``rows``, in that order (None for one that is gone)."""
        found = {
            r["id"]: _hit(r, 0.0)
            for r in self.conn.execute(
                "SELECT p.page, p.section, e.* FROM entries e JOIN pages p ON p.id = e.page_id"
                " WHERE e.id IN (SELECT value FROM json_each(?))",
                (json.dumps(rows),),
            )
        }
        return [found.get(r) for r in rows]

    def entry_rows(self, pages: Iterable[tuple[str, str]]) -> list[tuple[int, str, str]]:
        """(id, page, section) of every entry of the installed pages ``pages`` ((page, section) pairs), in the
        order of their ids: which entries they have, without reading them (:meth:`entries` reads those needed).
        The pages are looked up first (CROSS JOIN keeps that order), then their entries by the page index; SQLite's
        own plan scans every entry."""
        return self.conn.execute(
            "SELECT e.id, p.page, p.section FROM pages p CROSS JOIN entries e ON e.page_id = p.id"
            " WHERE p.page || '(' || p.section || ')' IN (SELECT value FROM json_each(?)) ORDER BY e.id",
            (json.dumps([f"{page}({section})" for page, section in pages]),),
        ).fetchall()

    def count(self, fts: str = "") -> int:
        """How many entries match the FTS5 query ``fts`` (all entries without one)."""
        if not fts:
            return self.conn.execute("SELECT count(*) FROM entries").fetchone()[0]
        return self.conn.execute("SELECT count(*) FROM entries_fts WHERE entries_fts MATCH ?", (fts,)).fetchone()[0]

    def similarity(self, vector: Any, rows: list[int]) -> list[float]:
        """Cosine of ``vector`` with each of the entries ``rows`` (NaN without vectors)."""
        return [float(x) for x in self.vectors.similarity(vector, "entries", rows)]

    def synopsis(self, page: str, section: str) -> list[str]:
        row = self.conn.execute("SELECT synopsis FROM pages WHERE page = ? AND section = ?", (page, section)).fetchone()
        return row["synopsis"].splitlines() if row else []


def _hit(row: sqlite3.Row, relevance: float) -> DocHit:
    return DocHit(
        row["page"], row["section"], row["kind"], row["tag"], row["text"], tuple(json.loads(row["placeholders"])),
        relevance, row["id"],
    )  # fmt: skip


def _meaning(kind: str, tag: str, text: str) -> str:
    """What an entry's vector encodes: what it does (an option's flag says nothing; a sub-command's name does)."""
    text = " ".join(text.split())[:300]
    return f"{tag}: {text}" if kind == "command" else text


def open_store(config: Any, index: Any, progress: Callable[[int, int], None] | None = None) -> DocStore:
    """The store of ``config``'s home, refreshed when dpkg's status changed since it last was (a package
    installed or removed pages); the check is one file read. While another process builds it (building.py),
    the store as it is serves."""
    state = config.paths.state_dir
    store = DocStore(state / "manuals.db", config.paths.models_dir)
    stamp_path = state / "manuals.stamp"
    stamp = status_stamp(index)
    if _read(stamp_path) != stamp:
        with building.exclusive(state, wait=False) as mine:
            if not mine:
                building.tell(state)
            elif _read(stamp_path) != stamp:  # (or another builder finished meanwhile)
                store.refresh(index.installed_command_pages(), progress)
                stamp_path.write_text(stamp, encoding="utf-8")
    return store


def status_stamp(index: Any) -> str:
    """What the store was built from: dpkg's status, and the store's layout (a new one is parsed again, as new
    pages are)."""
    return f"{SCHEMA_VERSION} {index.status_stamp()}"


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        return None
