"""canary_results (migration 007) on SQLite and PostgreSQL: written once, newest per deployment."""

from __future__ import annotations

from pathlib import Path

import pytest

from parity.store.base import LedgerRow, RowFilter
from parity.store.canary import CanaryResults, CanaryRow
from parity.store.factory import open_ledger


def _row(run: str, model: str, ts: float, status: str) -> CanaryRow:
    return CanaryRow(
        id=f"{run}:{model}", run_id=run, ts=ts, prompt_set="abc", source="set.jsonl",
        model=model, status=status, paired=20, failed=0, baseline_mean=1.0, mean_score=0.5,
        score_change=-0.5, worse_low=0.2, worse_high=0.7, version_change=None, summary="s",
    )  # fmt: skip


@pytest.fixture(params=["sqlite", "postgres"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'ledger.db'}"
    return str(request.getfixturevalue("fresh_postgres_url"))


def test_rows_round_trip_and_latest_is_per_deployment(url: str) -> None:
    open_ledger(url).close()
    store = CanaryResults(url)
    try:
        store.record([_row("r1", "a", 100.0, "baseline_recorded"), _row("r1", "b", 100.0, "x")])
        store.record([_row("r2", "a", 200.0, "regression")])
        assert [(r.model, r.status) for r in store.latest()] == [("a", "regression"), ("b", "x")]
        assert [r.run_id for r in store.history("a")] == ["r2", "r1"]
        assert store.history(limit=1)[0] == _row("r2", "a", 200.0, "regression")
    finally:
        store.close()


def test_requests_keep_the_upstreams_version_signals(url: str) -> None:
    ledger = open_ledger(url)
    try:
        row = LedgerRow(
            request_id="req-1", ts=1.0, model_requested="m", status=200, total_ms=1.0,
            upstream_model="gpt-5.4-2026-03-05", system_fingerprint="fp_123",
        )  # fmt: skip
        ledger.record([row])
        (back,) = ledger.rows(RowFilter(limit=1))
        assert (back.upstream_model, back.system_fingerprint) == ("gpt-5.4-2026-03-05", "fp_123")
    finally:
        ledger.close()
