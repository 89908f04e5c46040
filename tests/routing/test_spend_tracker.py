"""The spend tracker never forgets this replica's own spend when it re-reads the ledger.

A refresh reads totals from the ledger in a thread while requests keep being answered, and the
ledger writer flushes rows in batches. Spend the ledger does not hold yet (queued rows, rows
answered during the read) must survive the refresh, or a spent budget looks unspent again.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

from parity.config.routing import Budgets
from parity.routing.budget import SpendTracker
from parity.store.base import LedgerRow
from parity.store.factory import open_ledger
from parity.store.writer import LedgerWriter
from tests.store.test_writer import FlakyLedger

BUDGETS = Budgets.model_validate(
    {"keys": {"team": {"daily_usd": 1.0}}, "tenants": {"acme": {"monthly_usd": 9.0}}}
)


def row(n: int, cost: float, key: str = "team", tenant: str = "acme") -> LedgerRow:
    return LedgerRow(f"r{n}", time.time(), "parity/auto", 200, 1.0, key, tenant, cost_usd=cost)


class SlowLedger(FlakyLedger):
    """Answers spend() from the rows it holds, after ``gate`` opens (when one is set)."""

    def __init__(self) -> None:
        super().__init__(failures=0)
        self.gate: threading.Event | None = None
        self.reading = threading.Event()

    def spend(self, *, since: float, key_id: str | None = None, tenant: str | None = None) -> float:
        self.reading.set()
        if self.gate is not None:
            assert self.gate.wait(5)
        with self.lock:
            rows = [r for b in self.batches for r in b]
        return sum(
            r.cost_usd or 0.0
            for r in rows
            if r.ts >= since
            and (key_id is None or r.key_id == key_id)
            and (tenant is None or r.tenant == tenant)
        )


def test_queued_rows_survive_a_refresh_and_count_once_when_written() -> None:
    ledger = SlowLedger()
    writer = LedgerWriter(ledger)  # not started: rows stay queued until we say
    tracker = SpendTracker(BUDGETS, None)
    tracker.bind(ledger, writer)
    queued = row(1, 0.4)
    tracker.add(queued)
    writer.submit(queued)
    tracker.refresh()  # the ledger does not hold the row yet
    assert tracker.spent("key", "team")[0] == 0.4
    writer.close()  # writes it, and tells the tracker
    assert ledger.count() == 1
    tracker.refresh()
    assert tracker.spent("key", "team") == (0.4, 0.4)
    assert tracker.spent("tenant", "acme")[0] == 0.4


def answer_mid_read(written_before_the_read_ends: bool) -> tuple[SpendTracker, LedgerWriter]:
    """Refresh while a request is answered (and maybe written) in the middle of the read."""
    ledger = SlowLedger()
    ledger.gate = threading.Event()
    writer = LedgerWriter(ledger)  # not started: close() writes what is queued
    tracker = SpendTracker(BUDGETS, None)
    tracker.bind(ledger, writer)
    refresh = threading.Thread(target=tracker.refresh)
    refresh.start()
    assert ledger.reading.wait(5)
    answered = row(2, 0.7)
    tracker.add(answered)
    writer.submit(answered)
    if written_before_the_read_ends:
        writer.close()
    ledger.gate.set()
    refresh.join(5)
    assert not refresh.is_alive()
    return tracker, writer


def test_spend_added_while_the_ledger_is_read_is_kept() -> None:
    tracker, writer = answer_mid_read(written_before_the_read_ends=False)
    assert tracker.spent("key", "team")[0] == 0.7
    writer.close()
    tracker.refresh()
    assert tracker.spent("key", "team")[0] == 0.7


def test_a_row_written_during_the_read_counts_at_most_twice_until_the_next_refresh() -> None:
    tracker, _ = answer_mid_read(written_before_the_read_ends=True)
    assert tracker.spent("key", "team")[0] == 1.4  # errs toward refusing early
    tracker.refresh()
    assert tracker.spent("key", "team")[0] == 0.7


def test_without_a_writer_a_refresh_takes_the_ledger_at_its_word() -> None:
    ledger = SlowLedger()
    tracker = SpendTracker(BUDGETS, ledger)
    tracker.add(row(4, 0.5))
    assert tracker.spent("key", "team")[0] == 0.5
    tracker.refresh()
    assert tracker.spent("key", "team")[0] == 0.0


def test_spend_never_drops_below_what_was_answered_under_a_real_writer(tmp_path: Path) -> None:
    ledger = open_ledger(f"sqlite:///{tmp_path / 'ledger.db'}")
    writer = LedgerWriter(ledger, batch_size=7, flush_interval_s=0.005)
    writer.start()
    tracker = SpendTracker(BUDGETS, ledger)
    tracker.bind(ledger, writer)
    stop = threading.Event()
    lowest_gap: list[float] = []
    answered = [0.0]

    def refresher() -> None:
        while not stop.is_set():
            tracker.refresh()

    thread = threading.Thread(target=refresher)
    thread.start()
    try:
        for n in range(300):
            r = row(n, 0.001)
            tracker.add(r)
            writer.submit(r)
            answered[0] += 0.001
            time.sleep(0.001)  # let refreshes and flushes interleave with the requests
            lowest_gap.append(tracker.spent("key", "team")[0] - answered[0])
    finally:
        stop.set()
        thread.join(10)
        writer.close()
    assert min(lowest_gap) > -1e-9  # never below the spend already answered
    tracker.refresh()
    assert abs(tracker.spent("key", "team")[0] - 0.3) < 1e-9
    ledger.close()
