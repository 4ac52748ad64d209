"""A call run meanwhile on another thread: its result, its exception, and no process left behind."""

from __future__ import annotations

import subprocess
import threading

import psutil
import pytest

from cortex.meanwhile import Meanwhile


def test_the_result_is_what_the_call_returned_on_its_own_thread() -> None:
    with Meanwhile(lambda a, b: (a + b, threading.get_ident()), 2, 3) as call:
        value, ident = call.result()
    assert value == 5 and ident != threading.get_ident()


def test_what_the_call_raised_is_raised_by_result() -> None:
    def broken() -> None:
        raise LookupError("no such package")

    with Meanwhile(broken) as call, pytest.raises(LookupError, match="no such package"):
        call.result()


def test_leaving_the_block_waits_for_the_call_even_when_the_block_fails() -> None:
    # cortex ask's facts run subprocesses meanwhile: whatever happens in the block, none may outlive it.
    children = psutil.Process().children(recursive=True)
    done: list[int] = []
    with pytest.raises(ValueError), Meanwhile(lambda: done.append(subprocess.run(["sleep", "0.3"]).returncode)):
        raise ValueError("the search failed")
    assert done == [0] and psutil.Process().children(recursive=True) == children
