"""The budget book on its own, on SQLite and on the real PostgreSQL: holds, refusals, lapses.

The gateway tests in test_budgets.py show the bound end to end; these pin the counter rows:
the holds' total kept on each row, what a refusal leaves behind (nothing), what a sweep does
with lapsed holds and drifted totals, and the bound under two books (replicas) in parallel.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest

from parity.errors import BudgetExceeded
from parity.store.budgets import BudgetBook, Limit, period_starts
from parity.store.factory import open_ledger
from parity.store.sqlite import sqlite_path
from tests.limits.helpers import key_id, query
from tests.store.test_ledger import make_row


@pytest.fixture(params=["sqlite", "postgres"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated ledger database of either kind, of this test's own."""
    if request.param == "sqlite":
        found = f"sqlite:///{tmp_path / 'ledger.db'}"
    else:
        found = str(request.getfixturevalue("fresh_postgres_url"))
    open_ledger(found).close()
    return found


def state(url: str, limit: Limit, now: float | None = None) -> tuple[float, float]:
    """(spent, held) of the limit's current period."""
    day, month = period_starts(time.time() if now is None else now)
    rows = query(
        url,
        "SELECT spent_usd, held_usd FROM budget_spend"
        " WHERE scope = ? AND name = ? AND period = ? AND period_start = ?",
        (limit.scope, limit.name, limit.period, day if limit.period == "day" else month),
    )
    assert len(rows) == 1, rows
    return round(float(rows[0][0]), 9), round(float(rows[0][1]), 9)


def execute(url: str, statement: str, params: tuple[object, ...] = ()) -> None:
    """One change to the database (``?`` placeholders), committed."""
    if url.startswith("sqlite:///"):
        with sqlite3.connect(sqlite_path(url)) as conn:
            conn.execute(statement, params)
        return
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(statement.replace("?", "%s"), params)


def holds(url: str, request_id: str) -> int:
    return int(
        query(url, "SELECT COUNT(*) FROM budget_holds WHERE request_id = ?", (request_id,))[0][0]
    )


def test_a_hold_is_counted_on_its_row_then_becomes_the_actual_cost(url: str) -> None:
    limit = Limit("key", key_id("k"), "day", 1.0)
    book = BudgetBook(url, hold_ttl_s=600)
    held = book.reserve("r1", [limit], 0.3)
    assert state(url, limit) == (0.0, 0.3)
    assert holds(url, "r1") == 1
    book.settle(held, 0.1)
    assert state(url, limit) == (0.1, 0.0)
    assert holds(url, "r1") == 0
    book.close()


def test_a_refusal_holds_nothing_on_any_budget(url: str) -> None:
    name = key_id("k")
    key, tenant = Limit("key", name, "day", 1.0), Limit("tenant", name, "month", 0.5)
    book = BudgetBook(url, hold_ttl_s=600)
    book.reserve("a", [key, tenant], 0.3)
    book.reserve("b", [key, tenant], 0.3)  # 0.3 held of 0.5 < 0.5: admitted, may reach 0.6
    with pytest.raises(BudgetExceeded) as refused:
        book.reserve("c", [key, tenant], 0.3)
    assert f"tenant '{name}' has a monthly budget of $0.5" in refused.value.message
    assert "$0.600000 is held" in refused.value.message
    assert refused.value.retry_after == 1.0  # only holds are in the way: they settle soon
    # the key's counter was raised before the tenant's refused; the rollback undid it
    assert state(url, key) == (0.0, 0.6) and state(url, tenant) == (0.0, 0.6)
    assert holds(url, "c") == 0
    book.close()


def test_holds_settled_in_another_order_leave_no_crumbs(url: str) -> None:
    assert 0.1 + 0.2 + 0.7 - 0.1 - 0.7 - 0.2 > 0  # floats: added and taken off, not zero
    limit = Limit("key", key_id("k"), "day", 2.0)
    book = BudgetBook(url, hold_ttl_s=600)
    held = {n: book.reserve(f"{limit.name}-{n}", [limit], n / 10) for n in (1, 2, 7)}
    for n in (1, 7, 2):
        book.settle(held[n], 0.0)
    raw = query(url, "SELECT held_usd FROM budget_spend WHERE name = ?", (limit.name,))
    # a crumb would refuse a request whose spend sits exactly at the limit
    assert float(raw[0][0]) == 0.0
    book.close()


def test_a_spent_budget_waits_for_the_period_to_end(url: str) -> None:
    limit = Limit("key", key_id("k"), "day", 0.2)
    book = BudgetBook(url, hold_ttl_s=600)
    book.settle(book.reserve("a", [limit], 0.1), 0.25)
    with pytest.raises(BudgetExceeded) as refused:
        book.reserve("b", [limit], 0.1)
    day, _ = period_starts(time.time())
    assert refused.value.retry_after is not None
    assert abs(refused.value.retry_after - (day + 86_400 - time.time())) < 60
    book.close()


def test_a_lapsed_hold_stops_counting_at_the_next_sweep(url: str) -> None:
    limit = Limit("key", key_id("k"), "day", 1.0)
    now = [time.time()]
    book = BudgetBook(url, hold_ttl_s=10, clock=lambda: now[0])
    lapsing = book.reserve("crashed", [limit], 0.4)
    now[0] += 5
    book.reserve("alive", [limit], 0.2)
    now[0] += 6  # the first replica died; its hold outlives its ttl, the second's does not
    book.sweep()
    assert state(url, limit, now[0]) == (0.0, 0.2)
    assert holds(url, "crashed") == 0
    book.settle(lapsing, 0.05)  # it answered after all: its cost counts, its hold is gone
    assert state(url, limit, now[0]) == (0.05, 0.2)
    book.close()


