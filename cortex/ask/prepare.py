"""``python -m cortex.ask.prepare``: build what plans and answers read, with progress, so that the first
``cortex ask`` or ``cortex install`` does not wait for it.

The package index (apt's lists, Contents, AppStream, manual pages' NAME lines;
about 10 s), its vectors (all-MiniLM-L6-v2 over 53,000 summaries and NAME
lines: about 4 minutes on 2 cores the first time, incremental afterwards) and
the store of installed manual pages' options and examples (about 1 minute).

``--index-only`` builds the index alone; ``--background`` leaves the rest to a
niced process started here, one at a time per state directory (building.py),
its progress in ``state_dir/build.log``: the README's first command does both,
so that its user can ask once the index is there.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from typing import Any, TextIO


class Progress:
    """One line on a terminal (rewritten in place), or a line per stage elsewhere."""

    def __init__(self, stream: TextIO = sys.stderr, every: float | None = None):
        self.stream = stream
        self.tty = stream.isatty()
        self.every = every if every is not None else 0.2 if self.tty else 15
        self.stage = ""
        self.shown = 0.0

    def __call__(self, stage: str, done: int, total: int) -> None:
        now = time.monotonic()
        if stage != self.stage:
            if self.tty and self.stage:
                self.stream.write("\n")
            self.stage = stage
        elif now - self.shown < self.every and done != total:
            return
        self.shown = now
        count = f" {done:,}/{total:,} ({100 * done // total}%)" if total else ""
        line = f"cortex: {stage}{count}"
        self.stream.write(f"\r{line}\033[K" if self.tty else line + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self.tty and self.stage:
            self.stream.write("\n")


def prepare(config: Any, progress: Progress, vectors: bool = True) -> None:
    """The index, then (with ``vectors``) its vectors and the manual pages' store, holding the build lock: a
    build under way elsewhere is waited for, and what it left is then up to date."""
    from cortex.ask.docs import open_store
    from cortex.packages import building
    from cortex.packages.index import PackageIndex

    state = config.paths.state_dir
    index = PackageIndex(state / "packages.db", models_dir=config.paths.models_dir)
    if not vectors:
        _index(index, progress, vectors=False)
        return
    if building.busy(state):
        progress(f"waiting for the build under way ({building.progress(state) or 'starting'})", 0, 0)
    with building.exclusive(state, wait=True):
        _index(index, progress)
        start = time.monotonic()
        store = open_store(config, index, lambda done, total: progress("manual pages", done, total))
        progress(f"manual pages: {store.count():,} options and examples, {time.monotonic() - start:.0f} s", 0, 0)


def _index(index: Any, progress: Progress, vectors: bool = True) -> None:
    report = index.ensure(lambda stage, done, total: progress(f"package index: {stage}", done, total), vectors)
    progress(f"package index {report.action}: {report.packages:,} packages in {report.seconds:.0f} s", 0, 0)


def background(config: Any) -> str:
    """Start the niced builder of the vectors and the manual pages' store, unless one is running; the lock is
    taken here and handed to it, so that no command can start a build of its own in between. Says what it did."""
    from cortex.packages import building

    state = config.paths.state_dir
    log = state / building.LOG
    with building.exclusive(state, wait=False) as mine:
        if not mine:
            return f"already being built in the background ({building.progress(state) or 'starting'}); log: {log}"
        fd = building.descriptor(state)
        with log.open("w", encoding="utf-8") as out:
            subprocess.Popen(
                [sys.executable, "-m", "cortex.ask.prepare", "--lock-fd", str(fd)],
                stdin=subprocess.DEVNULL, stdout=out, stderr=out, pass_fds=(fd,), start_new_session=True,
            )  # fmt: skip
    return f"building in the background (niced); progress in {log}"


def main(argv: list[str] | None = None) -> int:
    from cortex.config import load_config

    parser = argparse.ArgumentParser(prog="python -m cortex.ask.prepare", description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--index-only", action="store_true", help="the package index alone, without its vectors")
    mode.add_argument("--background", action="store_true", help="the rest in a niced background process")
    mode.add_argument("--lock-fd", type=int, help=argparse.SUPPRESS)  # that process, holding the lock
    args = parser.parse_args(argv)
    config = load_config()
    if args.background:
        print(f"cortex: vectors and manual pages' store: {background(config)}", file=sys.stderr)
        return 0
    progress = Progress(every=5) if args.lock_fd is not None else Progress()
    if args.lock_fd is not None:
        from cortex.packages import building

        os.nice(10)
        building.adopt(config.paths.state_dir, args.lock_fd)
    try:
        prepare(config, progress, vectors=not args.index_only)
    finally:
        progress.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
