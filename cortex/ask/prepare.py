"""``python -m cortex.ask.prepare``: build what plans and answers read, with progress, so that the first
``cortex ask`` or ``cortex install`` does not wait for it.

The package index (apt's lists, Contents, AppStream, manual pages' NAME lines;
about 10 s), its vectors (all-MiniLM-L6-v2 over 115,000 summaries and NAME
lines: about 3 minutes on 2 cores the first time, incremental afterwards) and
the store of installed manual pages' options and examples (about 1 minute).
"""

from __future__ import annotations

import sys
import time
from typing import Any, TextIO


class Progress:
    """One line on a terminal (rewritten in place), or a line per stage elsewhere."""

    def __init__(self, stream: TextIO = sys.stderr):
        self.stream = stream
        self.tty = stream.isatty()
        self.stage = ""
        self.shown = 0.0

    def __call__(self, stage: str, done: int, total: int) -> None:
        now = time.monotonic()
        if stage != self.stage:
            if self.tty and self.stage:
                self.stream.write("\n")
            self.stage = stage
        elif now - self.shown < (0.2 if self.tty else 15) and done != total:
            return
        self.shown = now
        count = f" {done:,}/{total:,} ({100 * done // total}%)" if total else ""
        line = f"cortex: {stage}{count}"
        self.stream.write(f"\r{line}\033[K" if self.tty else line + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self.tty and self.stage:
            self.stream.write("\n")


def prepare(config: Any, progress: Progress) -> None:
    from cortex.ask.docs import open_store
    from cortex.packages.index import PackageIndex

    state = config.paths.state_dir
    index = PackageIndex(state / "packages.db", models_dir=config.paths.models_dir)
    report = index.ensure(lambda stage, done, total: progress(f"package index: {stage}", done, total))
    progress(f"package index {report.action}: {report.packages:,} packages in {report.seconds:.0f} s", 0, 0)
    start = time.monotonic()
    store = open_store(config, index, lambda done, total: progress("manual pages", done, total))
    progress(f"manual pages: {store.count():,} options and examples, {time.monotonic() - start:.0f} s", 0, 0)


def main() -> int:
    from cortex.config import load_config

    progress = Progress()
    try:
        prepare(load_config(), progress)
    finally:
        progress.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
