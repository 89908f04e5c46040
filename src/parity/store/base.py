"""The Ledger protocol and the row it stores: one row per request, never lost."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

__all__ = ["Feedback", "GuardDecision", "Ledger", "LedgerRow", "RowFilter", "UsageRow"]


@dataclass(slots=True)
class GuardDecision:
    """One safety-guard verdict on one request's input or output (migration 009).

    ``verdict`` is safe, unsafe or error; ``action`` what the route did: allow, flag, block,
    reroute (to ``target``), fail_open or fail_closed. ``checks`` counts guard calls (a stream's
    answer is checked several times); ``latency_ms`` is their total.
    """

    request_id: str
    ts: float
    guard: str
    stage: str
    verdict: str
    action: str
    categories: list[str] = field(default_factory=list)
    route: str | None = None
    target: str | None = None
    latency_ms: float = 0.0
    checks: int = 1
    error: str | None = None


@dataclass(slots=True)
class LedgerRow:
    """One request as the gateway saw it.

    ``trace`` holds the routing decision (signals, rule, attempts, validators); ``data_classes``
    the sensitive data classes found; ``sent_to`` the residency of every deployment the data went
    to. ``request_body`` is the client's JSON body when the ledger is configured to keep bodies.
    ``upstream_model`` and ``system_fingerprint`` are the upstream's own version signals (the
    response's ``model`` field before Parity renames it, and OpenAI's ``system_fingerprint``).
    """

    request_id: str
    ts: float
    model_requested: str
    status: int
    total_ms: float
    key_id: str | None = None
    tenant: str | None = None
    model_answered: str | None = None
    route: str | None = None
    route_reason: str | None = None
    error_type: str | None = None
    error_message: str | None = None
    stream: bool = False
    ttfb_ms: float | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    usage_estimated: bool = False
    cost_usd: float | None = None
    residency: str | None = None
    attempts: int = 1
    data_classes: list[str] = field(default_factory=list)
    sent_to: list[str] = field(default_factory=list)
    trace: dict[str, Any] | None = None
    request_body: bytes | None = None
    response_text: str | None = None
    task: str | None = None
    upstream_model: str | None = None
    system_fingerprint: str | None = None
    cache: str | None = None  # "hit" or "miss" when the response cache applied (migration 008)
    cost_saved_usd: float | None = None  # a hit: what the cached answer would cost again
    guards: list[GuardDecision] = field(default_factory=list)  # stored in guard_decisions


@dataclass(slots=True)
class RowFilter:
    """What ``Ledger.rows`` returns: every field left None matches everything."""

    since: float | None = None
    until: float | None = None
    model: str | None = None  # matches the model asked for or the one that answered
    key_id: str | None = None
    status: int | None = None
    errors_only: bool = False
    route: str | None = None
    sensitive_to_vendor: bool = False  # rows whose sensitive data went to a vendor deployment
    limit: int = 50
    task: str | None = None  # the task name the request carried (metadata.task, x-parity-task)


@dataclass(slots=True)
class Feedback:
    """What someone said about one request's answer: a score, a verdict, a label, a correction.

    At least one of ``score`` (0-1), ``good`` and ``label`` is set. ``correction`` is the answer
    the request should have had; ``source`` says who gave it (a person, a reviewer, a judge).
    """

    feedback_id: str
    request_id: str
    ts: float
    source: str
    score: float | None = None
    good: bool | None = None
    label: str | None = None
    correction: str | None = None
    key_id: str | None = None


@dataclass(slots=True)
class UsageRow:
    """Tokens, cost and request counts for one model on one UTC day."""

    day: str
    model: str
    requests: int
    errors: int
    input_tokens: int
    output_tokens: int
    cost_usd: float
    estimated: int = 0  # requests whose usage Parity estimated (the upstream reported none)
    cache_hits: int = 0  # requests the response cache answered
    saved_usd: float = 0.0  # what those answers would have cost upstream


class Ledger(Protocol):
    """Where ledger rows live. Writes come in batches from the writer thread only."""

    url: str

    def migrate(self) -> list[str]:
        """Apply pending migrations; return the names applied."""
        ...

    def record(self, rows: Sequence[LedgerRow]) -> None:
        """Write a batch of rows in one transaction."""
        ...

    def rows(self, where: RowFilter) -> list[LedgerRow]:
        """Recent rows, newest first."""
        ...

    def usage(
        self, since: float | None = None, until: float | None = None, task: str | None = None
    ) -> list[UsageRow]:
        """Tokens and cost per model and UTC day (of one task's requests, when given)."""
        ...

    def add_feedback(self, feedback: Feedback) -> None:
        """Store one piece of feedback (written at once, not batched)."""
        ...

    def feedback(self, request_ids: Sequence[str]) -> dict[str, list[Feedback]]:
        """The feedback on each of these requests, newest first; ids without any are absent."""
        ...

    def row(self, request_id: str) -> LedgerRow | None:
        """One request's row, or None."""
        ...

    def spend(self, *, since: float, key_id: str | None = None, tenant: str | None = None) -> float:
        """USD spent since ``since`` by a key or tenant (both None: everyone)."""
        ...

    def count(self) -> int:
        """How many rows are stored."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...
