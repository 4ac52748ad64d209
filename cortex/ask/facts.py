"""The facts a question touches, read from this machine before any model is asked.

Each :class:`Fact` carries a line for the model's context and the structured
values the deterministic lead sentence is computed from. Only the topics the
question mentions are gathered (memory, CPUs, OS, kernel, architecture, disks,
the packages and commands it names, their services), so a question costs a few
``stat`` calls and at most a handful of short subprocesses.
"""

from __future__ import annotations

import os
import platform
import re
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cortex.ask.questions import TOPICS
from cortex.packages.index import PackageIndex, PackageIndexError
from cortex.packages.vocabulary import ALIASES

Runner = Callable[[list[str]], str]
GIB = 1024**3
REAL_FS = frozenset({"ext2", "ext3", "ext4", "xfs", "btrfs", "zfs", "f2fs", "vfat", "exfat", "ntfs", "ntfs3", "jfs"})
# fmt: off
NOT_SUBJECTS = frozenset({
    "what", "which", "who", "how", "why", "when", "where", "is", "are", "was", "does", "do", "did", "can", "could",
    "the", "a", "an", "this", "that", "these", "my", "on", "in", "of", "for", "to", "and", "or", "it", "its", "i",
    "installed", "install", "running", "run", "version", "machine", "computer", "system", "command", "package",
    "program", "tool", "there", "much", "many", "have", "has", "use", "used", "difference", "between", "about",
    "free", "space", "disk", "memory", "ram", "cpu", "cpus", "cores", "kernel", "service", "status", "active",
    "work", "works", "mean", "means", "explain", "tell", "me", "you", "your", "with", "from", "up", "all",
})
# fmt: on


@dataclass
class Fact:
    """One thing known about this machine: a context line and the values behind it."""

    topic: str  # memory | cpu | os | kernel | arch | disk | package | command | service | howto
    text: str
    data: dict[str, Any] = field(default_factory=dict)
    priority: int = 1  # 0: what the question asks about; higher: background


def run_quiet(argv: list[str]) -> str:
    """stdout of a short command, "" if it is missing, fails or hangs."""
    if not shutil.which(argv[0]):
        return ""
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=5, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return done.stdout.strip() if done.returncode == 0 else ""


def os_release(path: Path = Path("/etc/os-release")) -> dict[str, str]:
    out = {}
    if path.is_file():
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            key, sep, value = line.partition("=")
            if sep:
                out[key.strip()] = value.strip().strip('"')
    return out


def gib(n: float) -> str:
    return f"{n / GIB:.1f} GiB"


def memory_fact() -> Fact:
    import psutil  # here, not at the top: 10 ms that answers not about memory, CPUs or disks need not wait

    vm, sw = psutil.virtual_memory(), psutil.swap_memory()
    text = (
        f"Memory: {gib(vm.total)} total, {gib(vm.available)} available; swap {gib(sw.total)} total, {gib(sw.used)} used"
    )
    return Fact("memory", text, {"total": vm.total, "available": vm.available, "swap_total": sw.total})


def cpu_fact() -> Fact:
    import psutil

    count = os.cpu_count() or 1
    model = ""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        m = re.search(r"^model name\s*:\s*(.+)$", cpuinfo.read_text(errors="replace"), re.M)
        model = m.group(1).strip() if m else ""
    physical = psutil.cpu_count(logical=False) or count
    text = f"CPUs: {count} logical ({physical} physical cores)" + (f", {model}" if model else "")
    return Fact("cpu", text, {"count": count, "physical": physical, "model": model})


def os_fact() -> Fact:
    rel = os_release()
    name = rel.get("PRETTY_NAME") or f"{platform.system()} {platform.release()}"
    return Fact("os", f"Operating system: {name}", {"name": name, "id": rel.get("ID", ""), **rel})


def kernel_fact() -> Fact:
    release = platform.release()
    return Fact("kernel", f"Kernel: {platform.system()} {release}", {"release": release})


def arch_fact(run: Runner) -> Fact:
    machine = platform.machine()
    deb = run(["dpkg", "--print-architecture"])
    text = f"Architecture: {machine}" + (f" (Debian {deb})" if deb else "")
    return Fact("arch", text, {"machine": machine, "debian": deb})


