"""Budget enforcement in the ledger database: holds on requests in flight, settled spend.

Before a budgeted request goes upstream it holds its worst-case cost; it is admitted only while
``spent + open holds < limit`` for every budget it falls under. When it ends, one transaction
drops the hold and adds the actual cost. Each budget period has one counter row that carries
both totals (``spent_usd``, ``held_usd``), so admitting a request is one conditional
``UPDATE ... SET held_usd = held_usd + hold WHERE spent_usd + held_usd < limit`` per budget:
SQLite serialises these transactions with ``BEGIN IMMEDIATE``; PostgreSQL locks each counter
row for the rest of the transaction, always in the same order, so replicas sharing the database
admit against one total and never deadlock.

Each hold also has its own row in ``budget_holds``, with an expiry. About once a minute each
replica drops lapsed holds (a crashed replica's) and recounts every current counter's
``held_usd`` from the holds that remain, which also clears any drift. The overspend bound this
gives is argued in docs/limits.md.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from parity.errors import BudgetExceeded, Unavailable
from parity.store.connections import PerThread
from parity.store.sqlite import sqlite_path

__all__ = ["BudgetBook", "Limit", "Reservation", "period_end", "period_starts"]

_LABEL = {"day": "daily", "month": "monthly"}
_SWEEP_EVERY_S = 60.0
_COUNTER = "scope = ? AND name = ? AND period = ? AND period_start = ?"
_STATE = f"SELECT spent_usd, held_usd FROM budget_spend WHERE {_COUNTER}"
_SEED = (
    "INSERT INTO budget_spend (scope, name, period, period_start, spent_usd)"
    " SELECT ?, ?, ?, ?, COALESCE(SUM(cost_usd), 0) FROM requests WHERE {column} = ? AND ts >= ?"
    " ON CONFLICT (scope, name, period, period_start) DO NOTHING"
)
# The admission itself: no row comes back when the budget is used up (or not seeded yet).
_ADMIT = (
    f"UPDATE budget_spend SET held_usd = held_usd + ? WHERE {_COUNTER}"
    " AND spent_usd + held_usd < ? RETURNING spent_usd"
)
_TAKE = f"UPDATE budget_spend SET held_usd = held_usd + ? WHERE {_COUNTER}"
_HOLD = (
    "INSERT INTO budget_holds"
    " (request_id, scope, name, day_start, month_start, amount_usd, expires_at)"
    " VALUES (?, ?, ?, ?, ?, ?, ?)"
)
# Adding and taking off the same float amounts in another order leaves crumbs (~1e-18) that
# would refuse a request sitting exactly at the limit; a total below a nano-cent is no hold.
_SETTLE = (
    "UPDATE budget_spend SET spent_usd = spent_usd + ?,"
    " held_usd = CASE WHEN held_usd - ? > 1e-11 THEN held_usd - ? ELSE 0 END"
    f" WHERE {_COUNTER}"
)
_ADD = f"UPDATE budget_spend SET spent_usd = spent_usd + ? WHERE {_COUNTER}"
_RELEASE = "DELETE FROM budget_holds WHERE request_id = ? RETURNING scope"
_EXPIRE = "DELETE FROM budget_holds WHERE expires_at <= ?"
_LOCK_CURRENT = (
    "SELECT scope, name, period, period_start FROM budget_spend WHERE period_start IN (?, ?)"
    " ORDER BY scope, name, period, period_start"
)
# One counter at a time, and only the counters the sweep holds locked: see sweep().
_RECOUNT = (
    "UPDATE budget_spend SET held_usd = COALESCE((SELECT SUM(h.amount_usd) FROM budget_holds h"
    " WHERE h.scope = budget_spend.scope AND h.name = budget_spend.name"
    " AND (CASE budget_spend.period WHEN 'day' THEN h.day_start ELSE h.month_start END)"
    " = budget_spend.period_start), 0)"
    f" WHERE {_COUNTER}"
)


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
        self._conns: PerThread[Any] = PerThread(self._connect, self._usable)
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
        # used by this thread only, but close() may run on another
        conn = sqlite3.connect(
            self._path, timeout=30, isolation_level=None, check_same_thread=False
        )
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")  # as the ledger: durable unless power fails
        return conn

    def _usable(self, conn: Any) -> bool:
        return not (self.postgres and conn.closed)

    @contextmanager
    def transaction(self, *, durable: bool = True) -> Iterator[Any]:
        """A cursor inside one transaction; database errors become ``Unavailable``.

        ``durable=False`` lets PostgreSQL acknowledge the commit before its WAL reaches disk: a
        database crash may forget the last fraction of a second of such transactions.
        """
        try:
            conn = self._conns.get()
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
            self._conns.drop()  # a broken connection is reopened next time
            raise Unavailable(f"the budget store is unavailable: {exc}") from exc

    def close(self) -> None:
        """Close every thread's connection."""
        self._conns.close()


