"""The alert database: SQLite in WAL mode, one open alert per (rule, resource).

An alert goes pending -> firing -> resolved. A partial unique index makes "one
open alert per (rule, resource)" a property of the file, not of the code, so a
restart (or a crash) can never duplicate one. Every change is one transaction
with ``synchronous=FULL``: a ``kill -9`` at any moment leaves a consistent file
that keeps every acknowledgement already answered.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from cortex.monitor.rules import SEVERITIES
from cortex.sqlite_schema import migrate

STATUSES = ("open", "pending", "firing", "resolved", "dismissed", "acknowledged", "all")

# Schema migrations: MIGRATIONS[n] takes the file from version n to n + 1. Only ever append.
MIGRATIONS: list[str] = [
    """CREATE TABLE alerts (
        id INTEGER PRIMARY KEY,
        rule TEXT NOT NULL,
        resource TEXT NOT NULL,
        severity TEXT NOT NULL CHECK (severity IN ('info', 'warning', 'error', 'critical')),
        category TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('pending', 'firing', 'resolved')),
        message TEXT NOT NULL,
        value REAL,
        threshold REAL,
        created_at REAL NOT NULL,
        fired_at REAL,
        updated_at REAL NOT NULL,
        resolved_at REAL,
        notified_at REAL,
        acknowledged_at REAL,
        dismissed_at REAL,
        ai_explanation TEXT
    );
    CREATE UNIQUE INDEX alerts_open ON alerts (rule, resource) WHERE status != 'resolved';
    CREATE INDEX alerts_status ON alerts (status, severity);
    CREATE TABLE silences (rule TEXT PRIMARY KEY, until REAL NOT NULL)""",
]
SCHEMA_VERSION = len(MIGRATIONS)

# What each status filter selects; "open" (pending or firing, not dismissed) is the default list.
_STATUS_SQL = {
    "open": "status != 'resolved' AND dismissed_at IS NULL",
    "pending": "status = 'pending' AND dismissed_at IS NULL",
    "firing": "status = 'firing' AND dismissed_at IS NULL",
    "resolved": "status = 'resolved'",
    "dismissed": "dismissed_at IS NOT NULL",
    "acknowledged": "acknowledged_at IS NOT NULL",
    "all": "1",
}


class StoreError(RuntimeError):
    """The alert database cannot be used; the message says which file and what to do."""


class AlertNotFound(KeyError):
    """No alert has that id."""


def _alert(row: sqlite3.Row) -> dict[str, Any]:
    a = dict(row)
    a["acknowledged"] = a["acknowledged_at"] is not None
    a["dismissed"] = a["dismissed_at"] is not None
    return a


class AlertStore:
    """All reads and writes of alerts.db; safe to share between the event loop and worker threads."""

    def __init__(self, path: Path | str):
        self.path = Path(path)
        self._lock = threading.RLock()  # re-entrant: calls inside transaction() take it again
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=10)
            self._db.row_factory = sqlite3.Row
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            migrate(self._db, MIGRATIONS, str(self.path), table="schema_version", error=StoreError)
        except sqlite3.DatabaseError as e:
            raise StoreError(f"{self.path}: not a usable alert database ({e}); move it away and restart") from e
        except OSError as e:
            raise StoreError(f"{self.path}: {e.strerror}; set [alerts] db_path to a writable place") from e

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """Group writes into one commit (one fsync); other threads wait. Nested uses join the outer one."""
        with self._lock:
            if self._db.in_transaction:
                yield
                return
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _write(self, sql: str, args: tuple[Any, ...] = ()) -> sqlite3.Cursor:
        with self._lock:
            return self._db.execute(sql, args)

    def _read(self, sql: str, args: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._db.execute(sql, args).fetchall()

    # The monitor's side: the lifecycle.
    def open_alerts(self) -> dict[tuple[str, str], dict[str, Any]]:
        """Pending and firing alerts (dismissed ones too: they still hold their (rule, resource))."""
        rows = self._read("SELECT * FROM alerts WHERE status != 'resolved'")
        return {(r["rule"], r["resource"]): _alert(r) for r in rows}

    def insert(self, **fields: Any) -> dict[str, Any]:
        names = ", ".join(fields)
        marks = ", ".join("?" for _ in fields)
        with self._lock:
            cur = self._db.execute(f"INSERT INTO alerts ({names}) VALUES ({marks}) RETURNING *", tuple(fields.values()))
            return _alert(cur.fetchone())

    def update(self, alert_id: int, **fields: Any) -> dict[str, Any]:
        sets = ", ".join(f"{k} = ?" for k in fields)
        with self._lock:
            cur = self._db.execute(f"UPDATE alerts SET {sets} WHERE id = ? RETURNING *", (*fields.values(), alert_id))
            row = cur.fetchone()
        if row is None:
            raise AlertNotFound(f"no alert with id {alert_id}")
        return _alert(row)

    def delete(self, alert_id: int) -> None:
        self._write("DELETE FROM alerts WHERE id = ?", (alert_id,))

    def set_explanation(self, alert_id: int, text: str) -> None:
        self._write("UPDATE alerts SET ai_explanation = ? WHERE id = ?", (text, alert_id))

    # The user's side: list, acknowledge, dismiss, silence.
    def get(self, alert_id: int) -> dict[str, Any]:
        rows = self._read("SELECT * FROM alerts WHERE id = ?", (alert_id,))
        if not rows:
            raise AlertNotFound(f"no alert with id {alert_id}; see 'cortex daemon alerts --all'")
        return _alert(rows[0])

    def list(
        self, severity: str | None = None, category: str | None = None, status: str | None = None, limit: int = 100
    ) -> list[dict[str, Any]]:
        status = status or "open"
        if status not in STATUSES:
            raise ValueError(f"status must be one of {', '.join(STATUSES)}, not {status!r}")
        if severity is not None and severity not in SEVERITIES:
            raise ValueError(f"severity must be one of {', '.join(SEVERITIES)}, not {severity!r}")
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 10000:
            raise ValueError(f"limit must be a whole number from 1 to 10000, not {limit!r}")
        where, args = [_STATUS_SQL[status]], []
        if severity is not None:
            where.append("severity = ?")
            args.append(severity)
        if category is not None:
            where.append("category = ?")
            args.append(str(category))
        sql = f"SELECT * FROM alerts WHERE {' AND '.join(where)} ORDER BY updated_at DESC, id DESC LIMIT ?"
        return [_alert(r) for r in self._read(sql, (*args, limit))]

    def _mark(self, column: str, alert_id: int | None, everything: bool, now: float) -> int:
        if everything:
            sql = f"UPDATE alerts SET {column} = ? WHERE {column} IS NULL AND {_STATUS_SQL['open']}"
            return self._write(sql, (now,)).rowcount
        if isinstance(alert_id, bool) or not isinstance(alert_id, int):
            raise ValueError(f"give an alert id (a whole number) or all, not {alert_id!r}")
        self.get(alert_id)
        sql = f"UPDATE alerts SET {column} = ? WHERE id = ? AND {column} IS NULL"
        return self._write(sql, (now, alert_id)).rowcount

    def acknowledge(self, alert_id: int | None, everything: bool, now: float) -> int:
        """Mark an alert (or all open ones) seen: it stays listed but stops repeating. Returns how many changed."""
        return self._mark("acknowledged_at", alert_id, everything, now)

    def dismiss(self, alert_id: int | None, everything: bool, now: float) -> int:
        """Hide an alert (or all open ones) until its condition clears and comes back."""
        return self._mark("dismissed_at", alert_id, everything, now)

    def silence(self, rule: str, until: float) -> None:
        self._write(
            "INSERT INTO silences (rule, until) VALUES (?, ?) ON CONFLICT (rule) DO UPDATE SET until = excluded.until",
            (rule, until),
        )

    def silences(self, now: float) -> dict[str, float]:
        return {r["rule"]: r["until"] for r in self._read("SELECT * FROM silences WHERE until > ?", (now,))}

    def prune(self, older_than: float) -> int:
        """Delete resolved alerts resolved before ``older_than``, and expired silences."""
        with self.transaction():
            n = self._db.execute(
                "DELETE FROM alerts WHERE status = 'resolved' AND resolved_at < ?", (older_than,)
            ).rowcount
            self._db.execute("DELETE FROM silences WHERE until < ?", (older_than,))
        return n

    def counts(self) -> dict[str, Any]:
        """What ``status`` and the CLI show: active = firing and not dismissed; pending ones are counted apart."""
        firing = _STATUS_SQL["firing"]
        row = self._read(
            f"""SELECT
                count(*) FILTER (WHERE {firing}) AS active,
                count(*) FILTER (WHERE {firing} AND severity = 'critical') AS critical,
                count(*) FILTER (WHERE {firing} AND acknowledged_at IS NULL) AS unacknowledged,
                count(*) FILTER (WHERE {_STATUS_SQL["pending"]}) AS pending,
                count(*) FILTER (WHERE status != 'resolved' AND dismissed_at IS NOT NULL) AS dismissed,
                count(*) FILTER (WHERE status = 'resolved') AS resolved
            FROM alerts"""
        )[0]
        by_sev = dict.fromkeys(SEVERITIES, 0)
        for r in self._read(f"SELECT severity, count(*) FROM alerts WHERE {firing} GROUP BY severity"):
            by_sev[r[0]] = r[1]
        return {**dict(row), "by_severity": by_sev}

    def integrity(self) -> str:
        return self._read("PRAGMA integrity_check")[0][0]

    def close(self) -> None:
        with self._lock:
            self._db.close()
