"""One request in flight through the serving core, whichever front door it came in by."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from parity.gateway.asgi import Headers
from parity.gateway.limits import Admission
from parity.routing.executor import Trace
from parity.routing.plan import Caller, RoutePlan
from parity.store.base import LedgerRow

__all__ = ["Exchange"]


@dataclass(slots=True)
class Exchange:
    """What came in, where it went, and its ledger row (written once, by the accounting)."""

    request_id: str
    started: float
    row: LedgerRow
    door: str  # "chat", "responses", "messages", "completions", "embeddings"
    caller: Caller | None = None
    trace: Trace = field(default_factory=Trace)
    body: dict[str, Any] | None = None  # the chat body planned and sent (before masking)
    plan: RoutePlan | None = None
    vault: Any = None  # set when entities were masked and must be restored in the answer
    sent_body: dict[str, Any] | None = None  # what the upstream received (masked or not)
    admission: Admission | None = None  # the caller's limits it took; settled when accounted
    notes: dict[str, Any] = field(default_factory=dict)  # a door's own facts for the trace
    cache: str | None = None  # x-parity-cache: hit, miss or bypass (when the cache applies)
    conform: bool = False  # the door's fields are checked against each deployment's capabilities

    def elapsed_ms(self) -> float:
        """Milliseconds since the request arrived."""
        return (time.perf_counter() - self.started) * 1000

    def headers(self, model: str) -> Headers:
        """The x-parity-* headers every response carries."""
        out = [
            (b"x-parity-request-id", self.request_id.encode()),
            (b"x-parity-model", model.encode()),
        ]
        if self.plan is not None:
            out.append((b"x-parity-route", self.plan.header().encode()))
        if self.cache is not None:
            out.append((b"x-parity-cache", self.cache.encode()))
        dropped = self.trace.dropped.get(model)
        if dropped:  # drop_params left these out of what that deployment was sent
            out.append((b"x-parity-dropped-params", ",".join(dropped).encode()))
        return out