class BudgetBook:
    """Holds and settled spend per budget, in the ledger's database (migrations 003 and 004)."""

    def __init__(self, url: str, *, hold_ttl_s: float, clock: Callable[[], float] = time.time):
        self._db = _Database(url)
        self._ttl = hold_ttl_s
        self._clock = clock
        self._swept = 0.0
        sql, lock = self._db.sql, self._db.lock_rows
        self._state = sql(_STATE + lock)
        self._seed = {
            s: sql(_SEED.format(column=c)) for s, c in (("key", "key_id"), ("tenant", "tenant"))
        }
        self._admit, self._take, self._hold = sql(_ADMIT), sql(_TAKE), sql(_HOLD)
        self._settle, self._add = sql(_SETTLE), sql(_ADD)
        self._release, self._expire = sql(_RELEASE), sql(_EXPIRE)
        self._lock_current, self._recount = sql(_LOCK_CURRENT + lock), sql(_RECOUNT)

    def reserve(self, request_id: str, limits: Sequence[Limit], amount: float) -> Reservation:
        """Hold ``amount`` USD against every limit, or raise BudgetExceeded (nothing held)."""
        now = self._clock()
        if now - self._swept > _SWEEP_EVERY_S:
            self.sweep(now)
        day, month = period_starts(now)
        held = Reservation(request_id, tuple(sorted(limits)), day, month, amount)
        # Holds are short-lived and on the request path: not waiting for the disk saves a flush
        # per request; a database crash could forget the newest holds (see docs/limits.md).
        with self._db.transaction(durable=False) as cur:
            # The hold rows first: no lock on a counter is taken before them, by anyone.
            for scope, name in dict.fromkeys((x.scope, x.name) for x in held.limits):
                cur.execute(
                    self._hold, (request_id, scope, name, day, month, amount, now + self._ttl)
                )
            for limit in held.limits:  # sorted: every replica locks counters in one order
                key = (limit.scope, limit.name, limit.period, held.start(limit))
                cur.execute(self._admit, (amount, *key, limit.usd))
                if cur.fetchone() is not None:
                    continue
                # Refused, or a new period without a counter yet: look under the lock.
                spent, pending = self._counter(cur, limit, key[3])
                if spent + pending >= limit.usd:
                    raise _refusal(limit, spent, pending, amount, now)
                cur.execute(self._take, (amount, *key))
        return held

    def settle(self, held: Reservation, cost: float) -> None:
        """Drop the request's hold and add what it actually cost, in one transaction."""
        with self._db.transaction() as cur:
            cur.execute(self._release, (held.request_id,))
            # A hold that lapsed was already dropped from the totals by a sweep.
            release = held.amount if cur.fetchall() else 0.0
            if cost or release:
                for limit in held.limits:
                    key = (limit.scope, limit.name, limit.period, held.start(limit))
                    cur.execute(self._settle, (cost, release, release, *key))

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

    def sweep(self, now: float | None = None) -> None:
        """Drop lapsed holds and recount the holds' total of every current budget period."""
        now = self._clock() if now is None else now
        self._swept = now
        day, month = period_starts(now)
        with self._db.transaction() as cur:
            cur.execute(self._expire, (now,))
            # Lock the counters (in the admissions' order), then count in statements of their
            # own: under READ COMMITTED they see every hold committed before the locks were ours.
            cur.execute(self._lock_current, (day, month))
            locked = [tuple(row) for row in cur.fetchall()]
            # Only those counters. One created after the locking SELECT began is not locked: a
            # recount of it could wait for a settle in flight and then, re-checking the row
            # with its old snapshot, write back the hold that settle had just removed (a hold
            # nobody would ever release). A new counter has no drift to clear anyway.
            if locked:
                cur.executemany(self._recount, locked)

    def _counter(self, cur: Any, limit: Limit, start: float) -> tuple[float, float]:
        """(spent, held) of one budget period, locked; a new period starts from the ledger."""
        key = (limit.scope, limit.name, limit.period, start)
        cur.execute(self._state, key)
        found = cur.fetchone()
        if found is None:
            cur.execute(self._seed[limit.scope], (*key, limit.name, start))
            cur.execute(self._state, key)
            found = cur.fetchone()
        return float(found[0]), float(found[1])

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
