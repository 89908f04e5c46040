"""Spans leave the request path at once: a bounded queue, exported in batches by one thread.

Ending a span only appends it to the queue (under a lock, microseconds). A thread sends batches
to the exporter every ``interval_s`` or as soon as a batch is full. A full queue drops the new
span, and a batch the exporter could not deliver (collector down, timeout) is dropped too: both
are counted (``parity_tracing_spans_total{outcome="dropped"}``), so a collector that is down
never slows or fails a request.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from typing import Any

from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

__all__ = ["QueueProcessor"]

log = logging.getLogger("parity.tracing")

_BATCH = 512


class QueueProcessor(SpanProcessor):
    """A span processor that never blocks the caller and counts what it could not send."""

    def __init__(self, exporter: SpanExporter, max_queue: int, interval_s: float = 0.5):
        self._exporter = exporter
        self._max = max_queue
        self._interval = interval_s
        self._queue: deque[ReadableSpan] = deque()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = False
        self.exported = 0
        self.dropped = 0
        self._warned = False
        self._thread = threading.Thread(target=self._run, name="parity-otlp", daemon=True)
        self._thread.start()

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        return None

    def on_end(self, span: ReadableSpan) -> None:
        with self._lock:
            if len(self._queue) >= self._max:
                self.dropped += 1
                return
            self._queue.append(span)
            full = len(self._queue) >= _BATCH
        if full:
            self._wake.set()

    def _run(self) -> None:
        while not self._stopping:
            self._wake.wait(self._interval)
            self._wake.clear()
            self._flush()

    def _flush(self) -> None:
        while True:
            with self._lock:
                batch = [self._queue.popleft() for _ in range(min(len(self._queue), _BATCH))]
            if not batch:
                return
            try:
                result: Any = self._exporter.export(batch)
            except Exception as exc:  # an exporter bug must not kill the thread
                log.warning("span export raised %s", type(exc).__name__)
                result = SpanExportResult.FAILURE
            if result is SpanExportResult.SUCCESS:
                self.exported += len(batch)
                self._warned = False
                continue
            self.dropped += len(batch)
            if not self._warned:
                log.warning("the OTLP collector took no spans: %d dropped (counted)", len(batch))
                self._warned = True

    @property
    def queued(self) -> int:
        """Spans waiting for export."""
        return len(self._queue)

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        self._flush()
        return True

    def shutdown(self) -> None:
        self._stopping = True
        self._wake.set()
        self._thread.join(timeout=5)
        if self._warned:  # the collector is down: do not hold up the shutdown for it
            with self._lock:
                self.dropped += len(self._queue)
                self._queue.clear()
        self._flush()
        self._exporter.shutdown()
