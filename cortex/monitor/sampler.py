"""What the machine looks like right now: one :class:`Snapshot` per sample.

The sampler reads psutil, systemd, apt and cortex-llm. Everything that can be
slow runs outside the daemon's event loop: the monitor calls :meth:`Sampler.sample`
in a thread, and apt's update count (seconds of work) is refreshed separately on
``[monitor] updates_interval`` through :meth:`Sampler.refresh_updates`.
A value that cannot be known is ``None`` ("unknown"), never a made-up 0.
"""

from __future__ import annotations

import logging
import os
import subprocess
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import psutil

from cortex.config import Config
from cortex.llm_service import api_key
from cortex.llm_service.llama_api import get_text, parse_metrics, probe
from cortex.process import rss_bytes

log = logging.getLogger("cortex.monitor")

# Filesystems that hold no user data: kernel views, memory-backed, images and container layers.
PSEUDO_FS = frozenset({
    "autofs", "binfmt_misc", "bpf", "cgroup", "cgroup2", "configfs", "debugfs", "devpts", "devtmpfs", "efivarfs",
    "fuse.gvfsd-fuse", "fuse.lxcfs", "fuse.portal", "fusectl", "hugetlbfs", "iso9660", "mqueue", "nfsd", "nsfs",
    "overlay", "proc", "pstore", "ramfs", "rpc_pipefs", "securityfs", "selinuxfs", "squashfs", "sysfs", "tmpfs",
    "tracefs", "zram",
})  # fmt: skip
LLM_PROBE_TIMEOUT = 1.0
CPU_MIN_WINDOW = 0.5  # seconds: a shorter CPU window is noise


@dataclass
class Disk:
    mountpoint: str
    device: str
    fstype: str
    total_bytes: int
    used_bytes: int
    free_bytes: int
    percent: float


@dataclass
class Updates:
    pending: int | None = None  # None: not counted yet, or apt is missing
    security: int | None = None
    checked_at: float | None = None


@dataclass
class LLMState:
    url: str
    configured: bool  # a model is installed, so cortex-llm is expected to run
    state: str  # up | loading | down | error (the names cortexd's status uses)
    tokens_per_second: float | None = None


@dataclass
class Snapshot:
    """One sample of the machine; ``to_dict`` is the ``health`` data of DESIGN section 2 (minus thresholds)."""

    time: float
    cpu: dict[str, Any]
    memory: dict[str, Any]
    swap: dict[str, Any]
    disks: list[Disk]
    load: list[float]
    uptime: float
    failed_units: list[str] | None  # None: systemd is not running here, so unknown
    updates: Updates
    llm: LLMState
    daemon: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["failed_units"] = (
            {"count": "unknown", "units": []}
            if self.failed_units is None
            else {"count": len(self.failed_units), "units": self.failed_units}
        )
        return data


def real_filesystems() -> list[Any]:
    """Mounted filesystems that hold data: no pseudo or memory filesystems, one row per device."""
    seen: set[str] = set()
    out = []
    for part in psutil.disk_partitions(all=False):
        if part.fstype in PSEUDO_FS or part.device in seen:
            continue
        seen.add(part.device)  # a bind mount shows the same device again
        out.append(part)
    return out


def on_path(program: str) -> bool:
    """``shutil.which`` without importing shutil (and with it bz2 and lzma) into the daemon."""
    return any(os.access(os.path.join(d, program), os.X_OK) for d in os.environ.get("PATH", "").split(os.pathsep) if d)


def systemd_running() -> bool:
    """sd_booted(3): systemd is PID 1 exactly when this directory exists."""
    return Path("/run/systemd/system").is_dir()