def test_a_sweep_recounts_a_drifted_total_from_the_holds(url: str) -> None:
    limit = Limit("key", key_id("k"), "day", 1.0)
    book = BudgetBook(url, hold_ttl_s=600)
    book.reserve("a", [limit], 0.25)
    execute(url, "UPDATE budget_spend SET held_usd = 7 WHERE name = ?", (limit.name,))
    book.sweep()
    assert state(url, limit) == (0.0, 0.25)
    book.close()


def test_a_new_period_starts_from_what_the_ledger_already_holds(url: str) -> None:
    name = key_id("k")
    ledger = open_ledger(url)
    now = time.time()
    ledger.record(
        [make_row(n, request_id=f"{name}-{n}", ts=now, key_id=name, cost_usd=0.1) for n in range(3)]
    )
    ledger.close()
    limit = Limit("key", name, "day", 1.0)
    book = BudgetBook(url, hold_ttl_s=600)
    book.reserve("a", [limit], 0.05)
    assert state(url, limit) == (0.3, 0.05)
    book.close()


def test_migration_004_counts_the_holds_already_open(url: str) -> None:
    limit = Limit("tenant", key_id("t"), "month", 5.0)
    book = BudgetBook(url, hold_ttl_s=600)
    book.reserve("a", [limit], 0.5)
    book.reserve("b", [limit], 0.7)
    book.close()
    # back to the schema of migration 003, holds still open
    execute(url, "ALTER TABLE budget_spend DROP COLUMN held_usd")
    execute(url, "DELETE FROM parity_migrations WHERE name = '004_budget_held_total'")
    open_ledger(url).close()
    assert state(url, limit) == (0.0, 1.2)


def test_two_books_in_parallel_overspend_by_less_than_one_hold(url: str) -> None:
    limit, hold = Limit("key", key_id("k"), "day", 0.5), 0.01
    books = [BudgetBook(url, hold_ttl_s=600) for _ in range(2)]  # two replicas
    admitted: list[int] = []
    lock = threading.Lock()

    def spend(worker: int) -> None:
        book, mine = books[worker % 2], 0
        for n in range(200):
            try:
                held = book.reserve(f"w{worker}-{n}-{limit.name}", [limit], hold)
            except BudgetExceeded:
                break
            book.settle(held, hold)  # each request costs exactly its hold
            mine += 1
        with lock:
            admitted.append(mine)

    try:
        threads = [threading.Thread(target=spend, args=(w,)) for w in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()  # pytest's timeout catches a hang; a timed-out join would read a half
        assert len(admitted) == len(threads)  # every worker ended normally
        spent, held = state(url, limit)
        assert held == 0.0
        assert spent == round(sum(admitted) * hold, 9)
        assert limit.usd <= spent < limit.usd + hold  # used up, and over by less than one hold
    finally:
        for book in books:  # also on failure: a leaked connection fails a later test at its GC
            book.close()


def _waiting_on_a_lock(url: str, count: int) -> bool:
    rows = query(url, "SELECT COUNT(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'")
    return int(rows[0][0]) >= count


def _until(check: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.02)
    return False


def test_a_sweep_never_writes_back_a_hold_settled_while_it_waited(fresh_postgres_url: str) -> None:
    """The PostgreSQL race behind a flaky 'held 0.01 == 0.0' with two books in parallel.

    A sweep locks the current counters, then recounts. A counter created after its locking
    SELECT began is not locked; recounting it would wait for a settle in flight and then, under
    READ COMMITTED, re-check the row with the statement's old snapshot, in which the settled
    hold still exists: the hold came back for good. Here each step is forced in that order.
    """
    url = fresh_postgres_url
    open_ledger(url).close()
    book = BudgetBook(url, hold_ttl_s=600)
    other, fresh = Limit("key", key_id("d"), "day", 1.0), Limit("key", key_id("c"), "day", 1.0)
    book.settle(book.reserve("d1", [other], 0.01), 0.01)  # a counter that exists already
    blocker = psycopg.connect(url)
    settler = psycopg.connect(url)
    sweeper = threading.Thread(target=book.sweep)
    try:
        # 1. the sweep's locking SELECT waits on the existing counter
        blocker.execute("SELECT 1 FROM budget_spend WHERE name = %s FOR UPDATE", (other.name,))
        sweeper.start()
        assert _until(lambda: _waiting_on_a_lock(url, 1))
        # 2. meanwhile a request creates the fresh counter and holds on it
        held = book.reserve("c1", [fresh], 0.01)
        assert state(url, fresh) == (0.0, 0.01)
        # 3. its settle is in flight: the hold row gone, the counter locked, not committed
        settler.execute("DELETE FROM budget_holds WHERE request_id = %s", (held.request_id,))
        settler.execute(
            "UPDATE budget_spend SET spent_usd = spent_usd + 0.01, held_usd = held_usd - 0.01"
            " WHERE name = %s",
            (fresh.name,),
        )
        # 4. the sweep goes on: it must not touch the counter it never locked
        blocker.rollback()
        _until(lambda: not sweeper.is_alive() or _waiting_on_a_lock(url, 1), timeout=2)
        settler.commit()
        sweeper.join(30)
        assert not sweeper.is_alive()
        assert state(url, fresh) == (0.01, 0.0)
        assert state(url, other) == (0.01, 0.0)
        book.sweep()  # and a later sweep, which locks it, agrees
        assert state(url, fresh) == (0.01, 0.0)
    finally:
        blocker.close()
        settler.close()
        book.close()
