"""IPC request metrics: counted in plain Python on the hot path, exposed in Prometheus format on demand.

prometheus_client costs a few MB of RSS, so it is imported only when the
``metrics`` command is asked; the counts themselves are dicts and lists.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable
from typing import Any

BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)


class Stats:
    """Per-command request counts (by outcome) and one latency histogram per command."""

    def __init__(self) -> None:
        self.requests: dict[tuple[str, str], int] = {}  # (command, "ok" | error code) -> count
        self.latency: dict[str, list[float]] = {}  # command -> [bucket counts..., +Inf count, sum]

    def record(self, command: str, outcome: str, seconds: float) -> None:
        key = (command, outcome)
        self.requests[key] = self.requests.get(key, 0) + 1
        hist = self.latency.get(command)
        if hist is None:
            hist = self.latency[command] = [0.0] * (len(BUCKETS) + 2)
        hist[bisect.bisect_left(BUCKETS, seconds)] += 1
        hist[-1] += seconds


def render(stats: Stats, gauges: Callable[[], dict[str, tuple[str, float]]]) -> str:
    """The Prometheus text exposition of ``stats`` plus ``gauges()`` ({name: (help, value)})."""
    from prometheus_client import CollectorRegistry, generate_latest
    from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily

    class Collector:
        def collect(self) -> Any:
            requests = CounterMetricFamily(
                "cortexd_ipc_requests", "IPC requests by command and outcome", labels=["command", "outcome"]
            )
            for (command, outcome), n in sorted(stats.requests.items()):
                requests.add_metric([command, outcome], n)
            yield requests
            latency = HistogramMetricFamily(
                "cortexd_ipc_request_seconds", "IPC request latency by command", labels=["command"]
            )
            for command, hist in sorted(stats.latency.items()):
                cumulative, running = [], 0.0
                for bound, n in zip([*map(str, BUCKETS), "+Inf"], hist[:-1], strict=True):
                    running += n
                    cumulative.append((bound, running))
                latency.add_metric([command], cumulative, sum_value=hist[-1])
            yield latency
            for name, (help_text, value) in gauges().items():
                yield GaugeMetricFamily(name, help_text, value=value)

    registry = CollectorRegistry(auto_describe=False)
    registry.register(Collector())
    return generate_latest(registry).decode()