def failed_units() -> list[str] | None:
    if not systemd_running() or not on_path("systemctl"):
        return None
    try:
        out = subprocess.run(
            ["systemctl", "--failed", "--no-legend", "--plain", "--no-pager"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError) as e:
        log.warning("cannot list failed units: %s", e)
        return None
    return [line.split()[0] for line in out.splitlines() if line.strip()]


def parse_apt_simulation(text: str) -> Updates:
    """Count ``Inst`` lines of ``apt-get -s upgrade``; those from a ``-security`` origin are security updates.

    A line looks like ``Inst bash [5.2.15-2+b8] (5.2.15-2+b13 Debian-Security:12/stable-security [amd64])``.
    """
    pending = security = 0
    for line in text.splitlines():
        if not line.startswith("Inst "):
            continue
        pending += 1
        origin = line[line.find("(") :] if "(" in line else ""
        if "-security" in origin.lower() or "debian-security" in origin.lower():
            security += 1
    return Updates(pending, security, None)


def count_updates(clock: Any = time.time) -> Updates:
    """Ask apt itself (a simulation, no root needed, no network); unknown when apt is missing or fails."""
    if not on_path("apt-get"):
        return Updates(checked_at=clock())
    try:
        proc = subprocess.run(
            ["apt-get", "-s", "-o", "Debug::NoLocking=1", "upgrade"],
            capture_output=True,
            text=True,
            timeout=300,
            env={**os.environ, "LC_ALL": "C"},
        )
    except (OSError, subprocess.SubprocessError) as e:
        log.warning("cannot count apt updates: %s", e)
        return Updates(checked_at=clock())
    if proc.returncode != 0:
        log.warning("apt-get -s upgrade failed: %s", proc.stderr.strip().splitlines()[-1:] or proc.returncode)
        return Updates(checked_at=clock())
    updates = parse_apt_simulation(proc.stdout)
    updates.checked_at = clock()
    return updates


def tokens_per_second(metrics: str) -> float | None:
    """llama-server's ``predicted_tokens_seconds`` in its /metrics text, rounded as ``health`` shows it."""
    tps = parse_metrics(metrics).get("predicted_tokens_seconds")
    return round(tps, 2) if tps is not None else None


def probe_llm(url: str, configured: bool, key: str = "") -> LLMState:
    """GET /health (200 up, 503 loading); then /metrics for tokens/s, which needs ``--metrics`` and the API key."""
    state = probe(url, LLM_PROBE_TIMEOUT)
    tps = tokens_per_second(get_text(url + "/metrics", LLM_PROBE_TIMEOUT, key)) if state == "up" else None
    return LLMState(url, configured, state, tps)


class Sampler:
    """Reads the machine. ``sample`` blocks for at most a few hundred ms (run it in a thread)."""

    def __init__(self, config: Config, clock: Any = time.time):
        self.clock = clock
        self.apply_config(config)
        self.updates = Updates()
        psutil.cpu_percent(interval=None)  # the first reading is meaningless: take it now and discard it
        self._cpu_primed = time.monotonic()

    def apply_config(self, config: Config) -> None:
        self.llm_url = config.llm_url
        self.llm_key_file = config.llm_key_file
        self.llm_configured = config.model_path.is_file()

    def refresh_updates(self) -> Updates:
        """Seconds of apt work: call from a thread on ``[monitor] updates_interval``."""
        self.updates = count_updates(self.clock)
        return self.updates

    def disks(self) -> list[Disk]:
        out = []
        for part in real_filesystems():
            try:
                u = psutil.disk_usage(part.mountpoint)
            except OSError:  # unmounted meanwhile, or no permission
                continue
            out.append(Disk(part.mountpoint, part.device, part.fstype, u.total, u.used, u.free, u.percent))
        return out

    def cpu_percent(self) -> float:
        """CPU use since the previous call; the first call waits until the discarded priming reading is 0.5 s old."""
        wait = CPU_MIN_WINDOW - (time.monotonic() - self._cpu_primed)
        if wait > 0:
            time.sleep(wait)
        return psutil.cpu_percent(interval=None)

    def sample(self) -> Snapshot:
        mem, swap = psutil.virtual_memory(), psutil.swap_memory()
        try:
            load = [round(x, 2) for x in os.getloadavg()]
        except OSError:
            load = []
        return Snapshot(
            time=self.clock(),
            cpu={"percent": self.cpu_percent(), "count": psutil.cpu_count() or 1},
            memory={
                "total_bytes": mem.total,
                "used_bytes": mem.total - mem.available,
                "available_bytes": mem.available,
                "percent": mem.percent,
            },
            swap={"total_bytes": swap.total, "used_bytes": swap.used, "percent": swap.percent},
            disks=self.disks(),
            load=load,
            uptime=round(time.time() - psutil.boot_time(), 1),
            failed_units=failed_units(),
            updates=self.updates,
            llm=probe_llm(self.llm_url, self.llm_configured, api_key.read(self.llm_key_file)),
            daemon={"pid": os.getpid(), "rss_bytes": rss_bytes()},
        )
