"""Text a user or a model wrote reaches the terminal without control sequences (issue 14): a request, a command,
a model's answer, an alert can clear the screen, write the clipboard (OSC 52), overwrite a line with CR or
reverse the text that follows (U+202E) only if Cortex prints them raw."""

from __future__ import annotations

import io
import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from rich.console import Console

from cortex.cli.main import cli
from cortex.cli.render import render_alerts, render_health
from cortex.install.history import History
from cortex.install.plan import Plan, Step
from cortex.terminal import printable

CLEAR = "\x1b[2J\x1b[H"
CLIPBOARD = "\x1b]52;c;cm0gLXJmIH4K\x07"  # OSC 52: put "rm -rf ~" on the clipboard
OVERWRITE = "\rlooks harmless"
REVERSE = "\u202etxt.exe"
HOSTILE = {"clear": CLEAR, "clipboard": CLIPBOARD, "cr": OVERWRITE, "bidi": REVERSE,
           "c1-csi": "\x9b2J", "osc-st": "\x1b]0;title\x1b\\", "bell": "\x07", "nul": "\x00"}  # fmt: skip


def clean(text: str) -> bool:
    """No terminal control left but Cortex's own colours (SGR): no other ESC, no C1, no C0 but newline and tab,
    no bidi override."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", text)
    return not any((ord(c) < 32 and c not in "\n\t") or 0x7F <= ord(c) <= 0x9F or c == "\u202e" for c in text)


@pytest.mark.parametrize("sequence", HOSTILE.values(), ids=HOSTILE.keys())
def test_printable_strips_each_kind_of_control(sequence: str) -> None:
    out = printable(f"before {sequence} after")
    assert clean(out) and out.startswith("before ") and out.endswith(" after")


def test_printable_keeps_text_newlines_and_tabs() -> None:
    text = "nginx\tinstalled\nversion 1.22 — ünïcode, 日本語, emoji 🙂"
    assert printable(text) == text
    assert printable(CLIPBOARD) == ""  # the whole sequence goes, not only its ESC
    assert printable("a\x1b[31mred\x1b[0m") == "ared"


def run(*args: str):
    """The CLI as a terminal would get it (color=True: click strips nothing itself)."""
    return CliRunner().invoke(cli, list(args), color=True)


@pytest.mark.parametrize("sequence", [CLEAR, CLIPBOARD, OVERWRITE, REVERSE], ids=["clear", "clipboard", "cr", "bidi"])
def test_validate_echoes_no_control_sequence(sequence: str) -> None:
    result = run("validate", f"echo hi > /etc/pass{sequence}wd")
    assert result.exit_code in (3, 4)
    assert "/etc/pass" in result.output and clean(result.output), repr(result.output)


def test_history_echoes_no_control_sequence(cortex_home: Path) -> None:
    history = History(cortex_home / "state" / "history.db")
    plan = Plan(request=f"install tree{CLEAR}{CLIPBOARD}", packages=["tree"])
    plan.steps = [Step(["apt-get", "install", "-y", f"tree{REVERSE}"], why="install", verdict="confirm")]
    run_id = history.start(plan, {})
    history.step_done(run_id, 0, 1, f"E: broken{OVERWRITE}\nSetting up tree{CLEAR}", 0.5)
    history.finish(run_id, "failed", f"step 1 failed{CLIPBOARD}", {})
    for args in (("history",), ("history", str(run_id))):
        result = run(*args)
        assert result.exit_code == 0 and "install tree" in result.output
        assert clean(result.output), repr(result.output)


def test_alerts_and_health_render_no_control_sequence() -> None:
    alert = {
        "id": 1,
        "severity": "critical",
        "status": "firing",
        "rule": "disk",
        "resource": f"/mnt/x{CLEAR}",
        "message": f"disk full{CLIPBOARD}{OVERWRITE}",
        "ai_explanation": f"free{REVERSE}",
        "created_at": 0,
    }
    health = {
        "disks": [{"mountpoint": f"/mnt/{CLIPBOARD}", "device": f"/dev/x{CLEAR}", "percent": 50}],
        "failed_units": {"count": 1, "units": [f"evil{OVERWRITE}.service"]},
        "updates": {},
    }
    for fn, data in ((render_alerts, {"alerts": [alert]}), (render_health, health)):
        buf = io.StringIO()
        fn(data, Console(file=buf, width=200, force_terminal=True, color_system="standard"))
        assert clean(buf.getvalue()), repr(buf.getvalue())


@pytest.fixture
def home_with_index(real_index, cortex_home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The session's package index in this test's CORTEX_HOME, and the fake provider (it echoes the question)."""
    (cortex_home / "state").mkdir(parents=True, exist_ok=True)
    shutil.copy(real_index.db_path, cortex_home / "state" / "packages.db")
    monkeypatch.setenv("CORTEX_PROVIDER", "fake")
    return cortex_home


@pytest.mark.parametrize("sequence", [CLEAR + CLIPBOARD, OVERWRITE + REVERSE], ids=["esc", "cr-bidi"])
def test_install_and_ask_echo_no_control_sequence(home_with_index: Path, sequence: str) -> None:
    result = run("install", f"tree{sequence}")
    assert "tree" in result.output and clean(result.output), repr(result.output)
    result = run("ask", f"what is tree{sequence}?")
    assert result.exit_code == 0 and clean(result.output), repr(result.output)
