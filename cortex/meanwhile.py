"""A call run on another thread meanwhile, its result (or its exception) taken later.

``cortex ask`` reads a how-to question's facts (subprocesses) and scans vectors (numpy) on the second core while
it searches. ``concurrent.futures`` does this too, but importing it imports ``logging``: ~6 ms of the wait for
the answer's first line. Leaving the ``with`` block waits for the call, so nothing it started (a subprocess)
outlives it, whatever happened in the block.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class Meanwhile(Generic[T]):
    """``fn(*args)`` started on a thread of its own; :meth:`result` waits for it."""

    def __init__(self, fn: Callable[..., T], *args: Any):
        self._value: T | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(fn, args), name=getattr(fn, "__name__", "meanwhile"))
        self._thread.start()

    def _run(self, fn: Callable[..., T], args: tuple[Any, ...]) -> None:
        try:
            self._value = fn(*args)
        except BaseException as e:  # handed to whoever takes the result
            self._error = e

    def result(self) -> T:
        """What the call returned, once it has; what it raised is raised here."""
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._value  # type: ignore[return-value]

    def __enter__(self) -> Meanwhile[T]:
        return self

    def __exit__(self, *exc: object) -> None:
        self._thread.join()
