"""``cortexd``: parse arguments, daemonize if asked, then ``Daemon.serve`` until a signal says stop.

argparse, not click: the daemon's own RSS and start-up time matter more than
pretty help. What runs, and what the signals do, is ``Daemon``'s (app.py); this
module only reads argv, forks, keeps the pid file and reports readiness to the
process that started it.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
from pathlib import Path

from cortex import __version__
from cortex.config import Config, ConfigError, load_config
from cortex.daemon.asyncio_without_ssl import asyncio  # before any other import of asyncio (4.5 MB of RSS)
from cortex.paths import get_paths
from cortex.redact import redact

log = logging.getLogger("cortexd")


class HelpFormatter(argparse.HelpFormatter):
    """argparse's own, sized as shutil would size it: argparse imports shutil (with zlib, bz2 and lzma)
    for every parser it builds, which would cost the daemon 0.8 MB of RSS for a help text."""

    def __init__(self, prog: str) -> None:
        columns = int(os.environ["COLUMNS"]) if os.environ.get("COLUMNS", "").isdigit() else 0
        if not columns:
            try:
                columns = os.get_terminal_size().columns
            except OSError:  # not a terminal
                columns = 80
        super().__init__(prog, width=(columns or 80) - 2)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    description = "Cortex daemon: IPC, system monitor, inference queue."
    parser = argparse.ArgumentParser(prog="cortexd", description=description, formatter_class=HelpFormatter)
    parser.add_argument("--foreground", "-f", action="store_true", help="stay in the foreground (systemd, tests)")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--user", action="store_true", help="run in user mode (no root, files under ~/.cortex)")
    mode.add_argument("--system", action="store_true", help="run in system mode (/run/cortex, /etc/cortex)")
    parser.add_argument("--socket", type=Path, help="IPC socket path (default: the run mode's)")
    parser.add_argument("--config", type=Path, help="read this daemon.conf instead of the usual files")
    parser.add_argument("--version", action="version", version=f"cortexd {__version__}")
    return parser.parse_args(argv)


def load(args: argparse.Namespace) -> tuple[Config, Path]:
    mode = "user" if args.user else "system" if args.system else None
    config = load_config(paths=get_paths(mode), config_file=args.config)
    return config, args.socket or Path(config.socket_path)


class RedactingFormatter(logging.Formatter):
    """Every log line leaves through here, tracebacks included, without the secrets the process knows
    (a failed notification or explanation may quote an answer that echoes a key)."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


def setup_logging(level: str) -> None:
    """Log to stderr: the terminal, the journal under systemd, or the log file once daemonized."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)


def daemonize(log_file: Path) -> int:
    """Double fork; the first process waits for the daemon to be ready and exits with its verdict.

    Returns, in the daemon, the write end of a pipe: write b"ok" when serving, or the reason it failed.
    """
    read_end, write_end = os.pipe()
    if os.fork() > 0:
        os.close(write_end)
        with os.fdopen(read_end, "rb") as pipe:
            verdict = pipe.read().decode(errors="replace").strip()
        if verdict.startswith("ok"):
            os._exit(0)
        sys.stderr.write(f"cortexd: {verdict or 'exited before it was ready; see ' + str(log_file)}\n")
        os._exit(1)
    os.close(read_end)
    os.setsid()
    if os.fork() > 0:
        os._exit(0)
    os.chdir("/")
    log_file.parent.mkdir(parents=True, exist_ok=True)
    devnull = os.open(os.devnull, os.O_RDWR)
    out = os.open(log_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.dup2(devnull, 0)
    os.dup2(out, 1)
    os.dup2(out, 2)
    os.close(devnull)
    os.close(out)
    return write_end


def write_pid_file(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(f"{os.getpid()}\n")
    tmp.replace(path)


def remove_pid_file(path: Path) -> None:
    with contextlib.suppress(OSError, ValueError):
        if int(path.read_text().strip()) == os.getpid():
            path.unlink()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        config, socket_path = load(args)
    except ConfigError as e:
        sys.stderr.write(f"cortexd: configuration error: {e}\n")
        return 1
    from cortex.daemon.server import SocketInUse, remove_stale_socket

    try:  # refuse before forking, so the caller sees the reason
        remove_stale_socket(socket_path)
    except SocketInUse as e:
        sys.stderr.write(f"cortexd: {e}\n")
        return 1

    ready_fd: int | None = None
    pid_file = config.paths.pid_file("cortexd")
    if not args.foreground:
        ready_fd = daemonize(config.paths.log_file("cortexd"))  # stderr is the log file from here on
        write_pid_file(pid_file)
    setup_logging(config["daemon.log_level"])

    def on_ready() -> None:
        nonlocal ready_fd
        if ready_fd is not None:
            os.write(ready_fd, b"ok\n")
            os.close(ready_fd)
            ready_fd = None

    from cortex.daemon.app import Daemon

    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(Daemon(config, socket_path, args.config).serve(on_ready))
    except (SocketInUse, PermissionError, OSError) as e:
        log.error("%s", e)
        if ready_fd is not None:
            os.write(ready_fd, str(e).encode())
        else:
            sys.stderr.write(f"cortexd: {e}\n")
        return 1
    finally:
        loop.close()  # does not wait for worker threads
        if not args.foreground:
            remove_pid_file(pid_file)
    _leave_busy_threads()
    return 0


def _leave_busy_threads() -> None:
    """Exit now even if a worker thread (an apt count, a slow sample) is still busy.

    Python would join those threads at exit, and SIGTERM must not wait longer
    than ``shutdown_timeout`` for work whose result nobody will read.
    """
    import threading

    busy = [t.name for t in threading.enumerate() if t is not threading.main_thread() and not t.daemon]
    if busy:
        log.info("exiting without waiting for %d busy worker thread(s)", len(busy))
        logging.shutdown()
        sys.stdout.flush()
        os._exit(0)


if __name__ == "__main__":
    sys.exit(main())
