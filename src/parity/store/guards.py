"""Safety-guard decisions in the ledger's database (migration 009).

The ledgers write a request's decisions in the same transaction as its row (``GUARD_INSERT``);
``parity audit --guards`` and the dashboard read them through ``store.guard_log.GuardLog``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import orjson

from parity.store.base import GuardDecision, LedgerRow

__all__ = ["GUARD_COLUMNS", "GUARD_INSERT", "decision_from_tuple", "decision_tuples"]

GUARD_COLUMNS = (
    "request_id",
    "ts",
    "route",
    "guard",
    "stage",
    "verdict",
    "categories",
    "action",
    "target",
    "latency_ms",
    "checks",
    "error",
)
GUARD_INSERT = (
    f"INSERT INTO guard_decisions ({', '.join(GUARD_COLUMNS)}) "
    f"VALUES ({', '.join('?' for _ in GUARD_COLUMNS)})"
)


def decision_tuples(rows: Iterable[LedgerRow]) -> list[tuple[Any, ...]]:
    """The INSERT parameters of every guard decision the rows carry."""
    return [
        (
            d.request_id,
            d.ts,
            d.route,
            d.guard,
            d.stage,
            d.verdict,
            orjson.dumps(d.categories).decode(),
            d.action,
            d.target,
            d.latency_ms,
            d.checks,
            d.error,
        )
        for row in rows
        for d in row.guards
    ]


def decision_from_tuple(values: Sequence[Any]) -> GuardDecision:
    """A GuardDecision from a ``SELECT {GUARD_COLUMNS}`` result row."""
    data = dict(zip(GUARD_COLUMNS, values, strict=True))
    data["categories"] = orjson.loads(data["categories"])
    return GuardDecision(**data)
