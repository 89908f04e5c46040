"""Writes ledger rows off the request path, in batches, from one background thread.

The request path only appends to a queue. The writer drains it at least every
``flush_interval_s``; a failed batch is kept and retried, and rows that still cannot be
written at shutdown are dumped to a JSON-lines file next to the ledger, so none is lost.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

import orjson

from parity.store.base import Ledger, LedgerRow

__all__ = ["LedgerWriter"]

log = logging.getLogger("parity.ledger")
_STOP = object()


class LedgerWriter:
    """A queue in front of a Ledger, flushed by one thread."""

    def __init__(
        self,
        ledger: Ledger,
        *,
        batch_size: int = 500,
        flush_interval_s: float = 0.25,
        spill_dir: Path | None = None,
    ):
        self.ledger = ledger
        self._batch_size = batch_size
        self._interval = flush_interval_s
        self._spill_dir = spill_dir or Path.home() / ".parity"
        self._queue: queue.SimpleQueue[LedgerRow | object] = queue.SimpleQueue()
        self._pending: list[LedgerRow] = []
        self._thread = threading.Thread(target=self._run, name="parity-ledger", daemon=True)
        self.written = 0
        self.failures = 0  # consecutive failed writes (reset by a good one)
        self.failed_batches = 0  # every failed write since start, for /metrics
        self.spilled = 0  # rows saved to a spill file instead of the ledger
        self._started = False
        self._listeners: list[Callable[[list[LedgerRow]], None]] = []

    def on_written(self, listener: Callable[[list[LedgerRow]], None]) -> None:
        """Call ``listener`` (on the writer thread) with each batch once it is in the ledger."""
        self._listeners.append(listener)

    def start(self) -> None:
        """Start the writer thread."""
        if not self._started:
            self._thread.start()
            self._started = True

    def submit(self, row: LedgerRow) -> None:
        """Queue one row; never blocks, never raises."""
        self._queue.put(row)

    @property
    def depth(self) -> int:
        """Rows queued or pending that are not in the ledger yet (approximate, for metrics)."""
        return self._queue.qsize() + len(self._pending)

    def close(self, timeout: float = 30.0) -> None:
        """Write everything queued, then stop the thread."""
        if self._started:
            self._queue.put(_STOP)
            self._thread.join(timeout)
            self._started = False
        else:
            self._final_drain()

    def _drain_into_pending(self) -> bool:
        """Move queued rows into the pending batch; True when the stop marker was seen."""
        stop = False
        while len(self._pending) < self._batch_size:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is _STOP:
                stop = True
                continue
            assert isinstance(item, LedgerRow)
            self._pending.append(item)
        return stop

    def _run(self) -> None:
        stop = False
        while not stop:
            if not self._pending:  # after a failed write, retry before taking more rows
                try:
                    item = self._queue.get(timeout=self._interval)
                except queue.Empty:
                    continue
                if item is _STOP:
                    stop = True
                elif isinstance(item, LedgerRow):
                    self._pending.append(item)
                if not stop:
                    stop = self._gather(time.monotonic() + self._interval)
            stop = self._drain_into_pending() or stop
            self._flush(final=False)
        self._final_drain()

    def _gather(self, deadline: float) -> bool:
        """Collect rows until the batch is full or the interval is over; True at the stop mark.

        Waiting for the interval makes one transaction of many rows under load, instead of
        one tiny commit per wake-up competing with the request path for the GIL; draining
        with get_nowait between short sleeps avoids a timed lock wait per row.
        """
        while len(self._pending) < self._batch_size:
            if self._drain_into_pending():
                return True
            left = deadline - time.monotonic()
            if left <= 0 or len(self._pending) >= self._batch_size:
                return False
            time.sleep(min(left, 0.02))
        return False

    def _final_drain(self) -> None:
        """Write (or spill) everything still queued."""
        while True:
            self._drain_into_pending()
            if not self._pending:
                return
            self._flush(final=True)

    def _flush(self, *, final: bool) -> bool:
        """Write the pending batch; True when it was written (or empty)."""
        if not self._pending:
            return True
        batch = self._pending
        try:
            self.ledger.record(batch)
        except Exception as exc:
            self.failures += 1
            self.failed_batches += 1
            log.error("ledger write of %d rows failed (%s); will retry", len(batch), exc)
            if final:
                self._spill(batch)
                self._pending = []
                return False
            time.sleep(min(5.0, 0.1 * 2 ** min(self.failures, 6)))
            return False
        self.failures = 0
        self.written += len(batch)
        self._pending = []
        for listener in self._listeners:
            try:
                listener(batch)
            except Exception:  # a listener must never stop rows being written
                log.exception("a ledger write listener failed")
        return True

    def _spill(self, rows: list[LedgerRow]) -> None:
        """Last resort at shutdown: keep unwritable rows in a JSON-lines file."""
        self._spill_dir.mkdir(parents=True, exist_ok=True)
        path = self._spill_dir / f"ledger-unwritten-{int(time.time())}.jsonl"
        with path.open("ab") as out:
            for row in rows:
                data = asdict(row)
                if row.request_body is not None:
                    data["request_body"] = row.request_body.decode("utf-8", "replace")
                out.write(orjson.dumps(data) + b"\n")
        self.spilled += len(rows)
        log.error("%d ledger rows could not be written; saved to %s", len(rows), path)
