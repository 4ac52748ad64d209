"""Background services in user mode: start detached with a pid file and a log file, stop cleanly.

The pid file is the only record; a pid whose process is gone, or is not the
program we started (pid reuse), counts as not running.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Mapping, Sequence
from pathlib import Path


def read_pid(pid_file: Path, expect: str | tuple[str, ...] = "") -> int | None:
    """The live pid recorded in ``pid_file`` whose command line contains ``expect`` (or one of them), or None."""
    try:
        pid = int(pid_file.read_text().strip())
    except (OSError, ValueError):
        return None
    return running(pid, expect)


def running(pid: int, expect: str | tuple[str, ...] = "") -> int | None:
    """``pid`` when it is alive (not a zombie) and its command line contains ``expect`` (or one of them)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        state = next((ln for ln in Path(f"/proc/{pid}/status").read_text().splitlines() if ln.startswith("State:")), "")
    except OSError:
        return None
    wanted = (expect,) if isinstance(expect, str) else expect
    if "zombie" in state or not any(w in cmdline for w in wanted):
        return None
    return pid


def spawn(argv: Sequence[str], pid_file: Path, log_file: Path, env: Mapping[str, str] | None = None) -> int:
    """Start ``argv`` in its own session, output appended to ``log_file``; record and return its pid."""
    import subprocess  # here: cortex-llm's start (spawn_kept) does without it and its 2 ms of imports

    log_file.parent.mkdir(parents=True, exist_ok=True)
    pid_file.parent.mkdir(parents=True, exist_ok=True)
    with open(log_file, "ab", buffering=0) as log:
        log.write(f"--- {time.strftime('%Y-%m-%d %H:%M:%S')} starting: {' '.join(argv)}\n".encode())
        proc = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env=dict(env) if env is not None else None,
            close_fds=True,
        )
    tmp = pid_file.with_suffix(".tmp")
    tmp.write_text(f"{proc.pid}\n")
    tmp.replace(pid_file)
    return proc.pid


def spawn_kept(
    argv: Sequence[str], keeper: Sequence[str], pid_file: Path, keeper_pid_file: Path, log_file: Path
) -> tuple[int, int, int]:
    """Start ``argv`` now and a keeper that is its parent: one forked process, in its own session with output
    appended to ``log_file``, starts ``argv`` and then becomes ``keeper + [UP, its pid, "--", *argv]``. So the
    keeper's own start (a Python interpreter) runs while the program starts, and the keeper still waits for
    it as its child, exit status included. ``UP`` is the write end of a pipe the keeper inherits (the program
    does not) to say when the program is up; the caller waits on the read end, which ends (EOF) when the
    keeper does. Records both pids; returns (program, keeper, the pipe's read end)."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    pid_file.parent.mkdir(parents=True, exist_ok=True)
    with open(log_file, "ab", buffering=0) as log:
        log.write(f"--- {time.strftime('%Y-%m-%d %H:%M:%S')} starting: {' '.join(argv)}\n".encode())
        told, tell = os.pipe()  # the program's pid, from the forked process to this one
        ready, up = os.pipe()  # both close on exec: the program inherits neither end
        kept = os.fork()
        if kept == 0:  # pragma: no cover (the forked process; it ends in exec or _exit)
            try:
                os.setsid()
                os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
                os.dup2(log.fileno(), 1)
                os.dup2(log.fileno(), 2)
                child = os.posix_spawn(argv[0], list(argv), os.environ)
                os.write(tell, f"{child}".encode())
                os.set_inheritable(up, True)  # the keeper's, from here on
                os.execv(keeper[0], [*keeper, str(up), str(child), "--", *argv])
            finally:
                os._exit(127)
    os.close(tell)
    os.close(up)
    child = 0
    try:
        with os.fdopen(told, "rb") as f:
            child = int(f.read() or 0)
        if not child:
            raise OSError(f"could not start {argv[0]} (log: {log_file})")
        for pid, path in ((child, pid_file), (kept, keeper_pid_file)):
            tmp = path.with_suffix(".tmp")
            tmp.write_text(f"{pid}\n")
            tmp.replace(path)
    except BaseException:  # nothing may be left running that no pid file names
        os.close(ready)
        for pid in (kept, child):
            if pid:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        raise
    return child, kept, ready


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    with contextlib.suppress(ChildProcessError):
        if os.waitpid(pid, os.WNOHANG)[0] == pid:  # our own child that has exited: reap it
            return False
    try:
        return "zombie" not in Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False


def stop(pid: int, timeout: float = 10.0, kill: bool = True) -> bool:
    """SIGTERM, wait up to ``timeout``, then (if ``kill``) SIGKILL. True if the process is gone."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return True
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive(pid):
            return True
        time.sleep(0.05)
    if not kill:
        return False
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    time.sleep(0.1)
    return not alive(pid)


def rss_bytes(pid: int | str = "self") -> int:
    """Resident memory of a process (0 once it is gone), from ``/proc/PID/statm``."""
    try:
        with open(f"/proc/{pid}/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return 0


def log_tail(log_file: Path, lines: int = 20) -> list[str]:
    try:
        with open(log_file, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 16384))
            return f.read().decode(errors="replace").splitlines()[-lines:]
    except OSError:
        return []
