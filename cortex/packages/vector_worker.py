"""The vector work of one ``cortex ask`` (numpy, the encoder, the scans of the matrices) in a forked child.

A how-to answer's first line waits for the question's vector and for scans of ~200 MB of vectors. In one
process they come after ~70 ms of imports, and numpy's import (~50 ms) holds the interpreter's lock, so no
thread can overlap it. A child forked before those imports loads numpy and the encoder and encodes the
question on the other core while this process imports; :class:`semantic.Vectors` then sends it its calls
(:func:`current`), and the scans run there while this process searches by words. The answer is the same: the
child runs the same code on the same files.

The child does nothing else: it ignores Ctrl-C (the parent's to handle), ends when its pipe closes (the
parent exited or was killed) and never returns into the parent's code. If it fails, the parent does the work
itself, as it would without a child. Calls and replies are ``marshal``-ed (plain data; ``pickle`` and
``socket`` would cost the fork 7 ms of imports).
"""

from __future__ import annotations

import marshal
import os
import struct
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

HEADER = struct.Struct("<I")


class WorkerError(RuntimeError):
    """The child is gone or could not do what was asked: do it here."""


class Encoded:
    """A text whose vector the child holds (what :meth:`semantic.Vectors.encode` returns through it), and the
    vector made here once the child could not answer (``here``: made once, not at every call after)."""

    __slots__ = ("here", "text")

    def __init__(self, text: str):
        self.text, self.here = text, None


class VectorWorker:
    """The child, and the calls it answers: ``encode``, ``nearest`` and ``similarity`` of ``semantic.Vectors``."""

    def __init__(self, models_dir: Path, first: str):
        from_parent, to_child = os.pipe()  # (read end, write end)
        from_child, to_parent = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: it serves, then exits without running anything of the parent's
            os.close(to_child)
            os.close(from_child)
            _serve(from_parent, to_parent, Path(models_dir), first)
        os.close(from_parent)
        os.close(to_parent)
        self.pid, self.send, self.receive, self.models_dir = pid, to_child, from_child, Path(models_dir)
        self.lock = threading.Lock()  # one call at a time: threads of the parent share the pipes

    def call(self, method: str, *args: Any) -> Any:
        """What the child's ``method`` returns for ``args``; :class:`WorkerError` when it cannot answer."""
        try:
            with self.lock:
                _write(self.send, (method, args))
                reply = _read(self.receive)
        except (OSError, ValueError, EOFError) as e:
            raise WorkerError(f"the vector worker is gone: {e}") from None
        if reply is None:
            raise WorkerError("the vector worker is gone")
        ok, value = reply
        if not ok:
            raise WorkerError(value)
        return value

    def close(self) -> None:
        with self.lock:
            os.close(self.send)  # the child sees the end of its pipe and exits
            os.close(self.receive)
        os.waitpid(self.pid, 0)


_current: VectorWorker | None = None


def current() -> VectorWorker | None:
    """This process's worker, if one is running."""
    return _current


def stop() -> None:
    """End the worker (its failure, or the end of the question): the work is done here from now on."""
    global _current
    worker, _current = _current, None
    if worker is not None:
        worker.close()


@contextmanager
def started(models_dir: Path, question: str) -> Iterator[None]:
    """A worker for the duration of the block, already encoding ``question``; none where forking is unsafe
    (another thread may hold a lock the child would need) or the embedder is not installed."""
    global _current
    from cortex.packages import semantic

    if _current is not None or threading.active_count() > 1 or not semantic.available(models_dir):
        yield
        return
    try:
        _current = VectorWorker(models_dir, question)
    except OSError:  # no fork here (a limit on processes): as without a worker
        yield
        return
    try:
        yield
    finally:
        stop()


def _serve(receive: int, send: int, models_dir: Path, first: str) -> None:
    """The child's life: encode ``first``, then answer calls until the parent closes the pipe."""
    status = 0
    try:
        import signal

        signal.signal(signal.SIGINT, signal.SIG_IGN)
        work = _Work(models_dir)
        work.encode(first)
        while (request := _read(receive)) is not None:
            method, args = request
            try:
                _write(send, (True, getattr(work, method)(*args)))
            except Exception as e:  # told to the parent, which does this one itself
                _write(send, (False, f"{method}: {e!r}"))
    except BaseException:  # the parent is gone, or the model files are: it finds out at its next call
        status = 1
    finally:
        os._exit(status)


class _Work:
    """What the child keeps: the encoder, the texts' vectors, the matrices (memory-mapped once)."""

    def __init__(self, models_dir: Path):
        from cortex.packages import semantic

        self.semantic, self.models_dir = semantic, models_dir
        self.encoder = semantic.query_encoder(models_dir)
        self.vectors: dict[str, Any] = {}
        self.matrices: dict[str, Any] = {}

    def encode(self, text: str) -> None:
        if text not in self.vectors:
            self.vectors[text] = self.encoder.encode(text)

    def _vectors(self, db_path: str, text: str) -> tuple[Any, Any]:
        if db_path not in self.matrices:
            self.matrices[db_path] = self.semantic.Vectors(Path(db_path), self.models_dir)
        self.encode(text)
        return self.matrices[db_path], self.vectors[text]

    def nearest(self, db_path: str, text: str, kind: str, limit: int) -> list[tuple[int, float]]:
        matrices, vector = self._vectors(db_path, text)
        return matrices.nearest(vector, kind, limit)

    def similarity(self, db_path: str, text: str, kind: str, ids: list[int]) -> list[float]:
        matrices, vector = self._vectors(db_path, text)
        return [float(x) for x in matrices.similarity(vector, kind, ids)]


def _write(fd: int, obj: Any) -> None:
    data = marshal.dumps(obj)
    data = HEADER.pack(len(data)) + data
    while data:
        data = data[os.write(fd, data) :]


def _read(fd: int) -> Any | None:
    """The next object, None at the end of the pipe."""
    header = _exactly(fd, HEADER.size)
    if header is None:
        return None
    data = _exactly(fd, HEADER.unpack(header)[0])
    return None if data is None else marshal.loads(data)


def _exactly(fd: int, size: int) -> bytes | None:
    chunks, left = [], size
    while left:
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)
