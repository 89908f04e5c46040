"""The tracer's own counts for /metrics: spans exported, dropped, and waiting."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

__all__ = ["SpanCounts", "TracingCollector"]

SpanCounts = Callable[[], tuple[int, int, int]]
"""(exported, dropped, queued), read at scrape time."""


class TracingCollector(Collector):
    """parity_tracing_spans_total{outcome} and parity_tracing_queue_depth."""

    def __init__(self, counts: SpanCounts):
        self._counts = counts

    def describe(self) -> Iterable[Metric]:
        return list(self._families())

    def collect(self) -> Iterable[Metric]:
        spans, queue = self._families()
        exported, dropped, queued = self._counts()
        spans.add_metric(["exported"], exported)
        spans.add_metric(["dropped"], dropped)
        queue.add_metric([], queued)
        return [spans, queue]

    @staticmethod
    def _families() -> tuple[CounterMetricFamily, GaugeMetricFamily]:
        return (
            CounterMetricFamily(
                "parity_tracing_spans",
                "Spans sent to the OTLP collector (exported) or dropped: the queue was full or "
                "the collector did not take them.",
                labels=["outcome"],
            ),
            GaugeMetricFamily("parity_tracing_queue_depth", "Spans waiting for export."),
        )
