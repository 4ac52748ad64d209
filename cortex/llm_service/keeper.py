"""cortex-llm in user mode: keep llama-server running, as systemd's ``Restart=on-failure`` does in system mode.

``LlamaServer.start`` starts llama-server and, in the same forked process, then runs ``python -m
cortex.llm_service.keeper URL STATE PID UP CHILD -- LLAMA-SERVER-ARGV...`` (``process.spawn_kept``): llama-server
is already this process's child ``CHILD``, loading its model while this interpreter starts, which is
most of the time ``cortex llm start`` would otherwise add. ``UP`` is a pipe to the starter: the keeper
writes "up" there once /health answered 200, so the starter waits without polling and learns it the moment the
keeper does (and sees the pipe end if the keeper does). Without ``UP CHILD`` the keeper starts llama-server
itself. It writes the child's pid to cortex-llm's pid file, and when the child dies starts it again after
the shared back-off (1 s doubling to 60 s; a
server that was up for ``STABLE`` seconds starts from 1 s again). Every restart is a log line and a
count in the ``STATE`` file that ``cortex llm status`` shows. A server that dies before it was ever
ready is not restarted (``cortex llm start`` reports why), and after ``GIVE_UP`` deaths in a row before
it became ready again the keeper stops trying, with one clear line, rather than loop forever.
SIGTERM (``cortex llm stop``) stops the child and the keeper.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from cortex.llm_service.backoff import Backoff
from cortex.llm_service.llama_api import READY_POLL, probe

STABLE = 60.0  # seconds up after which a death counts as new trouble, not the same one
GIVE_UP = 5  # deaths in a row before llama-server answered again


class Adopted:
    """A child this process did not start itself (it was forked from the one that did), with the part of
    ``Popen``'s interface the keeper uses."""

    def __init__(self, pid: int):
        self.pid = pid
        self.returncode: int | None = None

    def _reap(self, flags: int) -> int | None:
        try:
            pid, status = os.waitpid(self.pid, flags)
        except ChildProcessError:  # reaped already, by the SIGTERM handler's poll() while wait() was blocked
            return self.returncode if self.returncode is not None else -signal.SIGTERM
        if pid and self.returncode is None:
            self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def poll(self) -> int | None:
        return self.returncode if self.returncode is not None else self._reap(os.WNOHANG)

    def wait(self) -> int:
        while self.returncode is None:
            self.returncode = self._reap(0)
        return self.returncode

    def terminate(self) -> None:
        if self.returncode is None:
            os.kill(self.pid, signal.SIGTERM)


class Keeper:
    def __init__(
        self,
        argv: list[str],
        url: str,
        pid_file: Path,
        state_file: Path,
        backoff: Backoff | None = None,
        adopt: int | None = None,
        up: int | None = None,
    ):
        self.argv, self.url, self.pid_file, self.state_file = argv, url, pid_file, state_file
        self.backoff = backoff or Backoff()
        self.stopping = threading.Event()
        self.child: subprocess.Popen[bytes] | Adopted | None = None
        self.adopt = adopt  # llama-server, started already as this process's child
        self.up = up  # the starter's pipe: "up" is written there once, when llama-server first answers
        self.restarts = 0

    def say(self, line: str) -> None:
        print(f"{time.strftime('%Y-%m-%d %H:%M:%S')} cortex-llm keeper: {line}", file=sys.stderr, flush=True)

    def save(self, state: str) -> None:
        """The state ``cortex llm status`` reads: restarts so far, and starting, up, waiting or gave_up."""
        doc = {"pid": os.getpid(), "state": state, "restarts": self.restarts, "updated": time.time()}
        tmp = self.state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(doc) + "\n")
        tmp.replace(self.state_file)

    def run_once(self) -> tuple[bool, float, int]:
        """Start llama-server and wait for it to end: (was it ever ready, seconds it ran, exit status)."""
        started = time.monotonic()
        if self.adopt is not None:
            self.child, self.adopt = Adopted(self.adopt), None
        else:
            self.child = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL)
        if self.stopping.is_set():  # SIGTERM came while it was being started
            self.child.terminate()
        tmp = self.pid_file.with_suffix(".tmp")
        tmp.write_text(f"{self.child.pid}\n")
        tmp.replace(self.pid_file)
        self.save("starting")
        ready = False
        while self.child.poll() is None and not ready and not self.stopping.is_set():
            ready = probe(self.url, 1.0) == "up"
            if not ready:
                time.sleep(READY_POLL)
        if ready:
            self.save("up")
            self.tell_up()
        return ready, time.monotonic() - started, self.child.wait()

    def run(self) -> int:
        backoff, dead_before_ready, ever_ready = self.backoff, 0, False
        while True:
            ready, ran, status = self.run_once()
            pid = self.child.pid if self.child else 0
            if self.stopping.is_set():
                return 0
            ever_ready = ever_ready or ready
            how = f"was killed by {signal.Signals(-status).name}" if status < 0 else f"exited with status {status}"
            if not ever_ready:
                self.say(f"llama-server (pid {pid}) {how} before it was ready; not restarting it")
                return 1
            dead_before_ready = 0 if ready else dead_before_ready + 1
            if dead_before_ready >= GIVE_UP:
                self.say(
                    f"llama-server {how} before it was ready {GIVE_UP} times in a row; giving up "
                    "(see its lines above, then 'cortex llm start')"
                )
                self.pid_file.unlink(missing_ok=True)
                self.save("gave_up")
                return 1
            if ready and ran >= STABLE:
                backoff.reset()
            wait = backoff.failed()
            self.restarts += 1
            self.say(f"llama-server (pid {pid}) {how} after {ran:.0f} s; restart {self.restarts} in {wait:g} s")
            self.pid_file.unlink(missing_ok=True)
            self.save("waiting")
            if self.stopping.wait(wait):
                return 0

    def tell_up(self) -> None:
        """Tell the starter that llama-server is up, once (it may be gone: an interrupted start)."""
        if self.up is not None:
            with contextlib.suppress(OSError):
                os.write(self.up, b"up\n")
            os.close(self.up)
            self.up = None

    def stop(self, signum: int, frame: object) -> None:
        """SIGTERM: stop llama-server, then the loop ends."""
        self.stopping.set()
        if self.child is not None and self.child.poll() is None:
            self.child.terminate()


def main(args: list[str]) -> int:
    head, argv = (args[: args.index("--")], args[args.index("--") + 1 :]) if "--" in args else (args, [])
    if len(head) not in (3, 5) or not argv or not all(p.isdigit() for p in head[3:]):
        usage = "usage: python -m cortex.llm_service.keeper URL STATE PID [UP CHILD] -- LLAMA-SERVER-ARGV..."
        print(usage, file=sys.stderr)
        return 2
    url, state, pid_file, *adopted = head
    up, child = (int(adopted[0]), int(adopted[1])) if adopted else (None, None)
    keeper = Keeper(argv, url, Path(pid_file), Path(state), adopt=child, up=up)
    signal.signal(signal.SIGTERM, keeper.stop)
    signal.signal(signal.SIGINT, keeper.stop)
    try:
        return keeper.run()
    finally:
        if keeper.child is not None and keeper.child.poll() is None:
            keeper.child.terminate()
            keeper.child.wait()
        Path(pid_file).unlink(missing_ok=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
