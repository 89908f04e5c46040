"""The Ledger protocol and the row it stores: one row per request, never lost."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

__all__ = ["Ledger", "LedgerRow", "RowFilter", "UsageRow"]


@dataclass(slots=True)
class LedgerRow:
    """One request as the gateway saw it.

    ``trace`` holds the routing decision (signals, rule, attempts, validators); ``data_classes``
    the sensitive data classes found; ``sent_to`` the residency of every deployment the data went
    to. ``request_body`` is the client's JSON body when the ledger is configured to keep bodies.
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

    def usage(self, since: float | None = None, until: float | None = None) -> list[UsageRow]:
        """Tokens and cost per model and UTC day."""
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
