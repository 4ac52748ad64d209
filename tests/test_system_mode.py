"""System mode for real: the README's system-mode lines, run as written, under systemd as PID 1.

One Debian container (tests/system_container.py) per module: the README's install block is run line by line
as root from the checkout, then each test drives the services through systemd, the CLI and the socket, as
root, as ``alice`` (in group ``cortex``) and as ``bob`` (not). The tests run in file order (they share the
machine), uninstall and purge last. The container is powered off and its working root deleted afterwards,
also when a test fails.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import system_container
from conftest import bundled_model_path
from system_container import CHECKOUT, Container

pytestmark = pytest.mark.system

REPO = Path(__file__).resolve().parents[1]
MODELS = "/var/lib/cortex/models"
SECOND_MODEL = f"{MODELS}/second-model.gguf"  # the bundled file under another name: a model switch, no download


def readme_blocks() -> list[list[str]]:
    """The sh blocks of the README's system-mode section, as lines: what an administrator is told to type."""
    text = (REPO / "README.md").read_text()
    section = text.split("\n## System mode", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```sh\n(.*?)```", section, re.S)
    return [[line for line in block.splitlines() if line.strip()] for block in blocks]


def readme_line(start: str, **placeholders: str) -> str:
    """The README's system-mode line that starts with ``start``, its placeholders (MODEL) filled in."""
    found = [line for block in readme_blocks() for line in block if line.startswith(start)]
    assert len(found) == 1, f"the README's system-mode section should have one line starting {start!r}: {found}"
    line = found[0]
    for name, value in placeholders.items():
        line = re.sub(rf"\b{name}\b", shlex.quote(value), line)
    return line


def wait_for(what: str, probe: Callable[[], object], timeout: float = 90) -> object:
    """Poll ``probe`` until it returns something true; its last answer in the failure message."""
    deadline, last = time.monotonic() + timeout, None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(0.25)
    raise AssertionError(f"{what}: not within {timeout} s (last: {last!r})")


@pytest.fixture(scope="module")
def machine(request: pytest.FixtureRequest) -> Iterator[Container]:
    why = system_container.unavailable()
    if why:
        pytest.skip(why)
    box = Container(Path(tempfile.mkdtemp(prefix="cortex-system.")))
    request.addfinalizer(box.remove)  # registered before the boot: a failed boot is cleaned up too
    box.boot(REPO)
    box.run("useradd --create-home alice && useradd --create-home bob")
    # The bundled model, copied in where 'cortex model pull' puts it (which then finds it and checks its size).
    models = box.root / MODELS.lstrip("/")
    models.mkdir(parents=True)
    (models / bundled_model_path().name).write_bytes(bundled_model_path().read_bytes())
    for line in readme_blocks()[0]:  # pip alone needs the network: it runs in the host's
        box.run(line, cwd=CHECKOUT, timeout=900, host_network="pip install" in line)
    yield box


def set_daemon_conf(box: Container, text: str) -> None:
    """/etc/cortex/daemon.conf, as an administrator would leave it after an edit."""
    (box.root / "etc/cortex/daemon.conf").write_text(text)


def mounts_under(path: Path) -> list[str]:
    return [line.split()[1] for line in Path("/proc/mounts").read_text().splitlines() if str(path) in line]


def test_remove_cleans_up_a_container_that_will_not_power_off(tmp_path: Path) -> None:
    why = system_container.unavailable()
    if why:
        pytest.skip(why)
    never_booted = Container(tmp_path / "never")
    never_booted.remove()  # a boot that failed before anything started: nothing to do, no error
    box = Container(Path(tempfile.mkdtemp(prefix="cortex-system.")))
    try:
        box.boot(REPO)
        # A unit whose stop never ends holds the shutdown: remove() must kill the container instead.
        unit = "[Service]\nExecStart=/bin/sleep infinity\nExecStop=/bin/sleep infinity\nTimeoutStopSec=infinity\n"
        (box.root / "etc/systemd/system/stuck.service").write_text(unit)
        box.run("systemctl daemon-reload && systemctl start stuck")
        leader = box.leader
    finally:
        box.remove(grace=3)
    assert box.nspawn is not None and box.nspawn.poll() is not None
    assert system_container.gone(leader, timeout=0)  # the container's PID 1 has exited
    assert mounts_under(box.work) == [] and not box.work.exists() and not box.log.exists()


def status(box: Container, user: str = "root") -> dict:
    return json.loads(box.run("cortex daemon status --json", user=user).stdout)


def show(box: Container, unit: str, *props: str) -> dict[str, str]:
    out = box.run(f"systemctl show {unit} -p {','.join(props)}").stdout
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


def server_argv(box: Container) -> str:
    """cortex-llm's main process's command line ('' between restarts)."""
    pid = show(box, "cortex-llm", "MainPID")["MainPID"]
    return box.run(f"tr '\\0' ' ' < /proc/{pid}/cmdline", check=False).stdout


def stat(box: Container, path: str) -> str:
    """``mode owner:group`` of ``path`` inside the container."""
    return box.run(f"stat -c '%a %U:%G' {path}").stdout.strip()


def test_readme_install_lays_out_units_files_and_group(machine: Container) -> None:
    assert os.readlink(f"/proc/{machine.leader}/ns/net") != os.readlink("/proc/self/ns/net")  # not the host's 8085
    assert machine.run("getent group cortex").stdout.split(":")[3].strip() == "alice"
    expected = {
        "/etc/cortex": "755 root:root",
        "/etc/cortex/daemon.conf": "644 root:root",
        "/etc/cortex/llm.env": "600 root:root",
        "/etc/cortex/llm.key": "640 root:cortex",
        "/etc/systemd/system/cortexd.service": "644 root:root",
        "/etc/systemd/system/cortex-llm.service": "644 root:root",
        "/var/lib/cortex": "750 root:cortex",
        "/var/log/cortex": "750 root:cortex",
        "/run/cortex": "750 root:cortex",
        "/run/cortex/cortex.sock": "660 root:cortex",
    }
    assert {path: stat(machine, path) for path in expected} == expected
    assert machine.run("systemctl is-enabled cortexd cortex-llm").stdout.split() == ["enabled", "enabled"]
    assert machine.run("systemctl is-active cortexd cortex-llm").stdout.split() == ["active", "active"]
    env = machine.run("cat /etc/cortex/llm.env").stdout
    assert f"CORTEX_LLM_MODEL_PATH={MODELS}/{bundled_model_path().name}" in env
    assert "CORTEX_LLM_THREADS=2" in env and "CORTEX_LLM_CTX_SIZE=4096" in env
    assert machine.run("readlink -f /usr/local/bin/cortex").stdout.strip() == f"{CHECKOUT}/.venv/bin/cortex"


def test_status_as_root_and_as_a_member_and_refused_to_others(machine: Container) -> None:
    command = readme_line("cortex daemon status")
    root = machine.run(command).stdout
    assert "mode        system" in root and "/run/cortex/cortex.sock" in root
    wait_for("cortex-llm up in cortexd's status", lambda: status(machine)["llm"]["state"] == "up")
    member = status(machine, user="alice")
    assert member["mode"] == "system" and member["socket"] == "/run/cortex/cortex.sock"
    assert member["llm"]["state"] == "up" and member["llm"]["model"]
    for command in (
        "cortex daemon health --json",
        "cortex daemon alerts --json",
        "cortex top --json",
        "cortex llm ps --json",
    ):  # every CLI path to cortexd, not only status's fast one
        assert json.loads(machine.run(command, user="alice").stdout), command
    outsider = machine.run(command, user="bob", check=False)
    assert outsider.returncode == 1 and "/run/cortex/cortex.sock" in outsider.stderr
    assert "permission" in outsider.stderr.lower() and "cortex group" in outsider.stderr
    # Straight at the socket, past the CLI: the kernel refuses bob before cortexd sees him.
    raw = machine.run(
        "python3 -c \"import socket; socket.socket(socket.AF_UNIX).connect('/run/cortex/cortex.sock')\"",
        user="bob",
        check=False,
    )
    assert raw.returncode == 1 and "PermissionError" in raw.stderr


@pytest.mark.parametrize(
    "command",
    ["cortex daemon reload-config", "cortex daemon shutdown", "cortex daemon alerts --dismiss-all"],
)
def test_admin_commands_from_a_member_are_unauthorized(machine: Container, command: str) -> None:
    done = machine.run(command, user="alice", check=False)
    assert done.returncode == 1 and "unauthorized" in done.stderr, done
    assert machine.run("systemctl is-active cortexd").stdout.strip() == "active"


def test_reload_config_applies_and_names_the_model_command(machine: Container) -> None:
    reload = readme_line("sudo cortex daemon reload-config")
    try:
        set_daemon_conf(machine, "[monitor]\ninterval: 3\n")
        assert "changed: monitor.interval" in machine.run(reload).stdout
        assert status(machine)["pid"]  # still serving
        set_daemon_conf(machine, f"[monitor]\ninterval: 3\n\n[llm]\nmodel_path: {SECOND_MODEL}\n")
        said = machine.run(reload).stdout
        assert "llm.model_path" in said and "/etc/cortex/llm.env" in said
        assert "sudo scripts/install-llm.sh configure MODEL THREADS CTX" in said
    finally:
        set_daemon_conf(machine, "")
        machine.run("cortex daemon reload-config")


def test_journal_holds_both_services_logs(machine: Container) -> None:
    journal = machine.run(readme_line("journalctl -u cortexd -u cortex-llm") + " --no-pager -o cat").stdout
    assert "cortexd" in journal and "listening on /run/cortex/cortex.sock" in journal
    assert "llama" in journal.lower() and "listening on http://127.0.0.1:8085" in journal


def test_notify_readiness_and_the_watchdog(machine: Container) -> None:
    props = show(machine, "cortexd", "Type", "NotifyAccess", "WatchdogUSec", "StatusText", "ActiveState", "SubState")
    assert props["Type"] == "notify" and props["NotifyAccess"] == "main" and props["WatchdogUSec"] == "30s"
    assert props["ActiveState"] == "active" and props["SubState"] == "running" and props["StatusText"]
    # A short watchdog in a drop-in: a cortexd that pings keeps running past it; a frozen one is killed.
    machine.run(
        "mkdir -p /run/systemd/system/cortexd.service.d && "
        "printf '[Service]\\nWatchdogSec=3\\n' > /run/systemd/system/cortexd.service.d/watchdog.conf && "
        "systemctl daemon-reload && systemctl restart cortexd"  # 'restart' returns once READY=1 arrived
    )
    try:
        before = show(machine, "cortexd", "MainPID", "NRestarts")
        assert status(machine)["pid"] == int(before["MainPID"])  # ready means the socket answers
        machine.run("sleep 7")  # more than two watchdog periods
        assert show(machine, "cortexd", "MainPID", "NRestarts") == before
        machine.run(f"kill -STOP {before['MainPID']}")
        wait_for(
            "systemd's watchdog killing the frozen cortexd",
            lambda: show(machine, "cortexd", "NRestarts")["NRestarts"] == str(int(before["NRestarts"]) + 1),
        )
        assert "watchdog" in machine.run("journalctl -u cortexd --no-pager -o cat").stdout.lower()
        wait_for("cortexd back", lambda: show(machine, "cortexd", "SubState")["SubState"] == "running")
    finally:
        machine.run("rm -r /run/systemd/system/cortexd.service.d; systemctl daemon-reload; systemctl restart cortexd")


def test_kill_9_of_llama_server_is_restarted_and_reported_down_then_up(machine: Container) -> None:
    props = show(machine, "cortex-llm", "MainPID", "NRestarts")
    assert "llama-server" in machine.run(f"cat /proc/{props['MainPID']}/comm").stdout  # systemd supervises it
    machine.run(f"kill -9 {props['MainPID']}")
    wait_for("cortexd reporting cortex-llm down", lambda: status(machine)["llm"]["state"] == "down", timeout=30)
    after = wait_for(
        "systemd restarting cortex-llm",
        lambda: (
            (p := show(machine, "cortex-llm", "MainPID", "NRestarts", "SubState"))["SubState"] == "running"
            and p["NRestarts"] == str(int(props["NRestarts"]) + 1)
            and p
        ),
    )
    assert after["MainPID"] != props["MainPID"]  # type: ignore[index]
    wait_for("cortexd reporting cortex-llm up", lambda: status(machine)["llm"]["state"] == "up")
    llm = json.loads(machine.run("cortex llm status --json").stdout)  # what systemd knows, not a pid file
    assert llm["state"] == "ready" and llm["log"] == "journalctl -u cortex-llm"
    assert str(llm["pid"]) == after["MainPID"] and str(llm["restarts"]) == after["NRestarts"]  # type: ignore[index]
    again = json.loads(machine.run("cortex llm start --json").stdout)  # idempotent: the unit's server, as it is
    assert str(again["pid"]) == after["MainPID"] and show(machine, "cortex-llm", "NRestarts") == {  # type: ignore[index]
        "NRestarts": after["NRestarts"]  # type: ignore[index]
    }


def test_kill_9_of_cortexd_is_restarted_and_loses_no_alert(machine: Container) -> None:
    # An alert to keep: a disk threshold every disk crosses.
    set_daemon_conf(machine, "[monitor]\ninterval: 1\n\n[thresholds]\ndisk_warning: 1\n")
    try:
        machine.run("cortex daemon reload-config")
        alerts = wait_for(
            "a disk alert",
            lambda: json.loads(machine.run("cortex daemon alerts --all --json").stdout)["alerts"],
        )
        props = show(machine, "cortexd", "MainPID", "NRestarts")
        machine.run(f"kill -9 {props['MainPID']}")
        wait_for(
            "systemd restarting cortexd",
            lambda: (
                (p := show(machine, "cortexd", "MainPID", "NRestarts", "SubState"))["SubState"] == "running"
                and p["NRestarts"] == str(int(props["NRestarts"]) + 1)
            ),
            timeout=60,
        )
        kept = json.loads(machine.run("cortex daemon alerts --all --json").stdout)["alerts"]
        assert {a["id"] for a in alerts} <= {a["id"] for a in kept}  # type: ignore[union-attr]
        assert status(machine)["pid"] != int(props["MainPID"])
    finally:
        set_daemon_conf(machine, "")
        machine.run("cortex daemon reload-config")


def test_with_a_service_stopped_every_hint_names_systemctl(machine: Container) -> None:
    machine.run("systemctl stop cortex-llm")
    try:
        said = wait_for(
            "cortexd seeing cortex-llm down",
            lambda: "cortex-llm  down" in (out := machine.run("cortex daemon status", user="alice").stdout) and out,
        )
        assert "sudo systemctl start cortex-llm" in str(said) and "cortex llm start" not in str(said)
        llm = machine.run("cortex llm status").stdout
        assert "sudo systemctl start cortex-llm" in llm and "cortex llm start" not in llm
        started = json.loads(machine.run("cortex llm start --json").stdout)  # the unit, not a private copy
        assert started["state"] == "ready" and machine.run("systemctl is-active cortex-llm").stdout.strip() == "active"
        assert str(started["pid"]) == show(machine, "cortex-llm", "MainPID")["MainPID"]
    finally:
        machine.run("systemctl start cortex-llm")
    machine.run("systemctl stop cortexd")
    try:
        refused = machine.run("cortex daemon status", user="alice", check=False)
        assert refused.returncode == 1 and "sudo systemctl start cortexd" in refused.stderr
    finally:
        machine.run("systemctl start cortexd")


def test_memory_limits_are_set_on_the_units(machine: Container) -> None:
    assert show(machine, "cortexd", "MemoryMax")["MemoryMax"] == str(256 * 2**20)
    assert show(machine, "cortex-llm", "MemoryMax")["MemoryMax"] == str(16 * 2**30)
    # Enforced only where systemd may write the memory controller (README: "Memory limits need cgroup v2").
    v2 = machine.run("cat /sys/fs/cgroup/system.slice/cortexd.service/memory.max", check=False)
    v1 = machine.run("cat /sys/fs/cgroup/memory/system.slice/cortexd.service/memory.limit_in_bytes", check=False)
    if v2.returncode == 0:
        assert v2.stdout.strip() == str(256 * 2**20)
    elif v1.returncode == 0:
        assert v1.stdout.strip() == str(256 * 2**20)
    else:  # a container on a cgroup v1 host: the memory controller is read-only, so systemd measures nothing
        assert show(machine, "cortexd", "MemoryCurrent")["MemoryCurrent"] == "[not set]"


def test_configure_switches_the_model(machine: Container) -> None:
    machine.run(f"cp {MODELS}/{bundled_model_path().name} {SECOND_MODEL}")
    machine.run(readme_line("sudo scripts/install-llm.sh configure", MODEL=SECOND_MODEL), cwd=CHECKOUT)
    env = machine.run("cat /etc/cortex/llm.env").stdout
    assert f"CORTEX_LLM_MODEL_PATH={SECOND_MODEL}" in env and "CORTEX_LLM_CTX_SIZE=2048" in env
    argv = wait_for(  # cortex-llm checks the model, then execs llama-server in its place
        "llama-server on the new model",
        lambda: SECOND_MODEL in (a := server_argv(machine)) and a,
    )
    slots = int(re.search(r"--parallel (\d+)", str(argv)).group(1))  # type: ignore[union-attr]
    assert f"--ctx-size {2048 * slots} " in str(argv)  # CTX is each slot's context
    wait_for(
        "cortexd serving the new model",
        lambda: status(machine)["llm"]["state"] == "up" and "second-model" in status(machine)["llm"]["model"],
    )
    said = machine.run(readme_line("scripts/install-llm.sh status"), cwd=CHECKOUT).stdout
    assert f"CORTEX_LLM_MODEL_PATH={SECOND_MODEL}" in said and "service: active" in said
    assert "unit: /etc/systemd/system/cortex-llm.service" in said


CORTEX_PATHS = "find /etc /var /run /usr /opt /tmp /root -name '*cortex*'"  # all but the checkout


def test_uninstall_keeps_only_what_the_readme_says_then_purge_removes_it(machine: Container) -> None:
    for start in ("sudo scripts/install-llm.sh uninstall", "sudo scripts/install.sh uninstall"):
        machine.run(readme_line(start), cwd=CHECKOUT)
    assert machine.run("systemctl is-active cortexd cortex-llm", check=False).stdout.split() == ["inactive"] * 2
    left = set(machine.run(CORTEX_PATHS).stdout.split())
    kept = {"/etc/cortex", "/var/lib/cortex", "/var/log/cortex"}  # README: configuration, state, logs
    assert {p for p in left if not p.startswith(tuple(f"{k}/" for k in kept))} == kept
    assert machine.run("getent group cortex", check=False).returncode == 0  # kept: it owns what is kept
    machine.run(readme_line("sudo scripts/install.sh purge"), cwd=CHECKOUT)
    assert machine.run(CORTEX_PATHS).stdout.split() == []
    assert machine.run("getent group cortex", check=False).returncode == 2
