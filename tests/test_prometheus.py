"""cortexd under a real Prometheus: scraped over HTTP, its exposition linted by promtool, the shipped rules checked,
unit-tested with ``promtool test rules`` and loaded by the server."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import quote

import yaml
from conftest import free_port
from prometheus_support import RULES, prometheus, request, run_tool
from test_daemon_prometheus import scrape
from test_daemon_support import DaemonProcess, poll, write_conf

from cortex.daemon_client import CortexDaemonClient
from cortex.monitor.alertmanager import ALERTNAMES
from cortex.monitor.monitor import RULE_NAMES


def query(prom_url: str, promql: str) -> list[dict]:
    status, body = request(f"{prom_url}/api/v1/query?query={quote(promql)}")
    assert status == 200 and body["status"] == "success", body
    return body["data"]["result"]


def test_prometheus_scrapes_cortexd_and_loads_the_rules(tmp_path: Path) -> None:
    home, sock, port = tmp_path / "home", tmp_path / "run" / "c.sock", free_port()
    nothing_listens = f"http://127.0.0.1:{free_port()}"
    settings = {"metrics": {"enabled": "true", "port": port}, "monitor": {"interval": 1}}
    conf = write_conf(home / "daemon.conf", {**settings, "llm": {"base_url": nothing_listens}})
    with DaemonProcess(home, sock, conf), prometheus(tmp_path / "prom", f"127.0.0.1:{port}", [RULES]) as prom:
        assert CortexDaemonClient(sock).ping()  # an IPC request, so its counter has a series

        def target() -> dict:
            active = request(prom.url + "/api/v1/targets")[1]["data"]["activeTargets"]
            return active[0] if active else {}

        assert poll(lambda: target().get("health") == "up", 60), target()
        assert target()["scrapeUrl"] == f"http://127.0.0.1:{port}/metrics" and target()["lastError"] == ""
        assert [r["value"][1] for r in query(prom.url, 'up{job="cortex"}')] == ["1"]
        names = {r["metric"]["__name__"] for r in query(prom.url, '{__name__=~".+", job="cortex"}')}
        assert {
            "cortex_cpu_percent", "cortex_memory_percent", "cortex_disk_percent", "cortex_llm_up",
            "cortex_llm_configured", "cortex_alerts_firing", "cortex_daemon_uptime_seconds",
            "cortex_ipc_requests_total",
        } <= names  # fmt: skip
        assert not {n for n in names if not n.startswith("cortex_") and not n.startswith("scrape_") and n != "up"}
        disk = query(prom.url, 'cortex_disk_percent{mountpoint="/"}')
        assert len(disk) == 1 and 0 < float(disk[0]["value"][1]) < 100
        # no model in this home: cortex-llm is not expected, so the llm_down rule's premise is false
        assert [r["value"][1] for r in query(prom.url, "cortex_llm_configured")] == ["0"]

        def groups() -> list[dict]:
            return request(prom.url + "/api/v1/rules")[1]["data"]["groups"]

        assert poll(lambda: groups() and all(r["health"] == "ok" for r in groups()[0]["rules"]), 60), groups()
        assert [g["name"] for g in groups()] == ["cortex"] and len(groups()[0]["rules"]) == 9


def test_promtool_accepts_cortexd_exposition(tmp_path: Path, llama_server) -> None:
    home, sock, port = tmp_path / "home", tmp_path / "run" / "c.sock", free_port()
    conf = write_conf(
        home / "daemon.conf", {"metrics": {"enabled": "true", "port": port}, "llm": llama_server.llm_conf()}
    )
    with DaemonProcess(home, sock, conf):
        assert CortexDaemonClient(sock, timeout=120).inference(prompt="Hi", max_tokens=4)["tokens_generated"] > 0
        status, _, text = scrape(port)
    assert status == 200 and "cortex_llamacpp_" in text and "cortex_inference_first_token_seconds" in text
    checked = run_tool("promtool", "check", "metrics", stdin=text)
    assert checked.returncode == 0 and checked.stdout + checked.stderr == "", checked.stdout + checked.stderr
    bad = run_tool("promtool", "check", "metrics", stdin="cortex_thing 1\ncortex_thing 2\n")
    assert bad.returncode != 0  # the same check on a broken exposition fails


def test_rules_file_is_valid_and_covers_every_monitor_rule() -> None:
    checked = run_tool("promtool", "check", "rules", str(RULES))
    assert checked.returncode == 0 and "SUCCESS: 9 rules found" in checked.stdout, checked.stdout + checked.stderr
    rules = yaml.safe_load(RULES.read_text())["groups"][0]["rules"]
    assert {r["labels"]["rule"] for r in rules} == set(RULE_NAMES)
    # the same alert names as cortexd's own alerts sent to Alertmanager, so one routing tree serves both
    assert {(r["labels"]["rule"], r["alert"]) for r in rules} == set(ALERTNAMES.items())


CPU_LABELS = {"severity": "warning", "rule": "cpu", "resource": "cpu", "instance": "h:9185", "job": "cortex"}
CPU_HELP = "find the busy processes with `top -o %CPU` or `ps aux --sort=-%cpu | head`"


def test_rules_fire_after_their_duration_and_clear_below_the_margin(tmp_path: Path) -> None:
    """promtool's unit test of the CPU and disk rules: pending for 5 minutes, then firing; held at 87 % (within the
    clear margin of 90), resolved at 84 %; a disk fires at once at 86 % and stays at 81 %, clears at 80 %."""
    cpu = {"series": 'cortex_cpu_percent{instance="h:9185",job="cortex"}', "values": "92x9 87x10 84x10"}
    disk = {"series": 'cortex_disk_percent{instance="h:9185",job="cortex",mountpoint="/srv"}', "values": "84 86 81 80"}

    def cpu_alert(value: int) -> dict:
        return {
            "exp_labels": CPU_LABELS,
            "exp_annotations": {"summary": f"CPU at {value}% on h:9185", "description": CPU_HELP},
        }

    disk_alert = {
        "exp_labels": {**CPU_LABELS, "rule": "disk", "resource": "/srv", "mountpoint": "/srv"},
        "exp_annotations": {
            "summary": "/srv is 81% full on h:9185",
            "description": "see what uses it with `sudo du -xh /srv --max-depth=2 | sort -h | tail`, then free space "
            "(`sudo apt-get clean`, `sudo journalctl --vacuum-size=200M`)",
        },
    }
    cases = [
        ("4m", "CortexCPU", []),
        ("6m", "CortexCPU", [cpu_alert(92)]),
        ("15m", "CortexCPU", [cpu_alert(87)]),
        ("21m", "CortexCPU", []),
        ("0m", "CortexDisk", []),
        ("2m", "CortexDisk", [disk_alert]),
        ("3m", "CortexDisk", []),
    ]
    spec = {
        "rule_files": [str(RULES)],
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "input_series": [cpu, disk],
                "alert_rule_test": [{"eval_time": t, "alertname": n, "exp_alerts": e} for t, n, e in cases],
            }
        ],
    }
    (tmp_path / "test.yml").write_text(json.dumps(spec))
    result = run_tool("promtool", "test", "rules", str(tmp_path / "test.yml"))
    assert result.returncode == 0 and "SUCCESS" in result.stdout, result.stdout + result.stderr
    # the same spec without the clear margin's hold fails: the test can tell
    spec["tests"][0]["alert_rule_test"][2] = {"eval_time": "15m", "alertname": "CortexCPU", "exp_alerts": []}
    (tmp_path / "test.yml").write_text(json.dumps(spec))
    assert run_tool("promtool", "test", "rules", str(tmp_path / "test.yml")).returncode != 0
