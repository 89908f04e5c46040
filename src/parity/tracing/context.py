"""The trace headers of the upstream call in progress, for the HTTP layer to send.

A plain context variable, so the providers need no tracing code: the traced wrapper sets it
around a call (``parity.tracing.provider``) and ``with_trace`` adds it to the request headers.
Unset (tracing off, or ``tracing.propagate: false``) it costs one lookup per call.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextvars import ContextVar

__all__ = ["UPSTREAM_HEADERS", "with_trace"]

UPSTREAM_HEADERS: ContextVar[Mapping[str, str] | None] = ContextVar(
    "parity_upstream_trace_headers", default=None
)


def with_trace(headers: Mapping[str, str] | None) -> Mapping[str, str] | None:
    """``headers`` plus the W3C ``traceparent`` (and ``tracestate``) of the current attempt."""
    extra = UPSTREAM_HEADERS.get()
    if not extra:
        return headers
    return {**(headers or {}), **extra}