def disk_facts() -> list[Fact]:
    import psutil

    facts = []
    seen = set()
    for part in psutil.disk_partitions(all=False):
        if part.fstype not in REAL_FS and part.mountpoint != "/":
            continue
        try:
            usage = psutil.disk_usage(part.mountpoint)
        except OSError:
            continue
        if part.device in seen and part.mountpoint != "/":
            continue
        seen.add(part.device)
        text = (
            f"Filesystem {part.mountpoint} ({part.device}, {part.fstype}): {gib(usage.free)} free of "
            f"{gib(usage.total)} ({usage.percent:.0f}% used)"
        )
        data = {"mount": part.mountpoint, "free": usage.free, "total": usage.total, "percent": usage.percent}
        facts.append(Fact("disk", text, data, priority=0 if part.mountpoint == "/" else 1))
    if not any(f.data["mount"] == "/" for f in facts):
        usage = psutil.disk_usage("/")
        text = f"Filesystem /: {gib(usage.free)} free of {gib(usage.total)} ({usage.percent:.0f}% used)"
        facts.insert(0, Fact("disk", text, {"mount": "/", "free": usage.free, "total": usage.total}, 0))
    return facts[:6]


def subject_words(question: str) -> list[str]:
    """Words of the question that may name a package or command, in order."""
    words = re.findall(r"[a-z0-9][a-z0-9+.\-]*[a-z0-9+]|[a-z0-9]", question.lower())
    return list(dict.fromkeys(w for w in words if w not in NOT_SUBJECTS and not w.isdigit()))


def package_state(name: str, run: Runner) -> tuple[bool, str]:
    """(installed, version) from dpkg itself, so the answer reflects this moment."""
    out = run(["dpkg-query", "-W", "-f=${db:Status-Abbrev}\t${Version}", name])
    status, _, version = out.partition("\t")
    return status.startswith("ii") or status.startswith("hi"), version.strip()


def package_fact(name: str, index: PackageIndex | None, run: Runner) -> Fact | None:
    pkg = index.get(name) if index is not None else None
    installed, version = package_state(name, run)
    if pkg is None and not installed:
        if index is not None:
            return None
        summary = ""
        show = run(["apt-cache", "show", "--no-all-versions", name])
        m = re.search(r"^Description(?:-en)?: (.+)$", show, re.M)
        if not m:
            return None
        summary = m.group(1).strip()
    else:
        summary = pkg.summary if pkg is not None else ""
    state = f"installed, version {version}" if installed else "not installed"
    available = pkg.version if pkg is not None else ""
    text = f"Package {name}: {summary}; {state}" + (f"; apt offers {available}" if available and not installed else "")
    data = {"name": name, "summary": summary, "installed": installed, "version": version, "available": available}
    data["service"] = pkg.service if pkg is not None else ""
    return Fact("package", text, data, priority=0)


def command_fact(word: str, run: Runner) -> Fact | None:
    """What ``man -f`` says about a command, if it has a manual page."""
    out = run(["man", "-f", word])
    for line in out.splitlines():
        m = re.match(r"^(\S+) \(([^)]+)\)\s+-\s+(.+)$", line.strip())
        if m and m.group(1) == word:
            text = f"Command {word} (manual section {m.group(2)}): {m.group(3)}"
            return Fact("command", text, {"name": word, "section": m.group(2), "summary": m.group(3)}, priority=0)
    return None


def systemd_running() -> bool:
    return Path("/run/systemd/system").is_dir()


def service_fact(package: Fact, run: Runner) -> Fact:
    name, unit = package.data["name"], package.data.get("service") or package.data["name"]
    if not package.data["installed"]:
        return Fact("service", f"Service {unit}: not installed", {"unit": unit, "state": "not installed"}, 0)
    if not systemd_running():
        text = f"Service {unit}: unknown, systemd is not running on this machine"
        return Fact("service", text, {"unit": unit, "state": "unknown"}, 0)
    state = run(["systemctl", "is-active", unit]) or "inactive"
    return Fact("service", f"Service {unit} ({name}): {state}", {"unit": unit, "state": state}, 0)


def gather(question: str, index: PackageIndex | None = None, run: Runner = run_quiet) -> list[Fact]:
    """The facts ``question`` touches, most relevant first; the OS line is always there as background."""
    q = question.lower()
    facts: list[Fact] = []
    asked = {topic for topic, pattern in TOPICS.items() if pattern.search(q)}
    if "memory" in asked:
        facts.append(memory_fact())
    if "cpu" in asked:
        facts.append(cpu_fact())
    if "kernel" in asked:
        facts.append(kernel_fact())
    if "arch" in asked:
        facts.append(arch_fact(run))
    if "disk" in asked:
        facts.extend(disk_facts())
    for word in subject_words(question)[:4]:
        name = ALIASES.get(word, word)
        try:
            package = package_fact(name, index, run)
        except PackageIndexError:
            package = package_fact(name, None, run)
        command = command_fact(word, run)
        if command is not None:
            facts.append(command)
        if package is not None:
            facts.append(package)
            if "service" in asked:
                facts.append(service_fact(package, run))
    os_line = os_fact()
    os_line.priority = 0 if "os" in asked else 2
    facts.append(os_line)
    return sorted(facts, key=lambda f: f.priority)
