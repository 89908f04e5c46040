"""Prometheus metrics of one gateway, and the GET /metrics route that serves them.

Each request is observed once, from its finished ledger row and executor trace, in
``serving.accounting.Accounting.record``. The observation only adds to plain dicts of numbers
(``_Counts``, ``_Histograms``); a collector turns them into metric families at scrape time.
prometheus_client's own Counter and Histogram children take a lock on every update: eleven
updates a request cost about 12 µs of CPU, a few percent of the gateway's per request
(docs/benchmarks.md). Updates happen on the event loop's thread only, and a scrape copies each
dict or series in one step, which the GIL keeps whole. State that already lives elsewhere
(circuit breakers, the ledger writer's queue) is read at scrape time by another collector.

Label values are bounded: ``model`` is a configured deployment id (or ``none`` when no
deployment answered), never the name a client sent; ``route`` is a configured route alias (or
``none`` when the client named a model).
"""

from __future__ import annotations

import asyncio
import bisect
import itertools
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry
from prometheus_client import generate_latest as _generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector
from prometheus_client.samples import Sample

from parity.errors import ParityError, PermissionDenied
from parity.gateway.asgi import Receive, Scope, Send, send_bytes
from parity.gateway.canary_metrics import CanaryCollector
from parity.gateway.serving.replies import ids, send_error
from parity.routing.executor import Trace
from parity.store.base import LedgerRow
from parity.tracing.metrics import TracingCollector

if TYPE_CHECKING:
    from parity.gateway.runtime import Runtime

__all__ = ["BREAKER_STATES", "GatewayMetrics", "MetricsRoute"]

BREAKER_STATES = {"closed": 0, "open": 1, "half_open": 2}
"""The value of parity_breaker_state for each state of a circuit breaker."""

# Seconds: LLM calls run from milliseconds (cached, tiny local model) to minutes (long answers).
_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300)
_CONTENT_TYPE = (b"content-type", CONTENT_TYPE_LATEST.encode())
_NONE = "none"

Key = tuple[str, ...]


class _Counts:
    """One counter: its value and creation time for each tuple of label values."""

    __slots__ = ("created", "help", "labels", "name", "values")

    def __init__(self, name: str, help: str, labels: tuple[str, ...]):
        self.name, self.help, self.labels = name, help, labels
        self.values: dict[Key, float] = {}
        self.created: dict[Key, float] = {}

    def add(self, key: Key, amount: float = 1.0) -> None:
        values = self.values
        if key in values:
            values[key] += amount
        else:
            self.created[key] = time.time()
            values[key] = amount

    def family(self) -> CounterMetricFamily:
        family = CounterMetricFamily(self.name, self.help, labels=self.labels)
        created = self.created
        for key, value in list(self.values.items()):
            family.add_metric(key, value, created=created.get(key))
        return family


class _Histograms:
    """One histogram: per tuple of label values, a count per bucket (+Inf last) and the sum."""

    __slots__ = ("bounds", "created", "help", "labels", "name", "series")

    def __init__(self, name: str, help: str, labels: tuple[str, ...]):
        self.name, self.help, self.labels = name, help, labels
        self.bounds = _BUCKETS
        self.series: dict[Key, list[float]] = {}  # [count in each bucket..., +Inf, sum]
        self.created: dict[Key, float] = {}

    def observe(self, key: Key, value: float) -> None:
        counts = self.series.get(key) or self.start(key)
        counts[bisect.bisect_left(self.bounds, value)] += 1  # the first bound >= value
        counts[-1] += value

    def start(self, key: Key) -> list[float]:
        """The series of ``key``, shown (empty) from now on."""
        counts = self.series.get(key)
        if counts is None:
            self.created[key] = time.time()
            counts = self.series[key] = [0.0] * (len(self.bounds) + 2)
        return counts

    def family(self) -> HistogramMetricFamily:
        family = HistogramMetricFamily(self.name, self.help, labels=self.labels)
        names = [repr(float(b)) for b in self.bounds] + ["+Inf"]  # as prometheus_client: 1.0
        for key, series in list(self.series.items()):
            counts = list(series)  # one copy: the buckets and the sum agree
            cumulative = list(itertools.accumulate(counts[:-1]))
            family.add_metric(key, list(zip(names, cumulative, strict=True)), counts[-1])
            created = self.created.get(key)
            if created is not None:
                labels = dict(zip(self.labels, key, strict=True))
                family.samples.append(Sample(f"{self.name}_created", labels, created))
        return family


