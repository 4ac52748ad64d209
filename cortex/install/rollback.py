"""Undo a recorded run from what dpkg said before and after it, not from what the plan meant to do.

Packages the run newly installed are removed; packages whose version it
changed, or that it removed, are installed again at their old version when apt
can still fetch it (otherwise the plan says so in its notes). A package the
run purged comes back without the configuration files it had: the notes say
so, from the run's recorded steps. The reverse plan
goes through the same checks (``check_plan``) and executor as any install.
"""

from __future__ import annotations

import subprocess
from dataclasses import asdict, dataclass, field
from typing import Any

from cortex.install import apt
from cortex.install.checks import check_plan
from cortex.install.history import RunRecord
from cortex.install.plan import Plan, Step


class RollbackError(RuntimeError):
    """The run cannot be rolled back; the message says why."""


@dataclass
class Changes:
    installed: list[str] = field(default_factory=list)  # new packages
    removed: dict[str, str] = field(default_factory=dict)  # package -> version it had
    changed: dict[str, tuple[str, str]] = field(default_factory=dict)  # package -> (before, after)

    @property
    def empty(self) -> bool:
        return not (self.installed or self.removed or self.changed)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def changes(before: dict[str, str], after: dict[str, str] | None) -> Changes:
    after = after or {}
    return Changes(
        installed=sorted(set(after) - set(before)),
        removed={p: v for p, v in sorted(before.items()) if p not in after},
        changed={p: (v, after[p]) for p, v in sorted(before.items()) if p in after and after[p] != v},
    )


def rollback_plan(record: RunRecord, run: apt.Runner = subprocess.run) -> Plan:
    """The checked steps that bring dpkg back to its state before ``record`` ran."""
    if record.dpkg_after is None:
        raise RollbackError(f"run {record.id} has no dpkg state after it (it is still running or was interrupted)")
    diff = changes(record.dpkg_before, record.dpkg_after)
    plan = Plan(request=f"rollback of run {record.id}: {record.request}")
    if diff.empty:
        plan.notes.append(f"run {record.id} changed no packages; nothing to undo")
        return plan
    if diff.installed:
        plan.steps.append(
            Step(["apt-get", "remove", "-y", *diff.installed], why="remove what the run installed", needs_root=True)
        )
        plan.packages += diff.installed
    restore = {**{p: v for p, (v, _) in diff.changed.items()}, **diff.removed}
    purged = [p for s in record.steps if "purge" in s.argv or "--purge" in s.argv for p in s.argv if p in diff.removed]
    if purged:
        plan.notes.append(
            f"run {record.id} purged {', '.join(purged)}: reinstalling brings back the package defaults, "
            "not the configuration files it deleted"
        )
    fetchable = []
    for name, version in restore.items():
        if version in apt.versions(name, run):
            fetchable.append(f"{name}={version}")
        else:
            plan.notes.append(f"cannot restore {name} {version}: apt can no longer fetch that version")
    if fetchable:
        plan.steps.append(
            Step(
                ["apt-get", "install", "-y", "--allow-downgrades", *fetchable],
                why="put back the versions from before the run",
                needs_root=True,
            )
        )
        plan.packages += [f.split("=", 1)[0] for f in fetchable]
    return check_plan(plan, run)
