"""The vector worker: a forked child that holds numpy, the encoder and the scans for one ``cortex ask``.

It runs for real (the bundled embedder, a small real index and manual store): in a fresh interpreter, as
``cortex ask`` runs it, since pytest's process may have threads that make forking unsafe (and then no worker
would start). The answers must be the ones this process composes without a worker, and a worker that dies
must leave the work to the parent, with the same answers.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

from cortex.ask import howto
from cortex.ask.docs import DocStore
from cortex.packages.index import PackageIndex

QUESTIONS = ["How do I kill a process by its name?", "list the block devices", "how much memory is free?"]
SCRIPT = """
import json, os, signal, sys
from pathlib import Path
from cortex.ask import howto
from cortex.ask.docs import DocStore
from cortex.packages import vector_worker
from cortex.packages.index import PackageIndex

index_db, store_db, models, kill, *questions = sys.argv[1:]
index = PackageIndex(Path(index_db), models_dir=Path(models))
store = DocStore(Path(store_db), Path(models))
answers, used = {}, []
with vector_worker.started(Path(models), questions[0]):
    worker = vector_worker.current()
    assert worker is not None, "no worker started"
    for n, question in enumerate(questions):
        if kill == "yes" and n == 1:
            os.kill(worker.pid, signal.SIGKILL)
        answers[question] = howto.suggest(question, index, store).text()
        used.append(vector_worker.current() is not None)
print(json.dumps({"answers": answers, "used": used, "pid": worker.pid}))
"""


def run_script(index: PackageIndex, store: DocStore, kill: bool) -> dict:
    argv = [sys.executable, "-c", SCRIPT, str(index.db_path), str(store.db_path), str(index.vectors.models_dir)]
    done = subprocess.run([*argv, "yes" if kill else "no", *QUESTIONS], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.mark.parametrize("kill", [False, True])
def test_answers_through_the_worker_are_those_without_it(small: tuple[PackageIndex, DocStore], kill: bool) -> None:
    index, store = small
    result = run_script(index, store, kill)
    assert result["answers"] == {q: howto.suggest(q, index, store).text() for q in QUESTIONS}
    assert all("`" in answer for answer in result["answers"].values())
    # Every call went through the worker; once killed, the parent did the work itself and let the worker go.
    assert result["used"] == ([True, False, False] if kill else [True, True, True])
    assert not psutil.pid_exists(result["pid"])  # ended with its parent's block, nothing left running


def test_no_worker_while_another_thread_runs(tmp_path: Path, embedder_dir: Path) -> None:
    """Forking with a second thread could copy a lock it holds into the child: then the work stays here."""
    import threading

    from cortex.packages import vector_worker

    release = threading.Event()
    other = threading.Thread(target=release.wait)
    other.start()
    try:
        with vector_worker.started(embedder_dir, "list the block devices"):
            assert vector_worker.current() is None
    finally:
        release.set()
        other.join()
