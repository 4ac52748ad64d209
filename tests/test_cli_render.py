"""Human output of health and alerts: colours follow the thresholds; partial data still renders."""

from __future__ import annotations

import io
import re

from rich.console import Console

from cortex.cli.render import human_duration, level_style, render_alerts, render_health

THRESHOLDS = {"cpu_warning": 90, "cpu_critical": 98, "memory_warning": 90, "memory_critical": 95,
              "disk_warning": 85, "disk_critical": 95}  # fmt: skip
GIB = 1 << 30


def rendered(fn, data, **kw) -> tuple[str, str]:
    """(plain text, text with ANSI colours) of one render."""
    buf = io.StringIO()
    console = Console(file=buf, width=160, force_terminal=True, color_system="standard", record=True)
    fn(data, console, **kw)
    return console.export_text(), buf.getvalue()


def test_level_style_against_thresholds():
    assert level_style(50, 85, 95) == "green"
    assert level_style(85, 85, 95) == "yellow"
    assert level_style(95, 85, 95) == "bold red"
    assert level_style(None, 85, 95) == level_style(50, None, None) == "dim"


def test_health_shows_every_part_and_colours_a_full_disk_red():
    data = {
        "cpu": {"percent": 12.0, "count": 2},
        "memory": {"percent": 91.0, "total_bytes": 8 * GIB, "available_bytes": GIB},
        "swap": {"percent": 0, "total_bytes": 0, "used_bytes": 0},
        "disks": [
            {"mountpoint": "/", "device": "/dev/vda", "percent": 97.0, "free_bytes": 3 * GIB, "total_bytes": 100 * GIB},
            {"mountpoint": "/home", "device": "/dev/vdb", "percent": 20.0, "free_bytes": GIB, "total_bytes": GIB},
        ],
        "load": [0.5, 0.4, 0.3],
        "uptime": 90061,
        "failed_units": {"count": 1, "units": ["nginx.service"]},
        "updates": {"pending": 12, "security": 3},
        "llm": {"state": "up", "url": "http://127.0.0.1:8085", "tokens_per_second": 41.5},
        "daemon": {"rss_bytes": 24 * (1 << 20), "pid": 42},
        "thresholds": THRESHOLDS,
    }
    text, ansi = rendered(render_health, data)
    for expected in ("disk /", "97 %", "disk /home", "nginx.service", "3 security", "41.5 tokens/s", "1 d 1 h",
                     "24.0 MiB", "1.0 GiB available of 8.0 GiB"):  # fmt: skip
        assert expected in text
    assert re.search(r"\x1b\[1;31m *97 %", ansi)  # critical: bold red
    assert re.search(r"\x1b\[33m *91 %", ansi)  # memory over its warning: yellow
    assert re.search(r"\x1b\[32m *20 %", ansi)  # fine: green


def test_health_with_unknowns_renders_without_errors():
    text, _ = rendered(render_health, {"failed_units": {"count": "unknown", "units": []}, "updates": {}})
    assert "unknown" in text and "systemd is not running here" in text and "not counted yet" in text


def test_alerts_table_with_explanation_marks_and_counts():
    data = {
        "alerts": [
            {
                "id": 3,
                "severity": "critical",
                "status": "firing",
                "rule": "disk",
                "resource": "/",
                "message": "/ is 97% full",
                "fired_at": 1000.0,
                "acknowledged": True,
                "ai_explanation": "Logs grew.\nNext: sudo du -xh /var/log",
            },
        ],
        "counts": {"active": 1, "critical": 1, "unacknowledged": 0, "pending": 2, "dismissed": 0, "resolved": 5},
    }
    text, ansi = rendered(render_alerts, data, now=1000.0 + 3700)
    for expected in ("disk /", "/ is 97% full", "Next: sudo du -xh /var/log", "acknowledged", "1 h 1 min ago",
                     "1 active (1 critical, 0 unacknowledged), 2 pending, 0 dismissed, 5 resolved"):  # fmt: skip
        assert expected in text
    assert re.search(r"\x1b\[1;31m *critical", ansi)
    assert "no alerts" in rendered(render_alerts, {"alerts": [], "counts": {}})[0]


def test_human_duration():
    assert [human_duration(s) for s in (5, 65, 3700, 90061, -3)] == ["5 s", "1 min", "1 h 1 min", "1 d 1 h", "0 s"]
