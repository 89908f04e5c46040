"""The SQLite ledger (WAL): the default, one file, no server."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path

from parity.errors import ConfigError
from parity.store import feedback as fsql
from parity.store import guards as gsql
from parity.store import sql
from parity.store.base import Feedback, LedgerRow, RowFilter, UsageRow
from parity.store.connections import PerThread

__all__ = ["SqliteLedger", "sqlite_path"]


def sqlite_path(url: str) -> Path:
    """The file path of a ``sqlite:///PATH`` URL (``~`` expanded)."""
    prefix = "sqlite:///"
    if not url.startswith(prefix):
        raise ConfigError(f"not a SQLite URL (expected sqlite:///PATH): {url}")
    raw = url.removeprefix(prefix)
    if not raw:
        raise ConfigError("the SQLite URL names no file")
    return Path(raw).expanduser()


class SqliteLedger:
    """Ledger in one SQLite file. Each thread gets its own connection; WAL lets readers in."""

    def __init__(self, url: str):
        self.url = url
        self.path = sqlite_path(url)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(f"cannot create the ledger folder {self.path.parent}: {exc}") from exc
        self._conns = PerThread(self._connect)

    def _connect(self) -> sqlite3.Connection:
        try:
            conn = sqlite3.connect(self.path, timeout=30, check_same_thread=False)
        except sqlite3.Error as exc:
            raise ConfigError(f"cannot open the ledger {self.path}: {exc}") from exc
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        return conn

    def _conn(self) -> sqlite3.Connection:
        return self._conns.get()

    def migrate(self) -> list[str]:
        """Apply pending migrations in one transaction."""
        conn = self._conn()
        with conn:
            return sql.apply_migrations(conn.cursor(), lambda s: s)

    def record(self, rows: Sequence[LedgerRow]) -> None:
        """Insert a batch in one transaction."""
        conn = self._conn()
        with conn:
            conn.executemany(sql.INSERT, [sql.row_to_tuple(r) for r in rows])
            decisions = gsql.decision_tuples(rows)
            if decisions:
                conn.executemany(gsql.GUARD_INSERT, decisions)

    def rows(self, where: RowFilter) -> list[LedgerRow]:
        """Recent rows, newest first."""
        query, params = sql.rows_query(where)
        return [sql.row_from_tuple(v) for v in self._conn().execute(query, params).fetchall()]

    def usage(
        self, since: float | None = None, until: float | None = None, task: str | None = None
    ) -> list[UsageRow]:
        """Tokens and cost per model and UTC day (of one task, when given)."""
        query, params = sql.usage_query(since, until, task)
        return sql.usage_rows(self._conn().execute(query, params).fetchall())

    def spend(self, *, since: float, key_id: str | None = None, tenant: str | None = None) -> float:
        """USD spent since ``since`` by a key, a tenant, or everyone."""
        query, params = sql.spend_query(since, key_id, tenant)
        return float(self._conn().execute(query, params).fetchone()[0])

    def add_feedback(self, feedback: Feedback) -> None:
        """Store one piece of feedback in its own transaction."""
        conn = self._conn()
        with conn:
            conn.execute(fsql.FEEDBACK_INSERT, fsql.feedback_to_tuple(feedback))

    def feedback(self, request_ids: Sequence[str]) -> dict[str, list[Feedback]]:
        """Feedback per request id, newest first (fetched in chunks of 500 ids)."""
        out: dict[str, list[Feedback]] = {}
        ids = list(dict.fromkeys(request_ids))
        for start in range(0, len(ids), 500):
            query, params = fsql.feedback_query(ids[start : start + 500])
            out.update(fsql.group_feedback(self._conn().execute(query, params).fetchall()))
        return out

    def row(self, request_id: str) -> LedgerRow | None:
        """One request's row, or None."""
        query = f"SELECT {', '.join(sql.COLUMNS)} FROM requests WHERE request_id = ?"
        found = self._conn().execute(query, (request_id,)).fetchone()
        return sql.row_from_tuple(found) if found else None

    def count(self) -> int:
        """Rows stored."""
        return int(self._conn().execute("SELECT COUNT(*) FROM requests").fetchone()[0])

    def close(self) -> None:
        """Close every thread's connection."""
        self._conns.close()
