"""The one way Cortex opens a file it is told to read: a regular file, at once, bounded, with a clear error.

Configuration files, env files, prompt templates and model files are named by people. A FIFO there
blocks ``open`` (and with it a cortexd worker) until someone writes to it, ``/dev/zero`` never ends, a
directory or a socket fails with an errno nobody can act on, and bad bytes end in a UnicodeDecodeError
traceback. ``open_regular`` looks first (``stat``: no open at all of a device, whose open may act), then
opens with ``O_NONBLOCK`` (a FIFO swapped in meanwhile cannot block) and checks the descriptor again with
``fstat``, so each of those is one error naming the path and what it is. Standard library only and no
pathlib: ``config.py`` reads its files through here on ``cortex daemon status``'s path.
"""

from __future__ import annotations

import os
import stat

TYPE_CHECKING = False  # on cortex daemon status's path: typing is for type checkers only
if TYPE_CHECKING:
    from typing import BinaryIO

_OPEN_FLAGS = os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | os.O_NOCTTY
_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


class UnreadableFile(ValueError):
    """The file cannot be read as a regular file of text or data; the message names it and says why."""


class MissingFile(UnreadableFile):
    """Nothing at all is at the path (not even a broken symbolic link): callers with defaults may skip it."""


def kind(mode: int) -> str:
    """What a file of ``mode`` is, in words ("a directory", "a named pipe (FIFO)"...)."""
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def _check(path: str | os.PathLike[str], st: os.stat_result) -> None:
    if not stat.S_ISREG(st.st_mode):
        raise UnreadableFile(f"{os.fspath(path)} is {kind(st.st_mode)}, not a regular file")


def open_regular(path: str | os.PathLike[str]) -> BinaryIO:
    """``path`` opened for binary reading, or UnreadableFile (MissingFile when nothing is there).

    Never blocks: a FIFO, device, socket or directory is refused before or right after the open.
    """
    name = os.fspath(path)
    try:
        _check(name, os.stat(name))
        fd = os.open(name, _OPEN_FLAGS)
    except FileNotFoundError:
        if os.path.islink(name):
            raise UnreadableFile(f"{name} is a symbolic link to {os.readlink(name)}, which does not exist") from None
        raise MissingFile(f"{name}: no such file") from None
    except NotADirectoryError:
        raise MissingFile(f"{name}: no such file (a part of the path is not a directory)") from None
    except PermissionError:
        raise UnreadableFile(f"{name} is not readable by this user (permission denied)") from None
    except OSError as e:
        raise UnreadableFile(f"{name}: cannot open it: {e.strerror}") from None
    try:
        _check(name, os.fstat(fd))  # it may have been replaced between the stat and the open
    except UnreadableFile:
        os.close(fd)
        raise
    return os.fdopen(fd, "rb")


def read_text(path: str | os.PathLike[str], limit: int) -> str:
    """The UTF-8 text of regular file ``path``, at most ``limit`` bytes; UnreadableFile naming what is wrong."""
    name = os.fspath(path)
    with open_regular(name) as f:
        data = f.read(limit + 1)  # bounded even if the file grows, or reports no size (procfs)
    if len(data) > limit:
        raise UnreadableFile(f"{name} is larger than {_size(limit)}, more than such a file can need")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        raise UnreadableFile(
            f"{name} is not UTF-8 text (byte 0x{data[e.start]:02x} at offset {e.start}, line {line})"
        ) from None


def _size(n: int) -> str:
    return f"{n >> 20} MiB" if n >= 1 << 20 and not n % (1 << 20) else f"{n >> 10} KiB" if n >= 1 << 10 else f"{n} B"
