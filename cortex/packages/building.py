"""One build of the vectors and the manual pages' store at a time, per state directory.

The first build encodes about 53,000 texts (4 minutes on 2 cores) and parses
every installed manual page. The README's first command leaves it to a niced
background process (``python -m cortex.ask.prepare --background``), so that
its user can ask at once. Whoever builds holds an flock on
``state_dir/build.lock`` (released by the kernel when the builder exits, however
it exits). A ``cortex ask`` or ``cortex install`` that finds it held starts no
second build: it uses the vectors and the store that exist (full-text search
alone until there are some) and says, in one line, how far the build has come,
read from the builder's log ``state_dir/build.log``.
"""

from __future__ import annotations

import fcntl
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

LOCK = "build.lock"
LOG = "build.log"

_held: dict[Path, int] = {}  # the state directories whose lock this process holds: the lock file's descriptor
_told: set[Path] = set()  # the state directories whose build a note was printed for


def _key(state_dir: Path) -> Path:
    return Path(os.path.abspath(state_dir))


@contextmanager
def exclusive(state_dir: Path, wait: bool) -> Iterator[bool]:
    """Hold ``state_dir``'s build lock while the block runs (yields True); without ``wait``, yields False at
    once when another process holds it. Re-entrant: a process that holds it (a builder's nested steps) gets it."""
    key = _key(state_dir)
    if key in _held:
        yield True
        return
    key.mkdir(parents=True, exist_ok=True)
    fd = os.open(key / LOCK, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        _held[key] = fd
        try:
            yield True
        finally:
            del _held[key]
    finally:
        os.close(fd)  # releases the lock


def descriptor(state_dir: Path) -> int:
    """The descriptor of the lock this process holds on ``state_dir`` (inside ``exclusive``), to hand it to a
    process it starts."""
    return _held[_key(state_dir)]


def adopt(state_dir: Path, fd: int) -> None:
    """Count the lock on descriptor ``fd`` (taken by the process that started this one, and inherited) as this
    process's: it is held from the start, so no command can slip a build in between."""
    _held[_key(state_dir)] = fd


def busy(state_dir: Path) -> bool:
    """Whether another process is building in ``state_dir`` now."""
    key = _key(state_dir)
    if key in _held:
        return False
    try:
        fd = os.open(key / LOCK, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def progress(state_dir: Path) -> str:
    """The builder's last progress line ("package index: vectors 12,800/53,213 (24%)"), or ""."""
    try:
        with (Path(state_dir) / LOG).open("rb") as f:
            f.seek(max(f.seek(0, os.SEEK_END) - 4096, 0))
            lines = f.read().decode("utf-8", "replace").splitlines()
    except OSError:
        return ""
    last = next((line.strip() for line in reversed(lines) if line.strip()), "")
    return last.removeprefix("cortex: ")


def note(state_dir: Path) -> str:
    """What a command that found the build under way says (one line)."""
    done = progress(state_dir)
    where = f" ({done})" if done else ""
    return (
        f"the package vectors and the manual pages' store are still being built in the background{where};"
        f" until then plans and answers use full-text search (log: {Path(state_dir) / LOG})"
    )


def tell(state_dir: Path) -> None:
    """Print ``note`` on stderr, once per process."""
    key = _key(state_dir)
    if key not in _told:
        _told.add(key)
        print(f"cortex: {note(state_dir)}", file=sys.stderr)
