"""Spend per API key and tenant, today and this month, for the budget signal.

Totals are read from the ledger at start and every ``budgets.refresh_s`` (so replicas sharing a
PostgreSQL ledger see each other's spend), and each answered request is added in memory at once.
Between refreshes, rows another replica has not flushed yet are not counted.

A refresh must not forget this replica's own spend that the ledger does not hold yet: rows still
in the ledger writer's queue when the refresh starts, and rows answered while it reads, are added
on top of what the ledger says. A row written while the ledger is being read may then count twice
until the next refresh, which errs toward refusing early, never toward overspending.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable

from parity.config.routing import Budget, Budgets
from parity.store.base import Ledger, LedgerRow
from parity.store.budgets import period_starts
from parity.store.writer import LedgerWriter

__all__ = ["SpendTracker", "period_starts"]

Scope = tuple[str, str]  # ("key", key id) or ("tenant", tenant)


class SpendTracker:
    """USD spent per (scope, name) today and this month."""

    def __init__(
        self, budgets: Budgets, ledger: Ledger | None, clock: Callable[[], float] = time.time
    ):
        self.budgets = budgets
        self._ledger = ledger
        self._clock = clock
        self._lock = threading.Lock()
        self._refreshing = threading.Lock()  # one refresh at a time
        self._spent: dict[Scope, list[float]] = {}  # -> [day, month]
        self._periods = period_starts(clock())
        # rows counted here that the ledger may not hold yet, by id(row); kept only while a
        # writer reports what it has written (otherwise nothing would ever remove them)
        self._unwritten: dict[int, tuple[list[Scope], float]] | None = None
        self._during: defaultdict[Scope, float] | None = None  # added while a refresh reads

    def bind(self, ledger: Ledger, writer: LedgerWriter | None = None) -> None:
        """Read spend from this ledger from now on; ``writer`` queues this replica's rows."""
        self._ledger = ledger
        if writer is not None and self.active:
            with self._lock:
                self._unwritten = {}
            writer.on_written(self.written)

    @property
    def active(self) -> bool:
        """Whether any budget is configured (otherwise nothing needs refreshing)."""
        return bool(self.budgets.keys or self.budgets.tenants)

    def _tracked(self) -> list[Scope]:
        return [("key", k) for k in self.budgets.keys] + [
            ("tenant", t) for t in self.budgets.tenants
        ]

    def refresh(self) -> None:
        """Re-read the totals of every budgeted key and tenant from the ledger."""
        if self._ledger is None:
            return
        with self._refreshing:
            with self._lock:
                carried = self._unwritten_totals()
                self._during = defaultdict(float)
            try:
                day, month = period_starts(self._clock())
                fresh: dict[Scope, list[float]] = {}
                for scope, name in self._tracked():
                    which = {"key_id": name} if scope == "key" else {"tenant": name}
                    fresh[(scope, name)] = [
                        self._ledger.spend(since=day, **which),
                        self._ledger.spend(since=month, **which),
                    ]
            except BaseException:
                with self._lock:
                    self._during = None
                raise
            with self._lock:
                during, self._during = self._during, None
                for pair, cost in (*carried.items(), *during.items()):
                    totals = fresh.setdefault(pair, [0.0, 0.0])
                    totals[0] += cost
                    totals[1] += cost
                self._spent = fresh
                self._periods = (day, month)

    def _unwritten_totals(self) -> dict[Scope, float]:
        totals: defaultdict[Scope, float] = defaultdict(float)
        for pairs, cost in (self._unwritten or {}).values():
            for pair in pairs:
                totals[pair] += cost
        return totals

    def add(self, row: LedgerRow) -> None:
        """Count one answered request's cost, before its row is queued for the ledger.

        Nothing is kept when no budget is configured: the signal then has nothing to report.
        """
        cost = row.cost_usd
        if not cost or not self.active:
            return
        self._roll()
        pairs: list[Scope] = [
            (scope, name)
            for scope, name in (("key", row.key_id), ("tenant", row.tenant))
            if name is not None
        ]
        with self._lock:
            for pair in pairs:
                totals = self._spent.setdefault(pair, [0.0, 0.0])
                totals[0] += cost
                totals[1] += cost
                if self._during is not None:
                    self._during[pair] += cost
            if self._unwritten is not None:
                self._unwritten[id(row)] = (pairs, cost)

    def written(self, rows: Iterable[LedgerRow]) -> None:
        """The ledger holds these rows now: a refresh will find them there."""
        with self._lock:
            if self._unwritten:
                for row in rows:
                    self._unwritten.pop(id(row), None)

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
