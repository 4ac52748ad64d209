"""The alert database on its own: schema, filters, bad files, and a kill -9 in the middle of writes."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time

import pytest

from cortex.monitor.store import SCHEMA_VERSION, AlertNotFound, AlertStore, StoreError


def add(store: AlertStore, rule: str, resource: str, severity: str = "warning", status: str = "firing", now=100.0):
    return store.insert(
        rule=rule, resource=resource, severity=severity, category=rule, status=status, message="do x",
        created_at=now, updated_at=now, fired_at=now if status == "firing" else None,
    )  # fmt: skip


def test_schema_is_versioned_wal_and_one_open_alert_per_rule_and_resource(tmp_path):
    path = tmp_path / "alerts.db"
    store = AlertStore(path)
    add(store, "disk", "/")
    with pytest.raises(sqlite3.IntegrityError):
        add(store, "disk", "/")  # the file itself refuses a duplicate open alert
    store.update(1, status="resolved", resolved_at=200.0)
    add(store, "disk", "/")  # once resolved, the next episode is a new alert
    store.close()
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("SELECT version FROM schema_version").fetchall() == [(SCHEMA_VERSION,)]
    db.close()
    AlertStore(path).close()  # reopening migrates nothing twice
    assert sqlite3.connect(path).execute("SELECT count(*) FROM schema_version").fetchone()[0] == 1


def test_filters_by_severity_category_and_status(tmp_path):
    store = AlertStore(tmp_path / "a.db")
    add(store, "disk", "/", "critical")
    add(store, "memory", "memory", "warning")
    add(store, "cpu", "cpu", "warning", status="pending")
    add(store, "failed_unit", "x.service", "error")
    store.update(4, status="resolved", resolved_at=150.0)
    store.dismiss(2, False, 120.0)

    def names(**kw):
        return sorted(a["resource"] for a in store.list(**kw))

    assert names() == ["/", "cpu"]  # open: pending or firing, not dismissed
    assert names(status="all") == ["/", "cpu", "memory", "x.service"]
    assert names(status="firing") == ["/"]
    assert names(status="dismissed") == ["memory"]
    assert names(status="resolved") == ["x.service"]
    assert names(severity="warning", status="all") == ["cpu", "memory"]
    assert names(category="disk") == ["/"]
    assert names(status="all", limit=1) == ["x.service"]  # newest first
    counts = store.counts()
    assert (counts["active"], counts["critical"], counts["pending"], counts["dismissed"], counts["resolved"]) == (
        1, 1, 1, 1, 1,
    )  # fmt: skip
    with pytest.raises(AlertNotFound):
        store.acknowledge(42, False, 1.0)


def test_a_file_that_is_not_a_database_is_refused_and_left_alone(tmp_path):
    path = tmp_path / "alerts.db"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match="not a usable alert database"):
        AlertStore(path)
    assert path.read_bytes() == b"this is not sqlite" * 100


def test_a_newer_schema_is_refused(tmp_path):
    path = tmp_path / "alerts.db"
    AlertStore(path).close()
    db = sqlite3.connect(path)
    db.execute("UPDATE schema_version SET version = 99")
    db.commit()
    db.close()
    with pytest.raises(StoreError, match="newer"):
        AlertStore(path)


WRITER = textwrap.dedent(
    """
    import os, sys
    from cortex.monitor.store import AlertStore
    store = AlertStore(sys.argv[1])
    n = 0
    while True:
        n += 1
        a = store.insert(rule="disk", resource=f"/m{os.getpid()}/{n}", severity="warning", category="disk",
                         status="firing", message="free space", created_at=n, updated_at=n, fired_at=n)
        store.update(a["id"], value=float(n), updated_at=n + 0.5)
        if n % 3 == 0:
            store.acknowledge(a["id"], False, float(n))
            print(a["id"], flush=True)  # this acknowledgement is committed
        if n % 7 == 0:
            store.update(a["id"], status="resolved", resolved_at=n + 1.0)
    """
)


def test_kill_9_during_writes_keeps_an_intact_database_and_every_acknowledgement(tmp_path):
    path = tmp_path / "alerts.db"
    for round_ in range(3):
        proc = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE, text=True, cwd=os.getcwd()
        )
        acked = []
        assert proc.stdout is not None
        deadline = time.monotonic() + 60
        while len(acked) < 30 * (round_ + 1) and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            acked.append(int(line))
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        assert len(acked) >= 30, "the writer did not get going"
        store = AlertStore(path)  # reopening after the kill recovers the WAL
        assert store.integrity() == "ok"
        by_id = {a["id"]: a for a in store.list(status="all", limit=10000)}
        assert all(by_id[i]["acknowledged"] for i in acked)
        store.close()
