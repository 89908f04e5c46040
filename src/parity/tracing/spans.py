"""The gateway's spans: one per request, one per upstream attempt, one per guard or cascade step.

Attributes follow the OpenTelemetry GenAI semantic conventions (gen-ai-spans, status
Development): ``gen_ai.operation.name``, ``gen_ai.provider.name`` (and the older
``gen_ai.system``), ``gen_ai.request.model``, ``gen_ai.response.model``, ``gen_ai.response.id``,
``gen_ai.response.finish_reasons``, ``gen_ai.usage.input_tokens`` and ``output_tokens``; Parity's
own facts are under ``parity.*``. Prompts and answers never go into a span. The tracer provider
is this gateway's own (never the global one), built once at start.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from parity.catalog.deployment import Deployment, ProviderKind
from parity.config.cache import TracingSettings
from parity.errors import ConfigError, ParityError

if TYPE_CHECKING:
    from opentelemetry.trace import Span

    from parity.providers.base import Usage
    from parity.store.base import LedgerRow

__all__ = ["OPERATIONS", "Tracing"]

log = logging.getLogger("parity.tracing")

OPERATIONS = {
    "chat": "chat",
    "responses": "chat",
    "messages": "chat",
    "completions": "text_completion",
    "embeddings": "embeddings",
}
"""gen_ai.operation.name of each front door."""

_PROVIDER = {
    ProviderKind.OPENAI: "openai",
    ProviderKind.ANTHROPIC: "anthropic",
    ProviderKind.LOCAL: "llama.cpp",
}
_REQUEST_FIELDS = (
    ("max_tokens", "gen_ai.request.max_tokens"),
    ("max_completion_tokens", "gen_ai.request.max_tokens"),
    ("temperature", "gen_ai.request.temperature"),
    ("top_p", "gen_ai.request.top_p"),
    ("seed", "gen_ai.request.seed"),
)


class Tracing:
    """The tracer, its exporter thread and the propagator; one per gateway."""

    def __init__(self, settings: TracingSettings):
        try:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
            from opentelemetry.sdk.resources import Resource
            from opentelemetry.sdk.trace import TracerProvider
            from opentelemetry.trace import SpanKind, Status, StatusCode, set_span_in_context
            from opentelemetry.trace.propagation.tracecontext import (
                TraceContextTextMapPropagator,
            )
        except ImportError as exc:
            raise ConfigError(
                "tracing.enabled needs OpenTelemetry: pip install 'parity[otel]'"
            ) from exc
        from parity.tracing.export import QueueProcessor

        self.settings = settings
        # The exporter logs every failed batch; Parity's own warning says it once per outage.
        logging.getLogger("opentelemetry.exporter.otlp.proto.http").setLevel(logging.ERROR)
        exporter = OTLPSpanExporter(endpoint=settings.endpoint, timeout=settings.timeout_s)
        self.processor = QueueProcessor(exporter, settings.max_queue)
        self._provider = TracerProvider(
            resource=Resource.create({"service.name": settings.service_name}),
            shutdown_on_exit=False,
        )
        self._provider.add_span_processor(self.processor)
        self._tracer = self._provider.get_tracer("parity")
        self._propagator = TraceContextTextMapPropagator()
        self._kind = SpanKind
        self._status, self._code = Status, StatusCode
        self._in_context = set_span_in_context

    # -- the request --

    @contextlib.contextmanager
    def request(self, headers: Sequence[tuple[bytes, bytes]], door: str) -> Iterator[Span]:
        """The request's span, current while it is served; a client's traceparent is its parent."""
        carrier = {k.decode("latin-1"): v.decode("latin-1") for k, v in headers if k in _W3C}
        parent = self._propagator.extract(carrier) if carrier else None
        operation = OPERATIONS.get(door, door)
        with self._tracer.start_as_current_span(
            operation, context=parent, kind=self._kind.SERVER, record_exception=False
        ) as span:
            span.set_attribute("gen_ai.operation.name", operation)
            yield span

    def finished(self, span: Span, door: str, row: LedgerRow, trace: Any) -> None:
        """The request span's attributes from its ledger row, and its guard and cascade steps."""
        try:
            self._finished(span, door, row, trace)
        except Exception:  # a span is never worth a request: it is sent already, keep serving
            log.exception("request %s: its span could not be completed", row.request_id)

    def _finished(self, span: Span, door: str, row: LedgerRow, trace: Any) -> None:
        operation = OPERATIONS.get(door, door)
        if row.model_requested:
            span.update_name(f"{operation} {row.model_requested}")
            span.set_attribute("gen_ai.request.model", row.model_requested)
        attributes: dict[str, Any] = {
            "parity.request_id": row.request_id,
            "http.response.status_code": row.status,
            "parity.stream": row.stream,
        }
        optional = {
            "gen_ai.response.model": row.model_answered,
            "gen_ai.usage.input_tokens": row.input_tokens,
            "gen_ai.usage.output_tokens": row.output_tokens,
            "parity.route": row.route,
            "parity.cost_usd": row.cost_usd,
            "parity.cache": row.cache,
            "parity.cost_saved_usd": row.cost_saved_usd,
            "parity.key_id": row.key_id,
            "parity.tenant": row.tenant,
        }
        attributes.update({k: v for k, v in optional.items() if v is not None})
        span.set_attributes(attributes)
        if row.status >= 400:
            span.set_attribute("error.type", row.error_type or str(row.status))
        if row.status >= 500 or row.status == 499:
            self._error(span, row.error_type or "error")
        self._steps(span, row, trace)

    def _steps(self, parent: Span, row: LedgerRow, trace: Any) -> None:
        """Guard verdicts and cascade validations as child spans, with their measured time."""
        context = self._in_context(parent)
        now = time.time_ns()
        for decision in row.guards:
            start = now - int(decision.latency_ms * 1e6)
            span = self._tracer.start_span(
                f"guard {decision.guard}", context=context, start_time=start
            )
            span.set_attributes(
                {
                    "parity.guard.name": decision.guard,
                    "parity.guard.stage": decision.stage,
                    "parity.guard.verdict": decision.verdict,
                    "parity.guard.action": decision.action,
                    "parity.guard.checks": decision.checks,
                }
            )
            if decision.verdict == "error":
                self._error(span, decision.error or "guard_error")
            span.end(end_time=now)
        escalated = {e["from"]: e for e in getattr(trace, "escalations", ())}
        for step in getattr(trace, "validations", ()):
            span = self._tracer.start_span(
                f"cascade_step {step['model']}", context=context, start_time=now
            )
            failed = [c["validator"] for c in step["checks"] if c["failed"] is not None]
            span.set_attributes(
                {
                    "parity.cascade.model": step["model"],
                    "parity.cascade.validators": [c["validator"] for c in step["checks"]],
                    "parity.cascade.failed": failed,
                    "parity.cascade.escalated": step["model"] in escalated,
                }
            )
            span.end(end_time=now)

    # -- upstream attempts --

    def attempt(self, deployment: Deployment, body: Mapping[str, Any]) -> Span:
        """A started CLIENT span for one call to ``deployment`` (the caller ends it)."""
        operation = "chat"
        model = deployment.wire_model
        span = self._tracer.start_span(f"{operation} {model}", kind=self._kind.CLIENT)
        attributes: dict[str, Any] = {
            "gen_ai.operation.name": operation,
            "gen_ai.provider.name": _PROVIDER[deployment.provider],
            "gen_ai.system": _PROVIDER[deployment.provider],
            "gen_ai.request.model": model,
            "parity.deployment": deployment.id,
        }
        for field, name in _REQUEST_FIELDS:
            value = body.get(field)
            if isinstance(value, int | float) and not isinstance(value, bool):
                attributes[name] = value
        if deployment.base_url:
            url = urlsplit(deployment.base_url)
            if url.hostname:
                attributes["server.address"] = url.hostname
            if url.port:
                attributes["server.port"] = url.port
        span.set_attributes(attributes)
        return span

    def headers(self, span: Span) -> dict[str, str] | None:
        """The W3C traceparent (and tracestate) that put ``span`` upstream's parent."""
        if not self.settings.propagate:
            return None
        carrier: dict[str, str] = {}
        self._propagator.inject(carrier, context=self._in_context(span))
        return carrier

    @staticmethod
    def answered(span: Span, body: Mapping[str, Any], usage: Usage | None) -> None:
        """What the upstream said about its answer (a completion or a stream's last facts)."""
        attributes: dict[str, Any] = {}
        if isinstance(body.get("model"), str):
            attributes["gen_ai.response.model"] = body["model"]
        if isinstance(body.get("id"), str):
            attributes["gen_ai.response.id"] = body["id"]
        reasons = [
            c["finish_reason"]
            for c in body.get("choices") or ()
            if isinstance(c, dict) and isinstance(c.get("finish_reason"), str)
        ]
        if reasons:
            attributes["gen_ai.response.finish_reasons"] = reasons
        if usage is not None:
            attributes["gen_ai.usage.input_tokens"] = usage.input_tokens
            attributes["gen_ai.usage.output_tokens"] = usage.output_tokens
        span.set_attributes(attributes)

    def failed(self, span: Span, exc: BaseException) -> None:
        """An attempt that raised: its error type (the typed error's kind) and status."""
        kind = exc.kind if isinstance(exc, ParityError) else type(exc).__name__
        span.set_attribute("error.type", kind)
        status = getattr(exc, "upstream_status", None)
        if isinstance(status, int):
            span.set_attribute("http.response.status_code", status)
        self._error(span, kind)

    def _error(self, span: Span, description: str) -> None:
        span.set_status(self._status(self._code.ERROR, description))

    def counts(self) -> tuple[int, int, int]:
        """Spans exported, dropped and queued, for /metrics."""
        processor = self.processor
        return processor.exported, processor.dropped, processor.queued

    def close(self) -> None:
        """Export what is queued (unless the collector is down) and stop the thread."""
        self._provider.shutdown()


_W3C = (b"traceparent", b"tracestate")
