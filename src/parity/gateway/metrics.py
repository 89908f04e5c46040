"""Prometheus metrics of one gateway, and the GET /metrics route that serves them.

Each request is observed once, from its finished ledger row and executor trace, in
``serving.accounting.Accounting.record``. The label children of each (model, route, status)
are resolved once and kept in a dict, because ``.labels()`` takes a lock and builds a tuple on
every call. State that already lives elsewhere (circuit breakers, the ledger writer's queue) is
read at scrape time by a collector instead of being copied on every request.

Label values are bounded: ``model`` is a configured deployment id (or ``none`` when no
deployment answered), never the name a client sent; ``route`` is a configured route alias (or
``none`` when the client named a model).
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram
from prometheus_client import generate_latest as _generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

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


class _Series:
    """The label children one (model, route, status) updates on every request."""

    __slots__ = ("latency", "requests", "ttfb")

    def __init__(self, metrics: GatewayMetrics, model: str, route: str, status: int):
        self.requests = metrics.requests.labels(model, route, str(status))
        self.latency = metrics.latency.labels(model, route)
        self.ttfb = metrics.ttfb.labels(model, route)


class _ModelSeries:
    """The label children of one answering deployment."""

    __slots__ = ("cost", "input_tokens", "output_tokens")

    def __init__(self, metrics: GatewayMetrics, model: str):
        self.input_tokens = metrics.tokens.labels(model, "input")
        self.output_tokens = metrics.tokens.labels(model, "output")
        self.cost = metrics.cost.labels(model)


class GatewayMetrics:
    """The registry of one gateway (never the global one) and its per-request observation."""

    def __init__(self, runtime: Runtime):
        self.registry = CollectorRegistry(auto_describe=True)
        self._define(self.registry)
        self.registry.register(_RuntimeCollector(runtime))
        self.registry.register(CanaryCollector(runtime.settings.ledger.url))
        if runtime.cache is not None:
            self.registry.register(runtime.cache.collector())
        if runtime.tracing is not None:
            self.registry.register(TracingCollector(runtime.tracing.counts))
        self._series: dict[tuple[str, str, int], _Series] = {}
        self._models: dict[str, _ModelSeries] = {}
        self._children: dict[tuple[Counter, tuple[str, ...]], Any] = {}

    def _define(self, registry: CollectorRegistry) -> None:
        self.requests = Counter(
            "parity_requests",
            "Chat requests, by the deployment that answered, the route alias and HTTP status.",
            ("model", "route", "status"),
            registry=registry,
        )
        self.errors = Counter(
            "parity_request_errors",
            "Chat requests that failed, by error type (e.g. UpstreamServerError, "
            "BudgetExceeded, RateLimited, ClientDisconnected).",
            ("error_type",),
            registry=registry,
        )
        self.latency = Histogram(
            "parity_request_duration_seconds",
            "Time from request arrival to the last byte of the answer.",
            ("model", "route"),
            buckets=_BUCKETS,
            registry=registry,
        )
        self.ttfb = Histogram(
            "parity_time_to_first_byte_seconds",
            "Time from request arrival to the first byte of a successful answer.",
            ("model", "route"),
            buckets=_BUCKETS,
            registry=registry,
        )
        self.tokens = Counter(
            "parity_tokens",
            "Tokens by the deployment that answered; kind is input or output.",
            ("model", "kind"),
            registry=registry,
        )
        self.cost = Counter(
            "parity_cost_usd", "Spend in US dollars by deployment.", ("model",), registry=registry
        )
        self.attempts = Counter(
            "parity_upstream_attempts",
            "Calls to upstream deployments; outcome is ok or the error type.",
            ("model", "outcome"),
            registry=registry,
        )
        self.fallbacks = Counter(
            "parity_fallbacks",
            "A deployment failed and the request moved on to the next one of its plan.",
            ("from_model", "to_model"),
            registry=registry,
        )
        self.escalations = Counter(
            "parity_escalations",
            "A deployment's answer failed a cascade validator (the next one was asked, if any).",
            ("from_model", "validator"),
            registry=registry,
        )
        self.breaker_skips = Counter(
            "parity_breaker_skips",
            "Requests that skipped a deployment because its circuit breaker was open.",
            ("model",),
            registry=registry,
        )

    def observe(self, row: LedgerRow, trace: Trace) -> None:
        """Count one finished request; called once per request, after its row is complete."""
        model = row.model_answered or _NONE
        route = row.route or _NONE
        key = (model, route, row.status)
        series = self._series.get(key)
        if series is None:
            series = self._series[key] = _Series(self, model, route, row.status)
        series.requests.inc()
        series.latency.observe(row.total_ms / 1000)
        if row.status == 200 and row.ttfb_ms is not None:
            series.ttfb.observe(row.ttfb_ms / 1000)
        if row.error_type is not None:
            self._child(self.errors, row.error_type).inc()
        if row.model_answered is not None:
            self._usage(row.model_answered, row)
        if trace.attempts or trace.skipped:
            self._trace(trace)

    def _usage(self, model: str, row: LedgerRow) -> None:
        per_model = self._models.get(model)
        if per_model is None:
            per_model = self._models[model] = _ModelSeries(self, model)
        if row.input_tokens:
            per_model.input_tokens.inc(row.input_tokens)
        if row.output_tokens:
            per_model.output_tokens.inc(row.output_tokens)
        if row.cost_usd:
            per_model.cost.inc(row.cost_usd)

    def _trace(self, trace: Trace) -> None:
        """Attempts, fallbacks, escalations and breaker skips from the executor's trace."""
        order: list[str] = []
        for attempt in trace.attempts:
            self._child(self.attempts, attempt.model, attempt.outcome).inc()
            if not order or order[-1] != attempt.model:
                order.append(attempt.model)
        escalated = set()
        for escalation in trace.escalations:
            escalated.add(escalation["from"])
            self._child(self.escalations, escalation["from"], escalation["validator"]).inc()
        for before, after in itertools.pairwise(order):
            if before not in escalated:
                self._child(self.fallbacks, before, after).inc()
        for skipped in trace.skipped:
            self._child(self.breaker_skips, skipped).inc()

    def _child(self, metric: Counter, *labels: str) -> Any:
        key = (metric, labels)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = metric.labels(*labels)
        return child

    def render(self) -> bytes:
        """The Prometheus text exposition of every metric."""
        return _generate_latest(self.registry)


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
