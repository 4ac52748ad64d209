"""Run a checked plan step by step, as argv, never through a shell; record it; stop at the first failure.

Before anything runs: every step is validated again, and a removal weighed
again (a blocked step never runs, whatever the plan says), and when root is needed but we are not root,
``sudo -n true`` must succeed, or the run does not start. Each step's output
is streamed line by line to ``on_output`` and its tail kept for the history,
with dpkg's state recorded before and after the run for rollback.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from cortex.install import apt
from cortex.install.checks import check_steps
from cortex.install.history import History
from cortex.install.plan import Plan, Step

TAIL_LINES = 40


class ExecutionError(RuntimeError):
    """The plan cannot start; the message says why and what to do."""


@dataclass
class StepResult:
    idx: int
    argv: list[str]  # as run, with sudo when it was added
    exit_code: int
    duration_s: float
    output_tail: str


@dataclass
class RunResult:
    run_id: int | None
    ok: bool
    results: list[StepResult] = field(default_factory=list)
    failed_step: int | None = None  # 1-based, as shown to the user
    error: str = ""

    def to_dict(self) -> dict:
        return {
            "run_id": self.run_id,
            "ok": self.ok,
            "failed_step": self.failed_step,
            "error": self.error,
            "steps": [vars(r) for r in self.results],
        }


def is_root() -> bool:
    return os.geteuid() == 0


class Executor:
    """Runs plans; ``history`` None means nothing is recorded (used only by tests of the flow)."""

    def __init__(
        self,
        history: History | None,
        on_output: Callable[[int, str], None] = lambda idx, line: None,
        on_step: Callable[[int, Step], None] = lambda idx, step: None,
        root: bool | None = None,
        clock: Callable[[], float] = time.monotonic,
        run: apt.Runner = subprocess.run,
    ):
        self.history = history
        self.on_output = on_output
        self.on_step = on_step
        self.root = is_root() if root is None else root
        self.clock = clock
        self.run_query = run

    def argv_for(self, step: Step) -> list[str]:
        """The argv that runs: the validated argv, behind ``sudo --`` only when root is needed and we are not."""
        return ["sudo", "--", *step.argv] if step.needs_root and not self.root else list(step.argv)

    def preflight(self, plan: Plan) -> None:
        """Refuse to start a plan that has nothing to run, a blocked step, or root steps without sudo."""
        if not plan.steps:
            raise ExecutionError("the plan has no steps to run")
        plan.simulation = None  # the plan may have been edited, or dpkg's state changed, since it was checked
        check_steps(plan, self.run_query)
        for i, step in enumerate(plan.steps, 1):
            if step.verdict not in ("allow", "confirm"):
                raise ExecutionError(f"step {i} ({' '.join(step.argv)}) is blocked: {'; '.join(step.reasons)}")
        if any(s.needs_root for s in plan.steps) and not self.root:
            try:
                ok = subprocess.run(["sudo", "-n", "true"], capture_output=True, check=False).returncode == 0
            except FileNotFoundError:
                ok = False
            if not ok:
                raise ExecutionError(
                    "some steps need root and 'sudo -n true' failed: run 'sudo -v' first, or run cortex as root"
                )

    def execute(self, plan: Plan, kind: str = "install", rollback_of: int | None = None) -> RunResult:
        """Run every step in order; stop at the first that fails. Records the run when there is a history."""
        self.preflight(plan)
        before = apt.dpkg_state(self.run_query)
        run_id = self.history.start(plan, before, kind, rollback_of) if self.history else None
        result = RunResult(run_id, ok=True)
        try:
            for idx, step in enumerate(plan.steps):
                self.on_step(idx, step)
                step_result = self._run_step(idx, step)
                result.results.append(step_result)
                if self.history and run_id is not None:
                    self.history.step_done(
                        run_id, idx, step_result.exit_code, step_result.output_tail, step_result.duration_s
                    )
                if step_result.exit_code != 0:
                    last = step_result.output_tail.strip().splitlines()[-1:] or ["no output"]
                    result.ok, result.failed_step = False, idx + 1
                    result.error = (
                        f"step {idx + 1} ({' '.join(step.argv)}) failed with exit code {step_result.exit_code}: "
                        f"{last[0]}"
                    )
                    break
        except KeyboardInterrupt:
            result.ok, result.error = False, "interrupted"
            raise
        finally:
            if self.history and run_id is not None:
                after = apt.dpkg_state(self.run_query)
                self.history.finish(run_id, "success" if result.ok else "failed", result.error, after)
        return result

    def _run_step(self, idx: int, step: Step) -> StepResult:
        argv = self.argv_for(step)
        tail: deque[str] = deque(maxlen=TAIL_LINES)
        start = self.clock()
        env = {**os.environ, **apt.APT_ENV}
        try:
            proc = subprocess.Popen(
                argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True, env=env
            )
        except FileNotFoundError:
            message = f"{argv[0]}: command not found"
            self.on_output(idx, message)
            return StepResult(idx, argv, 127, self.clock() - start, message)
        assert proc.stdout is not None
        for line in proc.stdout:
            line = line.rstrip("\n")
            tail.append(line)
            self.on_output(idx, line)
        code = proc.wait()
        return StepResult(idx, argv, code, self.clock() - start, "\n".join(tail))
