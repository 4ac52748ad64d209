"""Alert rules: turn a snapshot into observations, one per (rule, resource).

A rule only says which level each resource is at now; the monitor owns the
alert lifecycle (durations, repeats, silences). Thresholds come from
``[thresholds]``; a level is entered at its threshold and left only
``clear_margin`` points below it (hysteresis), so a value wobbling around a
threshold gives one alert, not a stream of them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cortex.config import Config

if TYPE_CHECKING:  # the CLI imports human_bytes from here without paying for psutil
    from cortex.monitor.sampler import Snapshot

SEVERITIES = ("info", "warning", "error", "critical")
RANK = {None: 0, **{s: i + 1 for i, s in enumerate(SEVERITIES)}}


@dataclass(frozen=True)
class Observation:
    """What a rule sees for one resource: ``severity`` None means the condition is clear."""

    rule: str
    resource: str
    severity: str | None
    category: str
    message: str
    value: float | None = None
    threshold: float | None = None


def level(value: float, warning: float, critical: float, margin: float, previous: str | None) -> str | None:
    """The severity for ``value``: entered at a threshold, kept until ``margin`` below it."""
    for severity, threshold in (("critical", critical), ("warning", warning)):
        if value >= threshold or (RANK[previous] >= RANK[severity] and value > threshold - margin):
            return severity
    return None


def human_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"


def human_seconds(s: float) -> str:
    return f"{s / 60:g} min" if s >= 60 else f"{s:g} s"


@dataclass(frozen=True)
class Rule:
    """One rule: ``observe(snapshot, active)`` returns observations, or None when it cannot judge.

    ``active`` maps each resource with an open alert of this rule to its severity (for hysteresis).
    Resources with an open alert but no observation are treated as clear.
    """

    name: str
    category: str
    duration: float
    observe: Callable[[Snapshot, dict[str, str]], list[Observation] | None]


def build_rules(config: Config) -> list[Rule]:
    t = config.section("thresholds")
    margin = t["clear_margin"]

    def cpu(snap: Snapshot, active: dict[str, str]) -> list[Observation]:
        v = snap.cpu["percent"]
        sev = level(v, t["cpu_warning"], t["cpu_critical"], margin, active.get("cpu"))
        msg = (
            f"CPU at {v:.0f}% (alerts after {human_seconds(t['cpu_duration'])} above {t['cpu_warning']:g}%): "
            "find the busy processes with `top -o %CPU` or `ps aux --sort=-%cpu | head`"
        )
        return [Observation("cpu", "cpu", sev, "cpu", msg, v, _threshold(sev, t, "cpu"))]

    def memory(snap: Snapshot, active: dict[str, str]) -> list[Observation]:
        v = snap.memory["percent"]
        sev = level(v, t["memory_warning"], t["memory_critical"], margin, active.get("memory"))
        msg = (
            f"memory {v:.0f}% used ({human_bytes(snap.memory['available_bytes'])} available): see the largest "
            "processes with `ps aux --sort=-rss | head` and stop or restart the one that grows"
        )
        return [Observation("memory", "memory", sev, "memory", msg, v, _threshold(sev, t, "memory"))]

    def disk(snap: Snapshot, active: dict[str, str]) -> list[Observation]:
        out = []
        for d in snap.disks:
            sev = level(d.percent, t["disk_warning"], t["disk_critical"], margin, active.get(d.mountpoint))
            msg = (
                f"{d.mountpoint} is {d.percent:.0f}% full ({human_bytes(d.free_bytes)} free): see what uses it with "
                f"`sudo du -xh {d.mountpoint} --max-depth=2 | sort -h | tail`, then free space "
                "(`sudo apt-get clean`, `sudo journalctl --vacuum-size=200M`)"
            )
            out.append(Observation("disk", d.mountpoint, sev, "disk", msg, d.percent, _threshold(sev, t, "disk")))
        return out

    def units(snap: Snapshot, active: dict[str, str]) -> list[Observation] | None:
        if snap.failed_units is None:
            return None
        return [
            Observation(
                "failed_unit",
                u,
                "error",
                "services",
                f"systemd unit {u} failed: see why with `systemctl status {u}` and `journalctl -u {u} -b`, "
                f"then `sudo systemctl restart {u}` (or `sudo systemctl reset-failed {u}` if it is not needed)",
            )
            for u in snap.failed_units
        ]

    def security(snap: Snapshot, active: dict[str, str]) -> list[Observation] | None:
        n = snap.updates.security
        if n is None:
            return None
        sev = "warning" if n >= t["security_updates"] else None
        msg = (
            f"{n} security update(s) pending ({snap.updates.pending} updates in all): apply them with "
            "`sudo apt-get update && sudo apt-get upgrade`"
        )
        return [Observation("security_updates", "apt", sev, "updates", msg, n, t["security_updates"])]

    def llm(snap: Snapshot, active: dict[str, str]) -> list[Observation]:
        down = snap.llm.configured and snap.llm.state in ("down", "error")
        msg = (
            f"cortex-llm is {snap.llm.state} at {snap.llm.url}: start it with `cortex llm start` "
            "(system mode: `sudo systemctl start cortex-llm`) and check `cortex llm status`"
        )
        return [Observation("llm_down", "cortex-llm", "error" if down else None, "llm", msg)]

    rules = [
        Rule("cpu", "cpu", t["cpu_duration"], cpu),
        Rule("memory", "memory", t["memory_duration"], memory),
        Rule("disk", "disk", t["disk_duration"], disk),
        Rule("llm_down", "llm", t["llm_down_duration"], llm),
    ]
    if t["failed_units"]:
        rules.append(Rule("failed_unit", "services", 0, units))
    if t["security_updates"]:
        rules.append(Rule("security_updates", "updates", 0, security))
    return rules


def _threshold(severity: str | None, t: dict[str, Any], metric: str) -> float:
    return t[f"{metric}_critical"] if severity == "critical" else t[f"{metric}_warning"]
