"""The alert lifecycle, driven by an injected clock and hand-made snapshots: no sleeps, real SQLite."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from cortex.config import load_config
from cortex.monitor.monitor import Monitor
from cortex.monitor.sampler import Disk, LLMState, Snapshot, Updates


def make_config(tmp_path: Path, **sections: dict[str, Any]):
    lines = []
    for section, values in sections.items():
        lines.append(f"[{section}]")
        lines += [f"{k}: {v}" for k, v in values.items()]
    conf = tmp_path / "daemon.conf"
    conf.write_text("\n".join(lines) + "\n")
    return load_config(config_file=conf, env={"CORTEX_HOME": str(tmp_path / "home")})


def snap(
    cpu: float = 10,
    memory: float = 10,
    disks: dict[str, float] | None = None,
    units: list[str] | None = None,
    security: int | None = None,
    llm: str = "up",
    llm_configured: bool = False,
) -> Snapshot:
    disks = {"/": 10.0} if disks is None else disks
    gb = 1 << 30
    return Snapshot(
        time=0,
        cpu={"percent": cpu, "count": 2},
        memory={"total_bytes": 8 * gb, "used_bytes": 0, "available_bytes": 2 * gb, "percent": memory},
        swap={"total_bytes": 0, "used_bytes": 0, "percent": 0},
        disks=[
            Disk(m, f"/dev/{i}", "ext4", 100 * gb, int(p * gb), int((100 - p) * gb), p)
            for i, (m, p) in enumerate(disks.items())
        ],
        load=[0.1, 0.1, 0.1],
        uptime=100,
        failed_units=units,
        updates=Updates(0 if security is not None else None, security, 0),
        llm=LLMState("http://127.0.0.1:8085", llm_configured, llm),
    )


class Clock:
    def __init__(self, now: float = 1_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


class Recorder:
    """Records notifications instead of sending them (the channels have their own tests)."""

    def __init__(self):
        self.sent: list[tuple[str, dict[str, Any]]] = []

    def notify(self, event: str, alert: dict[str, Any]) -> None:
        self.sent.append((event, alert))

    def events(self) -> list[tuple[str, str, str]]:
        return [(e, a["rule"], a["resource"]) for e, a in self.sent]

    def close(self) -> None:
        pass


class NoExplain:
    def __init__(self):
        self.asked: list[dict[str, Any]] = []

    def submit(self, alert: dict[str, Any]) -> bool:
        self.asked.append(alert)
        return True

    def close(self) -> None:
        pass


@pytest.fixture
def env(tmp_path):
    clock, rec = Clock(), Recorder()
    monitors: list[Monitor] = []

    def new(**sections: dict[str, Any]) -> Monitor:
        m = Monitor(
            make_config(tmp_path, **sections), clock=clock, sampler=object(), notifier=rec, explainer=NoExplain()
        )
        monitors.append(m)
        return m

    yield clock, rec, new
    for m in monitors:
        m.close()


def test_disk_over_warning_fires_once_and_resolves_below_clear_level(env):
    clock, rec, new = env
    m = new(thresholds={"disk_warning": 85, "disk_critical": 95, "clear_margin": 5})
    m.evaluate(snap(disks={"/": 86, "/home": 50}))
    for _ in range(5):
        clock.now += 30
        m.evaluate(snap(disks={"/": 86, "/home": 50}))
    assert rec.events() == [("firing", "disk", "/")]
    alerts = m.alerts()["alerts"]
    assert [(a["resource"], a["severity"], a["status"]) for a in alerts] == [("/", "warning", "firing")]
    assert "du -xh /" in alerts[0]["message"]
    # Below the threshold but inside the clear margin: still the same alert.
    clock.now += 30
    m.evaluate(snap(disks={"/": 82, "/home": 50}))
    assert m.counts()["active"] == 1 and len(rec.sent) == 1
    clock.now += 30
    m.evaluate(snap(disks={"/": 79, "/home": 50}))
    assert rec.events()[-1] == ("resolved", "disk", "/")
    assert m.counts()["active"] == 0 and m.counts()["resolved"] == 1


def test_flapping_around_a_threshold_gives_one_alert(env):
    clock, rec, new = env
    m = new(thresholds={"disk_warning": 85, "clear_margin": 5})
    for value in [86, 84, 86, 83, 85.5, 81, 90, 82] * 3:
        clock.now += 30
        m.evaluate(snap(disks={"/": value}))
    assert rec.events() == [("firing", "disk", "/")]
    assert len(m.alerts(status="all")["alerts"]) == 1


def test_cpu_needs_its_duration_and_a_dip_below_clear_restarts_it(env):
    clock, rec, new = env
    m = new(thresholds={"cpu_warning": 90, "cpu_duration": 300, "clear_margin": 5})
    m.evaluate(snap(cpu=95))
    assert m.alerts()["alerts"][0]["status"] == "pending" and m.counts()["active"] == 0
    clock.now += 200
    m.evaluate(snap(cpu=95))
    clock.now += 50
    m.evaluate(snap(cpu=50))  # cleared before its duration: it never fired, nothing is said
    assert rec.sent == [] and m.alerts(status="all")["alerts"] == []
    m.evaluate(snap(cpu=95))
    clock.now += 299
    m.evaluate(snap(cpu=88))  # inside the clear margin: the condition still holds
    assert rec.sent == []
    clock.now += 1
    m.evaluate(snap(cpu=91))
    assert rec.events() == [("firing", "cpu", "cpu")]
    assert m.counts()["active"] == 1


def test_repeat_interval_and_acknowledgement(env):
    clock, rec, new = env
    m = new(thresholds={"memory_warning": 90, "memory_duration": 0}, alerts={"repeat_interval": 600})
    m.evaluate(snap(memory=93))
    for _ in range(20):  # 20 x 60 s = two repeat intervals
        clock.now += 60
        m.evaluate(snap(memory=93))
    assert [e for e, *_ in rec.events()] == ["firing", "repeat", "repeat"]
    alert_id = m.alerts()["alerts"][0]["id"]
    assert m.acknowledge(alert_id)["changed"] == 1
    assert m.acknowledge(alert_id)["changed"] == 0  # already acknowledged
    for _ in range(30):
        clock.now += 60
        m.evaluate(snap(memory=93))
    assert len(rec.sent) == 3  # acknowledged: no more repeats
    assert m.counts()["unacknowledged"] == 0 and m.counts()["active"] == 1


def test_escalation_keeps_one_alert_clears_acknowledgement_and_asks_for_an_explanation(env):
    clock, rec, new = env
    m = new(thresholds={"disk_warning": 85, "disk_critical": 95})
    m.evaluate(snap(disks={"/": 90}))
    m.acknowledge(all=True)
    clock.now += 30
    m.evaluate(snap(disks={"/": 97}))
    assert [e for e, *_ in rec.events()] == ["firing", "escalated"]
    [alert] = m.alerts(status="all")["alerts"]
    assert alert["severity"] == "critical" and not alert["acknowledged"]
    assert [a["id"] for a in m.explainer.asked] == [alert["id"]]
    assert m.counts()["critical"] == 1


def test_silence_holds_notifications_until_it_expires(env):
    clock, rec, new = env
    m = new(thresholds={"disk_warning": 85})
    m.silence("disk", clock.now + 100)
    m.evaluate(snap(disks={"/": 90}))
    clock.now += 50
    m.evaluate(snap(disks={"/": 90}))
    assert rec.sent == []
    assert m.counts()["active"] == 1  # recorded, just quiet
    clock.now += 51
    m.evaluate(snap(disks={"/": 90}))
    assert rec.events() == [("firing", "disk", "/")]
    m.silence("disk", clock.now + 100)
    clock.now += 30
    m.evaluate(snap(disks={"/": 10}))  # resolved during a silence: recorded, not told
    assert len(rec.sent) == 1 and m.counts()["resolved"] == 1
    with pytest.raises(ValueError, match="rule must be one of"):
        m.silence("nope", clock.now + 10)
    with pytest.raises(ValueError, match="unix time"):
        m.silence("disk", "tomorrow")


def test_dismissed_alert_stays_quiet_until_its_condition_comes_back(env):
    clock, rec, new = env
    m = new(thresholds={"disk_warning": 85}, alerts={"repeat_interval": 60})
    m.evaluate(snap(disks={"/": 90}))
    [alert] = m.alerts()["alerts"]
    assert m.dismiss(alert["id"])["changed"] == 1
    for _ in range(5):
        clock.now += 60
        m.evaluate(snap(disks={"/": 90}))
    assert len(rec.sent) == 1 and m.alerts()["alerts"] == [] and m.counts()["dismissed"] == 1
    clock.now += 60
    m.evaluate(snap(disks={"/": 10}))
    clock.now += 60
    m.evaluate(snap(disks={"/": 90}))
    assert [e for e, *_ in rec.events()] == ["firing", "firing"]  # a new alert, no "resolved" for the dismissed one
    assert len(m.alerts(status="all")["alerts"]) == 2


def test_state_and_counts_survive_a_restart(env):
    clock, rec, new = env
    sections = {"thresholds": {"disk_warning": 85, "cpu_duration": 300}, "alerts": {"repeat_interval": 3600}}
    m = new(**sections)
    m.evaluate(snap(cpu=99, disks={"/": 90, "/srv": 91}))
    m.acknowledge(m.alerts(category="disk")["alerts"][0]["id"])
    before = m.counts()
    m.close()

    clock.now += 30
    m2 = new(**sections)
    assert m2.counts() == before
    m2.evaluate(snap(cpu=99, disks={"/": 90, "/srv": 91}))
    assert m2.counts() == before  # no duplicates of the open alerts
    assert rec.events().count(("firing", "disk", "/")) == 1
    clock.now += 300  # the pending CPU alert kept its start time over the restart
    m2.evaluate(snap(cpu=99, disks={"/": 90, "/srv": 91}))
    assert ("firing", "cpu", "cpu") in rec.events()
    assert sum(a["acknowledged"] for a in m2.alerts()["alerts"]) == 1


def test_vanished_filesystem_and_disabled_rule_resolve(env, tmp_path):
    clock, rec, new = env
    m = new(thresholds={"disk_warning": 85})
    m.evaluate(snap(disks={"/": 90, "/mnt/usb": 99}, units=["nginx.service"]))
    assert m.counts()["active"] == 3
    clock.now += 30
    m.evaluate(snap(disks={"/": 90}, units=None))  # usb unmounted; systemd unknown: the unit alert stays
    assert {a["resource"] for a in m.alerts()["alerts"]} == {"/", "nginx.service"}
    m.apply_config(make_config(tmp_path, thresholds={"disk_warning": 85, "failed_units": "false"}))
    clock.now += 30
    m.evaluate(snap(disks={"/": 90}, units=["nginx.service"]))
    assert {a["resource"] for a in m.alerts()["alerts"]} == {"/"}
    assert ("resolved", "failed_unit", "nginx.service") in rec.events()


def test_reload_applies_new_thresholds_without_restart(env, tmp_path):
    clock, rec, new = env
    m = new(thresholds={"disk_warning": 85})
    m.evaluate(snap(disks={"/": 50}))
    assert rec.sent == []
    m.apply_config(make_config(tmp_path, thresholds={"disk_warning": 40, "disk_critical": 45}, monitor={"interval": 5}))
    clock.now += 30
    m.evaluate(snap(disks={"/": 50}))
    assert rec.events() == [("firing", "disk", "/")]
    assert m.alerts()["alerts"][0]["severity"] == "critical"
    assert m.interval == 5


def test_security_updates_llm_down_and_failed_units(env):
    clock, rec, new = env
    m = new(thresholds={"llm_down_duration": 60})
    m.evaluate(snap(units=["a.service", "b.service"], security=3, llm="down", llm_configured=True))
    m.evaluate(snap(llm="down", llm_configured=False))  # not configured: never an alert, the pending one clears
    clock.now += 120
    m.evaluate(snap(units=["a.service", "b.service"], security=3, llm="down", llm_configured=True))
    by_rule = {(a["rule"], a["resource"]): a for a in m.alerts()["alerts"]}
    assert set(by_rule) == {
        ("failed_unit", "a.service"),
        ("failed_unit", "b.service"),
        ("security_updates", "apt"),
        ("llm_down", "cortex-llm"),
    }
    assert by_rule[("llm_down", "cortex-llm")]["status"] == "pending"
    assert by_rule[("failed_unit", "a.service")]["severity"] == "error"
    assert "journalctl -u a.service" in by_rule[("failed_unit", "a.service")]["message"]
    assert "apt-get upgrade" in by_rule[("security_updates", "apt")]["message"]
    clock.now += 60
    m.evaluate(snap(units=["b.service"], security=3, llm="down", llm_configured=True))
    assert by_rule[("llm_down", "cortex-llm")]["id"] in [a["id"] for a in m.alerts(status="firing")["alerts"]]
    assert ("resolved", "failed_unit", "a.service") in rec.events()


def test_retention_prunes_old_resolved_alerts_only(env):
    clock, _, new = env
    m = new(thresholds={"disk_warning": 85}, alerts={"retention_days": 1})
    m.evaluate(snap(disks={"/": 90, "/srv": 90}))
    clock.now += 60
    m.evaluate(snap(disks={"/": 10, "/srv": 90}))  # / resolves, /srv stays firing
    clock.now += 2 * 86400
    m.evaluate(snap(disks={"/": 10, "/srv": 90}))
    everything = m.alerts(status="all")["alerts"]
    assert [(a["resource"], a["status"]) for a in everything] == [("/srv", "firing")]
    assert m.counts()["resolved"] == 0


def test_bad_requests_get_clear_errors_and_change_nothing(env):
    _, _, new = env
    m = new(thresholds={"disk_warning": 85})
    m.evaluate(snap(disks={"/": 90}))
    before = m.alerts(status="all")
    with pytest.raises(KeyError):
        m.acknowledge(9999)
    with pytest.raises(ValueError, match="whole number"):
        m.dismiss("one")
    with pytest.raises(ValueError, match="id or all"):
        m.acknowledge()
    with pytest.raises(ValueError, match="severity must be one of"):
        m.alerts(severity="urgent")
    with pytest.raises(ValueError, match="status must be one of"):
        m.alerts(status="burning")
    with pytest.raises(ValueError, match="limit"):
        m.alerts(limit=0)
    assert m.alerts(status="all") == before
    assert m.acknowledge("1")["changed"] == 1  # a string of digits is an id too
