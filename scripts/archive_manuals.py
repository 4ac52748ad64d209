"""Regenerate ``cortex/packages/data/manuals.tsv.xz``: the NAME line of every manual page in sections 1, 6
and 8 that Debian's archive ships, with the package that ships it.

    .venv/bin/python scripts/archive_manuals.py [--out FILE] [--jobs 2]

Why a shipped file: a request describes a tool the user does not have yet, and the man page of a tool that is
not installed is not on the machine. apt's metadata has no manual pages, so this script downloads, with apt
itself and from the archive apt already uses, every package whose Contents list a page in those sections
(about 12,000 packages, 14 GB for bookworm), keeps only the English pages, and reads their NAME sections with
man-db's own ``lexgrog``. It takes about half an hour; nothing of it runs at install or run time. Needs apt's
Contents files (``python -m cortex.packages.descriptions`` fetches them) and man-db.

Output rows: ``package <TAB> page <TAB> section <TAB> names <TAB> description``, sorted.
"""

from __future__ import annotations

import argparse
import collections
import concurrent.futures
import lzma
import queue
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cortex.config import load_config  # noqa: E402
from cortex.packages import contents, descriptions  # noqa: E402

PAGE = re.compile(r"^usr/share/man/man([168])/([^/\s]+)\.[168][a-z]*(?:\.gz)?\s+(\S+)$")
LEXGROG = re.compile(r'^(.+?): "(.*)"$')
BATCH = 60


def pages_by_package(files: list[Path]) -> dict[str, list[str]]:
    """{package: [manual page paths]} from the Contents files."""
    found: dict[str, list[str]] = collections.defaultdict(list)
    for path in files:
        text = subprocess.run(
            ["/usr/lib/apt/apt-helper", "cat-file", str(path)], capture_output=True, text=True, check=True
        ).stdout
        for line in text.splitlines():
            if not line.startswith("usr/share/man/man"):
                continue
            m = PAGE.match(line)
            if m:
                for owner in m.group(3).split(","):
                    found[owner.rsplit("/", 1)[-1]].append(line.split()[0])
    return found


def download(names: list[str], into: Path) -> None:
    """``apt-get download`` the batch; on a failure, package by package, skipping what apt cannot fetch."""
    argv = ["apt-get", "download", "-q", "-o", "APT::Sandbox::User=root"]
    if subprocess.run([*argv, *names], cwd=into, capture_output=True).returncode == 0:
        return
    for name in names:
        subprocess.run([*argv, name], cwd=into, capture_output=True)


def read_pages(deb: Path, wanted: dict[str, list[str]], work: Path) -> list[tuple[str, str, str, str, str]]:
    """The NAME lines of the wanted manual pages in one .deb."""
    package = deb.name.split("_", 1)[0]
    paths = wanted.get(package, [])
    out: list[tuple[str, str, str, str, str]] = []
    if not paths:
        return out
    target = work / package
    target.mkdir(parents=True, exist_ok=True)
    try:
        tar = subprocess.Popen(["dpkg-deb", "--fsys-tarfile", str(deb)], stdout=subprocess.PIPE)
        subprocess.run(
            ["tar", "-x", "-C", str(target), *(f"./{p}" for p in paths)],
            stdin=tar.stdout,
            capture_output=True,
        )
        tar.wait()
        files = [target / p for p in paths if (target / p).exists()]
        if not files:
            return out
        done = subprocess.run(["lexgrog", *map(str, files)], capture_output=True, text=True, errors="replace")
        for line in done.stdout.splitlines():
            m = LEXGROG.match(line)
            if not m:
                continue
            file = Path(m.group(1))
            section = file.parent.name.removeprefix("man")
            page = re.sub(r"\.[168][a-z]*(\.gz)?$", "", file.name)
            names, sep, description = m.group(2).partition(" - ")
            if not sep or not description.strip():
                continue
            description = " ".join(description.split())
            names = ",".join(n.strip() for n in names.split(",") if n.strip())
            out.append((package, page, section, names, description))
    finally:
        shutil.rmtree(target, ignore_errors=True)
        deb.unlink(missing_ok=True)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "cortex" / "packages" / "data" / "manuals.tsv.xz")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--limit", type=int, default=0, help="only the first N packages (a trial run)")
    args = parser.parse_args()

    config = load_config()
    files = contents.list_files(descriptions.descriptions_dir(config.paths.state_dir)) or contents.list_files(
        Path("/var/lib/apt/lists")
    )
    if not files:
        print("archive_manuals: no Contents files; run python -m cortex.packages.descriptions", file=sys.stderr)
        return 1
    wanted = pages_by_package(files)
    names = sorted(wanted)[: args.limit or None]
    print(f"{len(names)} packages ship manual pages in sections 1, 6 and 8", file=sys.stderr)

    rows: list[tuple[str, str, str, str, str]] = []
    with tempfile.TemporaryDirectory(prefix="cortex-manuals-") as tmp:
        debs_dir, work = Path(tmp, "debs"), Path(tmp, "work")
        debs_dir.mkdir()
        ready: queue.Queue[Path | None] = queue.Queue(maxsize=4 * BATCH)

        def fetch() -> None:
            for start in range(0, len(names), BATCH):
                batch_dir = debs_dir / str(start)
                batch_dir.mkdir()
                download(names[start : start + BATCH], batch_dir)
                for deb in sorted(batch_dir.glob("*.deb")):
                    ready.put(deb)
            ready.put(None)

        threading.Thread(target=fetch, daemon=True).start()
        done = 0
        with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
            pending = []
            while (deb := ready.get()) is not None:
                pending.append(pool.submit(read_pages, deb, wanted, work))
                if len(pending) >= 4 * args.jobs:
                    for future in pending:
                        rows.extend(future.result())
                        done += 1
                    pending = []
                    print(f"\r{done}/{len(names)} packages, {len(rows)} pages", end="", file=sys.stderr)
            for future in pending:
                rows.extend(future.result())
    print(f"\n{len(rows)} manual pages read", file=sys.stderr)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    text = "".join("\t".join(row) + "\n" for row in sorted(set(rows)))
    args.out.write_bytes(lzma.compress(text.encode(), preset=9 | lzma.PRESET_EXTREME))
    print(f"wrote {args.out} ({args.out.stat().st_size} bytes)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
