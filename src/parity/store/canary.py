"""Canary results in the ledger's database (migration 007): one row per deployment per run.

The CLI, the in-process canary of ``parity serve``, ``/metrics`` and the dashboard all read and
write through this one module. Rows are plain values; the evaluation layer builds them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, fields
from typing import Any

from parity.store.database import Database

__all__ = ["CanaryResults", "CanaryRow"]


@dataclass(frozen=True, slots=True)
class CanaryRow:
    """One deployment's canary verdict from one run."""

    id: str
    run_id: str
    ts: float
    prompt_set: str
    source: str
    model: str
    status: str
    paired: int
    failed: int
    baseline_mean: float | None
    mean_score: float | None
    score_change: float | None
    worse_low: float | None
    worse_high: float | None
    version_change: str | None
    summary: str


_COLUMNS = tuple(f.name for f in fields(CanaryRow))
_SELECT = f"SELECT {', '.join(_COLUMNS)} FROM canary_results"


def _row(values: Iterable[Any]) -> CanaryRow:
    return CanaryRow(*values)


class CanaryResults:
    """Write and read canary rows; the tables must exist (``open_ledger`` migrates them)."""

    def __init__(self, url: str):
        self._db = Database(url)

    def record(self, rows: Iterable[CanaryRow]) -> None:
        """Store one run's rows (each in its own statement; ids are run id + model)."""
        marks = ", ".join("?" for _ in _COLUMNS)
        for row in rows:
            self._db.run(
                f"INSERT INTO canary_results ({', '.join(_COLUMNS)}) VALUES ({marks})",
                tuple(getattr(row, c) for c in _COLUMNS),
            )

    def latest(self) -> list[CanaryRow]:
        """The newest row of every deployment, by deployment id."""
        found = self._db.run(
            f"{_SELECT} c WHERE ts = (SELECT MAX(ts) FROM canary_results d WHERE d.model = c.model)"
            " ORDER BY model"
        )
        return [_row(v) for v in found]

    def history(self, model: str | None = None, limit: int = 100) -> list[CanaryRow]:
        """Rows newest first, for one deployment or all."""
        if model is None:
            found = self._db.run(f"{_SELECT} ORDER BY ts DESC LIMIT ?", (limit,))
        else:
            found = self._db.run(
                f"{_SELECT} WHERE model = ? ORDER BY ts DESC LIMIT ?", (model, limit)
            )
        return [_row(v) for v in found]

    def close(self) -> None:
        """Release the connection."""
        self._db.close()
