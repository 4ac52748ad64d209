"""The one migration runner for cortex's SQLite files (history.db, alerts.db).

``migrations[n]`` takes a file from schema version n to n + 1, each step in one
transaction, and a file newer than this Cortex is refused. The version is
SQLite's ``user_version``, or a one-row table where a file has always kept it
there (alerts.db's ``schema_version``), so existing files keep working.
"""

from __future__ import annotations

import sqlite3


def migrate(
    db: sqlite3.Connection, migrations: list[str], name: str, table: str = "", error: type[Exception] = RuntimeError
) -> None:
    """Run the migrations ``db`` lacks (``db`` in autocommit mode); raise ``error`` for a newer schema."""
    if table:
        db.execute(f"CREATE TABLE IF NOT EXISTS {table} (version INTEGER NOT NULL)")
        row = db.execute(f"SELECT version FROM {table}").fetchone()
    version = (row[0] if row else 0) if table else db.execute("PRAGMA user_version").fetchone()[0]
    if version > len(migrations):
        raise error(f"{name}: schema version {version} is newer than this Cortex ({len(migrations)})")
    for n in range(version, len(migrations)):
        mark = (
            f"DELETE FROM {table}; INSERT INTO {table} VALUES ({n + 1})" if table else f"PRAGMA user_version = {n + 1}"
        )
        try:
            db.executescript(f"BEGIN IMMEDIATE; {migrations[n]}; {mark}; COMMIT;")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
