"""Prometheus metrics: counted in plain Python on the hot path, rendered in the text format on demand.

prometheus_client costs a few MB of RSS, so it is imported only when metrics
are asked for (the ``metrics`` command or the HTTP endpoint); the counts
themselves are dicts and lists. One exposition serves both: cortexd's IPC
requests and latency, the inference queue, tokens/s and time to first token,
the monitor's latest sample, firing alerts by severity, and llama-server's own
``/metrics`` re-exported under ``cortex_llamacpp_*``.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator
from typing import Any

from cortex.process import rss_bytes

BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def _new_histogram() -> list[float]:
    return [0.0] * (len(BUCKETS) + 2)  # bucket counts..., +Inf count, sum


def _observe(hist: list[float], seconds: float) -> None:
    hist[bisect.bisect_left(BUCKETS, seconds)] += 1
    hist[-1] += seconds


def _cumulative(hist: list[float]) -> list[tuple[str, float]]:
    out, running = [], 0.0
    for bound, n in zip([*map(str, BUCKETS), "+Inf"], hist[:-1], strict=True):
        running += n
        out.append((bound, running))
    return out


class Stats:
    """Per-command request counts (by outcome) and latency histograms; inference tokens and first-token times."""

    def __init__(self) -> None:
        self.requests: dict[tuple[str, str], int] = {}  # (command, "ok" | error code) -> count
        self.latency: dict[str, list[float]] = {}  # command -> histogram
        self.tokens_generated = 0
        self.prompt_tokens = 0
        self.tokens_per_second = 0.0  # of the last finished inference
        self.first_token = _new_histogram()

    def record(self, command: str, outcome: str, seconds: float) -> None:
        key = (command, outcome)
        self.requests[key] = self.requests.get(key, 0) + 1
        hist = self.latency.get(command)
        if hist is None:
            hist = self.latency[command] = _new_histogram()
        _observe(hist, seconds)

    def record_inference(self, data: dict[str, Any]) -> None:
        """One inference's data (a batch: each of its outputs)."""
        for out in data.get("outputs") or [data]:
            self.tokens_generated += out.get("tokens_generated") or 0
            self.prompt_tokens += out.get("prompt_tokens") or 0
            self.tokens_per_second = out.get("tokens_per_second") or 0.0
            if out.get("first_token_ms") is not None:
                _observe(self.first_token, out["first_token_ms"] / 1000)


def _machine(health: dict[str, Any]) -> Iterator[Any]:
    from prometheus_client.core import GaugeMetricFamily

    for name, key in (("cpu", "cpu"), ("memory", "memory"), ("swap", "swap")):
        value = (health.get(key) or {}).get("percent")
        if value is not None:
            yield GaugeMetricFamily(f"cortex_{name}_percent", f"{name} use in percent (monitor's latest sample)", value)
    disks = GaugeMetricFamily("cortex_disk_percent", "filesystem use in percent", labels=["mountpoint"])
    for d in health.get("disks") or []:
        if d.get("percent") is not None:
            disks.add_metric([str(d.get("mountpoint"))], d["percent"])
    yield disks
    load = GaugeMetricFamily("cortex_load_average", "load average", labels=["minutes"])
    for minutes, value in zip(("1", "5", "15"), health.get("load") or [], strict=False):
        load.add_metric([minutes], value)
    yield load
    updates = health.get("updates") or {}
    for kind in ("pending", "security"):
        if isinstance(updates.get(kind), int):
            yield GaugeMetricFamily(f"cortex_updates_{kind}", f"{kind} package updates", updates[kind])
    failed = (health.get("failed_units") or {}).get("count")
    if isinstance(failed, int):
        yield GaugeMetricFamily("cortex_failed_units", "failed systemd units", failed)


def _reexport(text: str) -> Iterator[Any]:
    """llama-server's families renamed ``llamacpp:x`` -> ``cortex_llamacpp_x``; unparseable text is skipped."""
    from prometheus_client.metrics_core import Metric
    from prometheus_client.parser import text_string_to_metric_families

    def rename(name: str) -> str:
        return "cortex_" + re.sub(r"[^a-zA-Z0-9_]", "_", name)

    try:
        families = list(text_string_to_metric_families(text))
    except ValueError:
        return
    for family in families:
        metric = Metric(rename(family.name), family.documentation, family.type)
        for s in family.samples:
            metric.add_sample(rename(s.name), s.labels, s.value, s.timestamp)
        yield metric


def render(
    stats: Stats,
    daemon: dict[str, float],
    health: dict[str, Any] | None = None,
    counts: dict[str, Any] | None = None,
    llm_text: str = "",
) -> str:
    """The text exposition: ``stats``, the daemon's ``queue_depth``, ``queue_max`` and ``uptime``, and what
    ``Daemon.exposition`` gathered with I/O (the monitor's health and alert counts, llama-server's text)."""
    from prometheus_client import CollectorRegistry, generate_latest
    from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily

    class Collector:
        def collect(self) -> Iterator[Any]:
            requests = CounterMetricFamily(
                "cortex_ipc_requests", "IPC requests by command and outcome", labels=["command", "outcome"]
            )
            for (command, outcome), n in sorted(stats.requests.items()):
                requests.add_metric([command, outcome], n)
            yield requests
            latency = HistogramMetricFamily(
                "cortex_ipc_request_seconds", "IPC request latency by command", labels=["command"]
            )
            for command, hist in sorted(stats.latency.items()):
                latency.add_metric([command], _cumulative(hist), sum_value=hist[-1])
            yield latency
            gauges = {
                "cortex_inference_queue_depth": ("inference requests waiting or running", daemon["queue_depth"]),
                "cortex_inference_queue_max": ("inference requests admitted at most", daemon["queue_max"]),
                "cortex_inference_tokens_per_second": ("tokens/s of the last inference", stats.tokens_per_second),
                "cortex_daemon_uptime_seconds": ("seconds since cortexd started", daemon["uptime"]),
                "cortex_daemon_resident_memory_bytes": ("resident set size of cortexd", rss_bytes()),
            }
            for name, (help_text, value) in gauges.items():
                yield GaugeMetricFamily(name, help_text, value=value)
            yield CounterMetricFamily("cortex_inference_tokens_generated", "tokens generated", stats.tokens_generated)
            yield CounterMetricFamily("cortex_inference_prompt_tokens", "prompt tokens evaluated", stats.prompt_tokens)
            first = HistogramMetricFamily("cortex_inference_first_token_seconds", "time to the first token")
            first.add_metric([], _cumulative(stats.first_token), sum_value=stats.first_token[-1])
            yield first
            if counts is not None:
                firing = GaugeMetricFamily("cortex_alerts_firing", "firing alerts by severity", labels=["severity"])
                for severity, n in sorted((counts.get("by_severity") or {}).items()):
                    firing.add_metric([severity], n)
                yield firing
            if health is not None:
                yield from _machine(health)
                llm = health.get("llm") or {}
                up = 1 if llm.get("state") == "up" else 0
                yield GaugeMetricFamily("cortex_llm_up", "1 when cortex-llm answers", up)
                configured = "1 when a model is installed, so cortex-llm should run (llm_down's premise)"
                yield GaugeMetricFamily("cortex_llm_configured", configured, 1 if llm.get("configured") else 0)
            yield from _reexport(llm_text)

    registry = CollectorRegistry(auto_describe=False)
    registry.register(Collector())
    return generate_latest(registry).decode()