class GatewayMetrics:
    """The registry of one gateway (never the global one) and its per-request observation."""

    def __init__(self, runtime: Runtime):
        self.registry = CollectorRegistry(auto_describe=True)
        self._define()
        self.registry.register(_Observed(self))
        self.registry.register(_RuntimeCollector(runtime))
        self.registry.register(CanaryCollector(runtime.settings.ledger.url))
        if runtime.cache is not None:
            self.registry.register(runtime.cache.collector())
        if runtime.tracing is not None:
            self.registry.register(TracingCollector(runtime.tracing.counts))

    def _define(self) -> None:
        self.requests = _Counts(
            "parity_requests",
            "Chat requests, by the deployment that answered, the route alias and HTTP status.",
            ("model", "route", "status"),
        )
        self.errors = _Counts(
            "parity_request_errors",
            "Chat requests that failed, by error type (e.g. UpstreamServerError, "
            "BudgetExceeded, RateLimited, ClientDisconnected).",
            ("error_type",),
        )
        self.latency = _Histograms(
            "parity_request_duration_seconds",
            "Time from request arrival to the last byte of the answer.",
            ("model", "route"),
        )
        self.ttfb = _Histograms(
            "parity_time_to_first_byte_seconds",
            "Time from request arrival to the first byte of a successful answer.",
            ("model", "route"),
        )
        self.tokens = _Counts(
            "parity_tokens",
            "Tokens by the deployment that answered; kind is input or output.",
            ("model", "kind"),
        )
        self.cost = _Counts("parity_cost_usd", "Spend in US dollars by deployment.", ("model",))
        self.attempts = _Counts(
            "parity_upstream_attempts",
            "Calls to upstream deployments; outcome is ok or the error type.",
            ("model", "outcome"),
        )
        self.fallbacks = _Counts(
            "parity_fallbacks",
            "A deployment failed and the request moved on to the next one of its plan.",
            ("from_model", "to_model"),
        )
        self.escalations = _Counts(
            "parity_escalations",
            "A deployment's answer failed a cascade validator (the next one was asked, if any).",
            ("from_model", "validator"),
        )
        self.breaker_skips = _Counts(
            "parity_breaker_skips",
            "Requests that skipped a deployment because its circuit breaker was open.",
            ("model",),
        )

    def families(self) -> list[Metric]:
        """Every per-request metric as it stands (what /metrics shows of them)."""
        counters = (self.tokens, self.cost, self.attempts, self.fallbacks, self.escalations)
        return [
            self.requests.family(),
            self.errors.family(),
            self.latency.family(),
            self.ttfb.family(),
            *(counter.family() for counter in counters),
            self.breaker_skips.family(),
        ]

    def observe(self, row: LedgerRow, trace: Trace) -> None:
        """Count one finished request; called once per request, after its row is complete."""
        model = row.model_answered or _NONE
        route = row.route or _NONE
        self.requests.add((model, route, str(row.status)))
        series = (model, route)
        self.latency.observe(series, row.total_ms / 1000)
        if row.status == 200 and row.ttfb_ms is not None:
            self.ttfb.observe(series, row.ttfb_ms / 1000)
        else:  # the series exists, at zero, as soon as its requests do
            self.ttfb.start(series)
        if row.error_type is not None:
            self.errors.add((row.error_type,))
        if row.model_answered is not None:
            if row.input_tokens:
                self.tokens.add((model, "input"), row.input_tokens)
            if row.output_tokens:
                self.tokens.add((model, "output"), row.output_tokens)
            if row.cost_usd:
                self.cost.add((model,), row.cost_usd)
        if trace.attempts or trace.skipped:
            self._trace(trace)

    def _trace(self, trace: Trace) -> None:
        """Attempts, fallbacks, escalations and breaker skips from the executor's trace."""
        order: list[str] = []
        for attempt in trace.attempts:
            self.attempts.add((attempt.model, attempt.outcome))
            if not order or order[-1] != attempt.model:
                order.append(attempt.model)
        escalated = set()
        for escalation in trace.escalations:
            escalated.add(escalation["from"])
            self.escalations.add((escalation["from"], escalation["validator"]))
        for before, after in itertools.pairwise(order):
            if before not in escalated:
                self.fallbacks.add((before, after))
        for skipped in trace.skipped:
            self.breaker_skips.add((skipped,))

    def render(self) -> bytes:
        """The Prometheus text exposition of every metric."""
        return _generate_latest(self.registry)


