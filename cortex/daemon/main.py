"""``cortexd``: parse arguments, daemonize if asked, run the server until a signal says stop.

argparse, not click: the daemon's own RSS and start-up time matter more than
pretty help. Signals: SIGHUP reloads the configuration (an invalid file keeps
the old one), SIGTERM/SIGINT stop accepting, let in-flight requests finish for
up to ``[daemon] shutdown_timeout`` seconds, remove the socket and exit 0.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from cortex import __version__
from cortex.config import Config, ConfigError, load_config
from cortex.daemon.asyncio_without_ssl import asyncio  # before any other import of asyncio (4.5 MB of RSS)
from cortex.paths import get_paths

if TYPE_CHECKING:
    from cortex.daemon.app import Daemon
    from cortex.daemon.notify import Notifier
    from cortex.daemon.prometheus import MetricsEndpoint

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


def setup_logging(level: str) -> None:
    """Log to stderr: the terminal, the journal under systemd, or the log file once daemonized."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
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


async def run(config: Config, socket_path: Path, config_file: Path | None, on_ready: Callable[[], None]) -> None:
    """Serve until SIGTERM/SIGINT or the ``shutdown`` command."""
    from cortex.daemon.app import Daemon
    from cortex.daemon.notify import Notifier
    from cortex.daemon.server import Limits, Server

    daemon = Daemon(config, socket_path, config_file)
    server = Server(socket_path, daemon.dispatch, Limits.from_config(config), config.paths.mode)
    daemon.on_reload.append(lambda new, changed: setattr(server, "limits", Limits.from_config(new)))
    notifier = Notifier()
    loop = asyncio.get_running_loop()

    async def reload() -> None:
        notifier.reloading()
        try:
            await daemon.reload()
        except ConfigError as e:
            notifier.ready(f"reload rejected: {e}")
        else:
            notifier.ready("reloaded")

    reloads: set[asyncio.Task[None]] = set()

    def on_hup() -> None:
        task = loop.create_task(reload())
        reloads.add(task)
        task.add_done_callback(reloads.discard)

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, daemon.shutdown_requested.set)
    loop.add_signal_handler(signal.SIGHUP, on_hup)

    endpoint = await _start_metrics(daemon) if config["metrics.enabled"] else None  # first: a busy port leaves nothing
    await server.start()
    monitoring = asyncio.create_task(daemon.monitor.run())
    on_ready()
    notifier.ready(f"serving on {socket_path}")
    watchdog = None
    if notifier.watchdog_interval:
        watchdog = asyncio.create_task(_watchdog(notifier, notifier.watchdog_interval))
    log.info("cortexd %s ready (pid %d, %s mode)", __version__, os.getpid(), config.paths.mode)

    await daemon.shutdown_requested.wait()
    log.info("stopping: finishing in-flight requests (up to %g s)", daemon.config["daemon.shutdown_timeout"])
    notifier.stopping()
    if endpoint is not None:
        await endpoint.stop()
    await server.stop(daemon.config["daemon.shutdown_timeout"])
    if watchdog:
        watchdog.cancel()
    daemon.monitor.stop()
    await asyncio.wait({monitoring}, timeout=1)  # a sample in progress may finish; a stuck one is left behind
    monitoring.cancel()
    await asyncio.to_thread(daemon.monitor.close)
    if daemon.models is not None:
        await asyncio.to_thread(daemon.models.close)
    log.info("stopped")


async def _start_metrics(daemon: Daemon) -> MetricsEndpoint:
    """The Prometheus endpoint on 127.0.0.1:[metrics] port; a port in use is an OSError that says which key."""
    from cortex.daemon.metrics import CONTENT_TYPE, exposition
    from cortex.daemon.prometheus import MetricsEndpoint

    port = daemon.config["metrics.port"]
    endpoint = MetricsEndpoint(port, lambda: exposition(daemon), CONTENT_TYPE)
    try:
        await endpoint.start()
    except OSError as e:
        raise OSError(f"cannot serve metrics on 127.0.0.1:{port} ([metrics] port): {e.strerror or e}") from None
    return endpoint


async def _watchdog(notifier: Notifier, interval: float) -> None:
    while True:
        notifier.watchdog()
        await asyncio.sleep(interval)


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

    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(run(config, socket_path, args.config, on_ready))
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
