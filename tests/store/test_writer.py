"""The writer batches rows off the request path and loses none, even when the ledger fails."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

import orjson

from parity.store.base import Feedback, LedgerRow, RowFilter, UsageRow
from parity.store.factory import open_ledger
from parity.store.writer import LedgerWriter
from tests.store.test_ledger import make_row


class FlakyLedger:
    """A ledger that fails its first ``failures`` writes, then stores in memory."""

    url = "memory://"

    def __init__(self, failures: int):
        self.failures = failures
        self.batches: list[list[LedgerRow]] = []
        self.lock = threading.Lock()

    def migrate(self) -> list[str]:
        return []

    def record(self, rows: Sequence[LedgerRow]) -> None:
        with self.lock:
            if self.failures > 0:
                self.failures -= 1
                raise OSError("disk on fire")
            self.batches.append(list(rows))

    def rows(self, where: RowFilter) -> list[LedgerRow]:
        return [r for b in self.batches for r in b][: where.limit]

    def add_feedback(self, feedback: Feedback) -> None:
        raise NotImplementedError

    def feedback(self, request_ids: Sequence[str]) -> dict[str, list[Feedback]]:
        return {}

    def row(self, request_id: str) -> LedgerRow | None:
        return None

    def usage(
        self, since: float | None = None, until: float | None = None, task: str | None = None
    ) -> list[UsageRow]:
        return []

    def spend(self, *, since: float, key_id: str | None = None, tenant: str | None = None) -> float:
        return 0.0

    def count(self) -> int:
        return sum(len(b) for b in self.batches)

    def close(self) -> None:
        pass


def test_rows_are_written_in_batches_and_flushed_on_close(tmp_path: Path) -> None:
    ledger = open_ledger(f"sqlite:///{tmp_path / 'l.db'}")
    writer = LedgerWriter(ledger, batch_size=100, flush_interval_s=0.05)
    writer.start()
    for n in range(1000):
        writer.submit(make_row(n))
    writer.close()
    assert ledger.count() == 1000
    assert writer.written == 1000
    ledger.close()


def test_a_failing_ledger_is_retried_without_losing_rows() -> None:
    ledger = FlakyLedger(failures=2)
    writer = LedgerWriter(ledger, batch_size=10, flush_interval_s=0.01)
    writer.start()
    for n in range(25):
        writer.submit(make_row(n))
    writer.close()
    assert ledger.count() == 25
    assert max(len(b) for b in ledger.batches) <= 10 + 1


def test_rows_that_cannot_be_written_at_shutdown_are_spilled(tmp_path: Path) -> None:
    ledger = FlakyLedger(failures=10_000)
    writer = LedgerWriter(ledger, batch_size=50, flush_interval_s=0.01, spill_dir=tmp_path)
    for n in range(7):
        writer.submit(make_row(n, request_body=b'{"a":1}'))
    writer.close()  # never started: close drains and writes synchronously
    [spill] = list(tmp_path.glob("ledger-unwritten-*.jsonl"))
    lines = [orjson.loads(line) for line in spill.read_bytes().splitlines()]
    assert [line["request_id"] for line in lines] == [f"req_{n}" for n in range(7)]
    assert lines[0]["request_body"] == '{"a":1}'


def test_listeners_hear_of_each_written_batch_and_cannot_stop_the_writes() -> None:
    ledger = FlakyLedger(failures=2)
    writer = LedgerWriter(ledger, batch_size=10, flush_interval_s=0.01)
    heard: list[str] = []

    def broken(rows: list[LedgerRow]) -> None:
        raise RuntimeError("listener bug")

    writer.on_written(broken)
    writer.on_written(lambda rows: heard.extend(r.request_id for r in rows))
    writer.start()
    for n in range(25):
        writer.submit(make_row(n))
    writer.close()
    assert ledger.count() == 25
    assert sorted(heard) == sorted(f"req_{n}" for n in range(25))  # once each, failures too
