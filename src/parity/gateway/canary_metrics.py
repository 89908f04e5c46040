"""The behaviour canary on /metrics: one gauge per deployment, read from the ledger at scrape.

`parity canary run` (from cron) and the canary inside `parity serve` both write their verdicts
to the ledger's canary_results table, so every replica's /metrics shows the same newest verdict
whoever ran it. The read is cached for ``ttl_s`` so a scrape costs one query at most that often.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from parity.errors import ParityError
from parity.store.canary import CanaryResults, CanaryRow

__all__ = ["CANARY_STATES", "CanaryCollector"]

CANARY_STATES = {
    "no_regression": 0,
    "improved": 0,
    "baseline_recorded": 0,
    "regression": 1,
    "could_not_measure": 2,
}
"""The value of parity_canary_status for each verdict."""


class CanaryCollector(Collector):
    """parity_canary_status, _score_change and _last_run_timestamp_seconds per deployment."""

    def __init__(self, ledger_url: str, ttl_s: float = 15.0):
        self._url = ledger_url
        self._ttl = ttl_s
        self._lock = threading.Lock()
        self._read_at = float("-inf")
        self._rows: list[CanaryRow] = []

    def _latest(self) -> list[CanaryRow]:
        with self._lock:
            if time.monotonic() - self._read_at >= self._ttl:
                store = CanaryResults(self._url)
                try:
                    self._rows = store.latest()
                except ParityError:  # ledger down or not migrated: show nothing, not stale zeros
                    self._rows = []
                finally:
                    store.close()
                self._read_at = time.monotonic()
            return self._rows

    def describe(self) -> Iterable[Metric]:
        return list(self._families())

    def collect(self) -> Iterable[Metric]:
        status, change, last = self._families()
        for row in self._latest():
            status.add_metric([row.model], CANARY_STATES.get(row.status, 2))
            if row.score_change is not None:
                change.add_metric([row.model], row.score_change)
            last.add_metric([row.model], row.ts)
        return [status, change, last]

    @staticmethod
    def _families() -> tuple[GaugeMetricFamily, GaugeMetricFamily, GaugeMetricFamily]:
        return (
            GaugeMetricFamily(
                "parity_canary_status",
                "Newest canary verdict per deployment: 0 no regression, 1 regression, "
                "2 could not measure.",
                labels=["model"],
            ),
            GaugeMetricFamily(
                "parity_canary_score_change",
                "Mean canary score now minus the baseline's, paired by prompt (0-1 scale).",
                labels=["model"],
            ),
            GaugeMetricFamily(
                "parity_canary_last_run_timestamp_seconds",
                "When the newest canary verdict per deployment was recorded.",
                labels=["model"],
            ),
        )
