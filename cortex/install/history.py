"""Every executed plan, kept in SQLite so it can be reviewed and rolled back.

One row per run (an install or a rollback) with the request, its dpkg state
before and after, and one row per step with its argv, verdict, exit code,
duration and the tail of its output. Dry runs are never recorded. The schema
version is SQLite's ``user_version``; ``MIGRATIONS[n]`` brings version n to n+1.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cortex.install.plan import Plan
from cortex.sqlite_schema import migrate

MIGRATIONS: list[str] = [
    """
    CREATE TABLE runs (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        kind TEXT NOT NULL,                 -- install | rollback
        request TEXT NOT NULL,
        packages TEXT NOT NULL,             -- JSON list
        status TEXT NOT NULL,               -- running | success | failed
        error TEXT NOT NULL DEFAULT '',
        rollback_of INTEGER REFERENCES runs(id),
        started_at REAL NOT NULL,
        finished_at REAL,
        dpkg_before TEXT NOT NULL,          -- JSON {package: version}
        dpkg_after TEXT
    );
    CREATE TABLE steps (
        run_id INTEGER NOT NULL REFERENCES runs(id),
        idx INTEGER NOT NULL,
        argv TEXT NOT NULL,                 -- JSON list
        why TEXT NOT NULL,
        needs_root INTEGER NOT NULL,
        verdict TEXT NOT NULL,
        reasons TEXT NOT NULL,              -- JSON list
        exit_code INTEGER,                  -- NULL: not run
        output_tail TEXT NOT NULL DEFAULT '',
        duration_s REAL,
        PRIMARY KEY (run_id, idx)
    );
    """,
]


@dataclass
class StepRecord:
    idx: int
    argv: list[str]
    why: str
    needs_root: bool
    verdict: str
    reasons: list[str]
    exit_code: int | None = None
    output_tail: str = ""
    duration_s: float | None = None


@dataclass
class RunRecord:
    id: int
    kind: str
    request: str
    packages: list[str]
    status: str
    error: str
    rollback_of: int | None
    started_at: float
    finished_at: float | None
    dpkg_before: dict[str, str] = field(default_factory=dict)
    dpkg_after: dict[str, str] | None = None
    steps: list[StepRecord] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "request": self.request,
            "packages": self.packages,
            "status": self.status,
            "error": self.error,
            "rollback_of": self.rollback_of,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "steps": len(self.steps),
        }

    def to_dict(self) -> dict[str, Any]:
        """Everything but the full dpkg snapshots, which are summarised as the difference."""
        from cortex.install.rollback import changes

        return {
            **self.summary(),
            "steps": [vars(s) for s in self.steps],
            "changes": changes(self.dpkg_before, self.dpkg_after).to_dict() if self.dpkg_after is not None else None,
        }


class History:
    """The run history database (``state_dir/history.db``, WAL)."""

    def __init__(self, path: Path, clock: Callable[[], float] = time.time):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.clock = clock
        self.db = sqlite3.connect(path, timeout=10, isolation_level=None)
        self.db.row_factory = sqlite3.Row
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA foreign_keys=ON")
        migrate(self.db, MIGRATIONS, str(path))

    def close(self) -> None:
        self.db.close()

    def start(
        self, plan: Plan, dpkg_before: dict[str, str], kind: str = "install", rollback_of: int | None = None
    ) -> int:
        """Record a run about to start, with all its steps as planned; returns the run id."""
        with self.db:
            cur = self.db.execute(
                "INSERT INTO runs (kind, request, packages, status, rollback_of, started_at, dpkg_before)"
                " VALUES (?, ?, ?, 'running', ?, ?, ?)",
                (kind, plan.request, json.dumps(plan.packages), rollback_of, self.clock(), json.dumps(dpkg_before)),
            )
            run_id = int(cur.lastrowid or 0)
            self.db.executemany(
                "INSERT INTO steps (run_id, idx, argv, why, needs_root, verdict, reasons) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    (run_id, i, json.dumps(s.argv), s.why, int(s.needs_root), s.verdict, json.dumps(s.reasons))
                    for i, s in enumerate(plan.steps)
                ],
            )
        return run_id

    def step_done(self, run_id: int, idx: int, exit_code: int, output_tail: str, duration_s: float) -> None:
        with self.db:
            self.db.execute(
                "UPDATE steps SET exit_code = ?, output_tail = ?, duration_s = ? WHERE run_id = ? AND idx = ?",
                (exit_code, output_tail, duration_s, run_id, idx),
            )

    def finish(self, run_id: int, status: str, error: str, dpkg_after: dict[str, str] | None) -> None:
        with self.db:
            self.db.execute(
                "UPDATE runs SET status = ?, error = ?, finished_at = ?, dpkg_after = ? WHERE id = ?",
                (status, error, self.clock(), json.dumps(dpkg_after) if dpkg_after is not None else None, run_id),
            )

    def get(self, run_id: int) -> RunRecord | None:
        row = self.db.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()
        if row is None:
            return None
        steps = self.db.execute("SELECT * FROM steps WHERE run_id = ? ORDER BY idx", (run_id,)).fetchall()
        return self._record(row, steps)

    def runs(self, limit: int = 50) -> list[RunRecord]:
        """The latest runs first, without their dpkg snapshots."""
        rows = self.db.execute(
            "SELECT id, kind, request, packages, status, error, rollback_of, started_at, finished_at,"
            " '{}' AS dpkg_before, NULL AS dpkg_after FROM runs ORDER BY id DESC LIMIT ?",
            (limit,),
        ).fetchall()
        out = []
        for row in rows:
            steps = self.db.execute("SELECT * FROM steps WHERE run_id = ? ORDER BY idx", (row["id"],)).fetchall()
            out.append(self._record(row, steps))
        return out

    @staticmethod
    def _record(row: sqlite3.Row, steps: list[sqlite3.Row]) -> RunRecord:
        return RunRecord(
            id=row["id"],
            kind=row["kind"],
            request=row["request"],
            packages=json.loads(row["packages"]),
            status=row["status"],
            error=row["error"],
            rollback_of=row["rollback_of"],
            started_at=row["started_at"],
            finished_at=row["finished_at"],
            dpkg_before=json.loads(row["dpkg_before"]),
            dpkg_after=json.loads(row["dpkg_after"]) if row["dpkg_after"] is not None else None,
            steps=[
                StepRecord(
                    idx=s["idx"],
                    argv=json.loads(s["argv"]),
                    why=s["why"],
                    needs_root=bool(s["needs_root"]),
                    verdict=s["verdict"],
                    reasons=json.loads(s["reasons"]),
                    exit_code=s["exit_code"],
                    output_tail=s["output_tail"],
                    duration_s=s["duration_s"],
                )
                for s in steps
            ],
        )


def open_history(config: Any) -> History:
    return History(config.paths.state_dir / "history.db")
