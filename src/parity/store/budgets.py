"""Budget enforcement in the ledger database: holds on requests in flight, settled spend.

Before a budgeted request goes upstream it holds its worst-case cost; it is admitted only while
``spent + open holds < limit`` for every budget it falls under. When it ends, one transaction
drops the hold and adds the actual cost. Each step is one short transaction: SQLite serialises
them with ``BEGIN IMMEDIATE``; PostgreSQL locks each budget's counter row with
``SELECT ... FOR UPDATE``, always in the same order, so replicas sharing the database admit
against one total and never deadlock. The overspend bound this gives is argued in
docs/limits.md.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from parity.errors import BudgetExceeded, Unavailable
from parity.store.sqlite import sqlite_path

__all__ = ["BudgetBook", "Limit", "Reservation", "period_end", "period_starts"]

_LABEL = {"day": "daily", "month": "monthly"}
_SELECT = (
    "SELECT spent_usd FROM budget_spend"
    " WHERE scope = ? AND name = ? AND period = ? AND period_start = ?"
)
_SEED = (
    "INSERT INTO budget_spend (scope, name, period, period_start, spent_usd)"
    " SELECT ?, ?, ?, ?, COALESCE(SUM(cost_usd), 0) FROM requests WHERE {column} = ? AND ts >= ?"
    " ON CONFLICT (scope, name, period, period_start) DO NOTHING"
)
_HELD = (
    "SELECT COALESCE(SUM(amount_usd), 0) FROM budget_holds"
    " WHERE scope = ? AND name = ? AND {period}_start = ? AND expires_at > ?"
)
_HOLD = (
    "INSERT INTO budget_holds"
    " (request_id, scope, name, day_start, month_start, amount_usd, expires_at)"
    " VALUES (?, ?, ?, ?, ?, ?, ?)"
)
_ADD = (
    "UPDATE budget_spend SET spent_usd = spent_usd + ?"
    " WHERE scope = ? AND name = ? AND period = ? AND period_start = ?"
)
_RELEASE = "DELETE FROM budget_holds WHERE request_id = ?"
_SWEEP = "DELETE FROM budget_holds WHERE expires_at < ?"


def period_starts(now: float) -> tuple[float, float]:
    """Unix times of the current UTC day's and month's start."""
    moment = datetime.fromtimestamp(now, UTC)
    day = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    return day.timestamp(), day.replace(day=1).timestamp()


@dataclass(frozen=True, slots=True, order=True)
class Limit:
    """One budget a request falls under: a key's or tenant's spend per UTC day or month."""

    scope: str  # "key" or "tenant"
    name: str
    period: str  # "day" or "month"
    usd: float


@dataclass(frozen=True, slots=True)
class Reservation:
    """An admitted request's hold: settle it exactly once when the request ends."""

    request_id: str
    limits: tuple[Limit, ...]
    day_start: float
    month_start: float
    amount: float

    def start(self, limit: Limit) -> float:
        """The start of the period ``limit`` counts in."""
        return self.day_start if limit.period == "day" else self.month_start


