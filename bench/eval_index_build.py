"""How fast the package index builds and refreshes, against apt reading the same lists in the same run.

    .venv/bin/python bench/eval_index_build.py [--runs N] [--vectors]

Baseline: ``apt-cache dumpavail`` (apt parsing its own cache of the same lists
into text, which the index could have read instead). Measured: a full build of
the index from apt's lists into a temporary directory (the goal is <= 30 s on
2 cores), with the long descriptions, AppStream catalogue and Contents that
``python -m cortex.packages.descriptions`` fetched for this user, as a real
build reads them; an ``ensure()`` with nothing changed, and a refresh after
dpkg's status changed (simulated by touching a copy of it). ``--vectors`` adds,
once, what bootstrap builds beside it from nothing: the all-MiniLM-L6-v2 vectors
of every summary and NAME line (goal, with the index: <= 5 minutes on 2 cores),
then an incremental rebuild after the index was rebuilt (the vectors of texts
seen before are reused), and the store of installed manual pages.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from cortex.config import load_config
from cortex.packages import appstream, contents, debian, descriptions
from cortex.packages.index import LISTS_DIR, STATUS_FILE, PackageIndex


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--vectors", action="store_true", help="also time the vectors and the pages' store, once")
    args = parser.parse_args()
    extra = descriptions.descriptions_dir(load_config().paths.state_dir)
    fetched = debian.list_files(extra, "Translation-en") + appstream.list_files(extra) + contents.list_files(extra)
    with tempfile.TemporaryDirectory() as tmp:
        status = Path(tmp) / "status"
        shutil.copy(STATUS_FILE, status)
        baseline, builds, unchanged, refreshes = [], [], [], []
        for run in range(args.runs):
            baseline.append(
                timed(lambda: subprocess.run(["apt-cache", "dumpavail"], stdout=subprocess.DEVNULL, check=True))
            )
            index = PackageIndex(Path(tmp) / f"packages-{run}.db", LISTS_DIR, status, descriptions_dir=extra)
            builds.append(timed(index.ensure))
            unchanged.append(timed(index.ensure))
            status.touch()
            refreshes.append(timed(index.ensure))
        count = index.count()
    base, build = statistics.median(baseline), statistics.median(builds)
    print(f"packages indexed:              {count} ({len(fetched)} fetched metadata files in {extra})")
    print(f"apt-cache dumpavail (baseline): {base:.2f} s")
    print(f"full index build:              {build:.2f} s  (ratio to baseline {build / base:.2f}; goal <= 30 s)")
    print(f"ensure(), nothing changed:     {statistics.median(unchanged) * 1000:.1f} ms")
    print(f"refresh after dpkg changed:    {statistics.median(refreshes):.2f} s")
    if args.vectors:
        vectors(extra)
    return 0


def vectors(extra: Path) -> None:
    from cortex.ask.docs import DocStore

    models = load_config().paths.models_dir
    with tempfile.TemporaryDirectory() as tmp:
        index = PackageIndex(Path(tmp) / "packages.db", descriptions_dir=extra, models_dir=models)
        first = timed(index.ensure)
        (Path(tmp) / "packages.db").unlink()  # a new schema or new lists: the database is rebuilt
        again = PackageIndex(Path(tmp) / "packages.db", descriptions_dir=extra, models_dir=models)
        rebuild = timed(again.ensure)
        store = DocStore(Path(tmp) / "manuals.db", models)
        pages = timed(lambda: store.refresh(again.installed_command_pages()))
        count = store.count()
    print(f"index + vectors from nothing:  {first:.0f} s  (goal <= 300 s)")
    print(f"rebuild, vectors reused:       {rebuild:.0f} s")
    print(f"manual pages' store:           {pages:.0f} s ({count} options and examples, parsed and embedded)")


if __name__ == "__main__":
    raise SystemExit(main())