class _Observed(Collector):
    """The per-request metrics, turned into families when scraped."""

    def __init__(self, metrics: GatewayMetrics):
        self._metrics = metrics

    def describe(self) -> Iterable[Metric]:
        return self._metrics.families()

    def collect(self) -> Iterable[Metric]:
        return self._metrics.families()


class _RuntimeCollector(Collector):
    """Breaker states and the ledger writer's queue, read at scrape time."""

    def __init__(self, runtime: Runtime):
        self._rt = runtime

    def describe(self) -> Iterable[Metric]:
        return list(self._families())

    def collect(self) -> Iterable[Metric]:
        breaker, depth, written, failed, spilled = self._families()
        try:
            breakers = self._rt.executor.breakers
        except RuntimeError:  # not started yet
            breakers = {}
        for name, state in sorted(breakers.items()):
            breaker.add_metric([name], BREAKER_STATES[state.state])
        writer = self._rt.writer
        if writer is not None:
            depth.add_metric([], writer.depth)
            written.add_metric([], writer.written)
            failed.add_metric([], writer.failed_batches)
            spilled.add_metric([], writer.spilled)
        return [breaker, depth, written, failed, spilled]

    @staticmethod
    def _families() -> tuple[
        GaugeMetricFamily,
        GaugeMetricFamily,
        CounterMetricFamily,
        CounterMetricFamily,
        CounterMetricFamily,
    ]:
        return (
            GaugeMetricFamily(
                "parity_breaker_state",
                "Circuit breaker per deployment: 0 closed, 1 open, 2 half-open.",
                labels=["model"],
            ),
            GaugeMetricFamily(
                "parity_ledger_queue_depth", "Ledger rows queued in memory, not yet written."
            ),
            CounterMetricFamily("parity_ledger_rows_written", "Ledger rows written."),
            CounterMetricFamily(
                "parity_ledger_write_failures",
                "Ledger batch writes that failed (and were retried).",
            ),
            CounterMetricFamily(
                "parity_ledger_rows_spilled",
                "Ledger rows saved to a spill file at shutdown because the database stayed down.",
            ),
        )


class MetricsRoute:
    """GET /metrics; only admin callers when ``metrics.require_admin`` and keys exist."""

    def __init__(self, runtime: Runtime, metrics: GatewayMetrics):
        self._rt = runtime
        self._metrics = metrics
        self._admin_only = runtime.settings.metrics.require_admin

    async def __call__(
        self, scope: Scope, receive: Receive, send: Send, request_id: str, started: float
    ) -> None:
        try:
            self._check(scope)
        except ParityError as exc:
            await send_error(send, exc, request_id)
            return
        # Rendering takes milliseconds with many series: in a thread, the event loop keeps
        # serving requests in between (the GIL is handed over every few milliseconds).
        body = await asyncio.to_thread(self._metrics.render)
        await send_bytes(send, 200, [_CONTENT_TYPE, *ids(request_id)], body)

    def _check(self, scope: Scope) -> None:
        if not self._admin_only or not self._rt.auth.enabled:
            return
        caller = self._rt.auth.caller_for(dict(scope["headers"]))
        if not caller.admin:
            raise PermissionDenied("/metrics needs an admin key (metrics.require_admin is on)")