class _Database:
    """One connection per thread; each ``transaction()`` is explicit and short."""

    def __init__(self, url: str):
        self.url = url
        self.postgres = url.startswith(("postgresql://", "postgres://"))
        self._local = threading.local()
        self._all: list[Any] = []
        self._lock = threading.Lock()
        if self.postgres:
            import psycopg

            self._errors: tuple[type[Exception], ...] = (psycopg.Error,)
        else:
            self._path = sqlite_path(url)
            self._errors = (sqlite3.Error,)

    def sql(self, statement: str) -> str:
        """The statement in this database's placeholder style."""
        return statement.replace("?", "%s") if self.postgres else statement

    @property
    def lock_rows(self) -> str:
        """The clause that locks the selected rows (SQLite's whole-database lock suffices)."""
        return " FOR UPDATE" if self.postgres else ""

    def _connect(self) -> Any:
        if self.postgres:
            import psycopg

            return psycopg.connect(self.url, autocommit=True, connect_timeout=10)
        conn = sqlite3.connect(self._path, timeout=30, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")  # as the ledger: durable unless power fails
        return conn

    def _conn(self) -> Any:
        conn = getattr(self._local, "conn", None)
        if conn is None or (self.postgres and conn.closed):
            conn = self._connect()
            self._local.conn = conn
            with self._lock:
                self._all.append(conn)
        return conn

    @contextmanager
    def transaction(self, *, durable: bool = True) -> Iterator[Any]:
        """A cursor inside one transaction; database errors become ``Unavailable``.

        ``durable=False`` lets PostgreSQL acknowledge the commit before its WAL reaches disk: a
        database crash may forget the last fraction of a second of such transactions.
        """
        try:
            conn = self._conn()
            if self.postgres:
                with conn.transaction(), conn.cursor() as cur:
                    if not durable:
                        cur.execute("SET LOCAL synchronous_commit TO OFF")
                    yield cur
                return
            cur = conn.cursor()
            cur.execute("BEGIN IMMEDIATE")
            try:
                yield cur
            except BaseException:
                cur.execute("ROLLBACK")
                raise
            cur.execute("COMMIT")
        except self._errors as exc:
            self._local.conn = None  # a broken connection is reopened next time
            raise Unavailable(f"the budget store is unavailable: {exc}") from exc

    def close(self) -> None:
        """Close every thread's connection."""
        with self._lock:
            for conn in self._all:
                conn.close()
            self._all.clear()
        self._local = threading.local()


class BudgetBook:
    """Holds and settled spend per budget, in the ledger's database (migration 003)."""

    def __init__(self, url: str, *, hold_ttl_s: float, clock: Callable[[], float] = time.time):
        self._db = _Database(url)
        self._ttl = hold_ttl_s
        self._clock = clock
        self._swept = 0.0
        sql, lock = self._db.sql, self._db.lock_rows
        self._select = sql(_SELECT + lock)
        self._seed = {
            s: sql(_SEED.format(column=c)) for s, c in (("key", "key_id"), ("tenant", "tenant"))
        }
        self._held = {p: sql(_HELD.format(period=p)) for p in _LABEL}
        self._hold, self._add = sql(_HOLD), sql(_ADD)
        self._release, self._sweep = sql(_RELEASE), sql(_SWEEP)

    def reserve(self, request_id: str, limits: Sequence[Limit], amount: float) -> Reservation:
        """Hold ``amount`` USD against every limit, or raise BudgetExceeded (nothing held)."""
        now = self._clock()
        day, month = period_starts(now)
        held = Reservation(request_id, tuple(sorted(limits)), day, month, amount)
        # Holds are short-lived and on the request path: not waiting for the disk saves a flush
        # per request; a database crash could forget the newest holds (see docs/limits.md).
        with self._db.transaction(durable=False) as cur:
            if now - self._swept > 60:
                self._swept = now
                cur.execute(self._sweep, (now,))
            for limit in held.limits:  # sorted: every replica locks counters in one order
                start = held.start(limit)
                spent = self._counter(cur, limit, start)
                # A statement of its own, after the lock: under READ COMMITTED it then sees
                # every hold committed by whoever held the lock before us.
                cur.execute(self._held[limit.period], (limit.scope, limit.name, start, now))
                pending = float(cur.fetchone()[0])
                if spent + pending >= limit.usd:
                    raise _refusal(limit, spent, pending, amount, now)
            for scope, name in dict.fromkeys((x.scope, x.name) for x in held.limits):
                cur.execute(
                    self._hold, (request_id, scope, name, day, month, amount, now + self._ttl)
                )
        return held

    def settle(self, held: Reservation, cost: float) -> None:
        """Drop the request's hold and add what it actually cost, in one transaction."""
        with self._db.transaction() as cur:
            cur.execute(self._release, (held.request_id,))
            if cost:
                for limit in held.limits:
                    params = (cost, limit.scope, limit.name, limit.period, held.start(limit))
                    cur.execute(self._add, params)

    def charge(self, limits: Sequence[Limit], cost: float, when: float) -> None:
        """Add spend that was never held (shadow copies: counted, never refused)."""
        if not cost:
            return
        day, month = period_starts(when)
        with self._db.transaction() as cur:
            for limit in sorted(limits):
                start = day if limit.period == "day" else month
                self._counter(cur, limit, start)
                cur.execute(self._add, (cost, limit.scope, limit.name, limit.period, start))

    def _counter(self, cur: Any, limit: Limit, start: float) -> float:
        """The settled spend of one budget period, locked; a new period starts from the ledger."""
        key = (limit.scope, limit.name, limit.period, start)
        cur.execute(self._select, key)
        found = cur.fetchone()
        if found is None:
            cur.execute(self._seed[limit.scope], (*key, limit.name, start))
            cur.execute(self._select, key)
            found = cur.fetchone()
        return float(found[0])

    def close(self) -> None:
        """Release connections."""
        self._db.close()


def period_end(period: str, now: float) -> float:
    """Unix time at which the UTC day or month containing ``now`` ends."""
    day, month = period_starts(now)
    if period == "day":
        return day + 86_400
    start = datetime.fromtimestamp(month, UTC)
    following = start.replace(year=start.year + start.month // 12, month=start.month % 12 + 1)
    return following.timestamp()


def _refusal(
    limit: Limit, spent: float, pending: float, amount: float, now: float
) -> BudgetExceeded:
    # Spent alone at the limit: nothing frees it before the period ends. Otherwise requests in
    # flight hold the rest, and settling usually returns part of their holds within seconds.
    wait = period_end(limit.period, now) - now if spent >= limit.usd else 1.0
    return BudgetExceeded(
        f"Budget exceeded: {limit.scope} '{limit.name}' has a {_LABEL[limit.period]} budget of "
        f"${limit.usd:g}; ${spent:.6f} is spent and ${pending:.6f} is held by requests in "
        f"flight (this request could cost up to ${amount:.6f}).",
        retry_after=wait,
    )
