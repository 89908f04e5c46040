"""Reading safety-guard decisions (migration 009) for ``parity audit --guards`` and the board."""

from __future__ import annotations

from typing import Any

from parity.store.base import GuardDecision
from parity.store.database import Database
from parity.store.guards import GUARD_COLUMNS, decision_from_tuple

__all__ = ["GuardLog"]


class GuardLog:
    """Read guard decisions; the table must exist (``open_ledger`` migrates it)."""

    def __init__(self, url: str):
        self._db = Database(url)

    def recent(
        self, *, since: float | None = None, include_safe: bool = False, limit: int = 1000
    ) -> list[GuardDecision]:
        """Decisions newest first; only the ones that were not plainly safe unless asked."""
        clauses: list[str] = []
        params: list[Any] = []
        if since is not None:
            clauses.append("ts >= ?")
            params.append(since)
        if not include_safe:
            clauses.append("action <> 'allow'")
        where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
        found = self._db.run(
            f"SELECT {', '.join(GUARD_COLUMNS)} FROM guard_decisions{where}"
            " ORDER BY ts DESC LIMIT ?",
            (*params, limit),
        )
        return [decision_from_tuple(v) for v in found]

    def counts(self, since: float | None = None) -> dict[tuple[str, str], int]:
        """How many decisions per (stage, action) since a time."""
        where, params = (" WHERE ts >= ?", (since,)) if since is not None else ("", ())
        found = self._db.run(
            f"SELECT stage, action, COUNT(*) FROM guard_decisions{where} GROUP BY stage, action",
            params,
        )
        return {(str(s), str(a)): int(n) for s, a, n in found}

    def close(self) -> None:
        """Release the connection."""
        self._db.close()
