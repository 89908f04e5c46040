"""Spend per API key and tenant, today and this month, for the budget signal.

Totals are read from the ledger at start and every ``budgets.refresh_s`` (so replicas sharing a
PostgreSQL ledger see each other's spend), and each answered request is added in memory at once.
Between refreshes, rows another replica has not flushed yet are not counted.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from parity.config.routing import Budget, Budgets
from parity.store.base import Ledger
from parity.store.budgets import period_starts

__all__ = ["SpendTracker", "period_starts"]


class SpendTracker:
    """USD spent per (scope, name) today and this month."""

    def __init__(
        self, budgets: Budgets, ledger: Ledger | None, clock: Callable[[], float] = time.time
    ):
        self.budgets = budgets
        self._ledger = ledger
        self._clock = clock
        self._lock = threading.Lock()
        self._spent: dict[tuple[str, str], list[float]] = {}  # -> [day, month]
        self._periods = period_starts(clock())

    def bind(self, ledger: Ledger) -> None:
        """Read spend from this ledger from now on."""
        self._ledger = ledger

    @property
    def active(self) -> bool:
        """Whether any budget is configured (otherwise nothing needs refreshing)."""
        return bool(self.budgets.keys or self.budgets.tenants)

    def _tracked(self) -> list[tuple[str, str]]:
        return [("key", k) for k in self.budgets.keys] + [
            ("tenant", t) for t in self.budgets.tenants
        ]

    def refresh(self) -> None:
        """Re-read the totals of every budgeted key and tenant from the ledger."""
        if self._ledger is None:
            return
        day, month = period_starts(self._clock())
        fresh: dict[tuple[str, str], list[float]] = {}
        for scope, name in self._tracked():
            which = {"key_id": name} if scope == "key" else {"tenant": name}
            fresh[(scope, name)] = [
                self._ledger.spend(since=day, **which),
                self._ledger.spend(since=month, **which),
            ]
        with self._lock:
            self._spent = fresh
            self._periods = (day, month)

    def add(self, key_id: str | None, tenant: str | None, cost: float | None) -> None:
        """Count one answered request's cost."""
        if not cost:
            return
        self._roll()
        with self._lock:
            for pair in (("key", key_id), ("tenant", tenant)):
                if pair[1] is not None:
                    totals = self._spent.setdefault((pair[0], pair[1]), [0.0, 0.0])
                    totals[0] += cost
                    totals[1] += cost

    def _roll(self) -> None:
        day, month = period_starts(self._clock())
        if (day, month) != self._periods:
            with self._lock:
                for totals in self._spent.values():
                    totals[0] = 0.0
                    if month != self._periods[1]:
                        totals[1] = 0.0
                self._periods = (day, month)

    def spent(self, scope: str, name: str | None) -> tuple[float, float]:
        """(today, this month) for a key or tenant."""
        if name is None:
            return 0.0, 0.0
        self._roll()
        with self._lock:
            totals = self._spent.get((scope, name), [0.0, 0.0])
            return totals[0], totals[1]

    def budget(self, scope: str, name: str | None) -> Budget | None:
        """The configured budget of a key or tenant."""
        if name is None:
            return None
        table = self.budgets.keys if scope == "key" else self.budgets.tenants
        return table.get(name)
