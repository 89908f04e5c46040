"""The PostgreSQL ledger: several gateway replicas share one ledger and one set of budgets."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psycopg

from parity.errors import ConfigError
from parity.store import sql
from parity.store.base import LedgerRow, RowFilter, UsageRow
from parity.store.connections import PerThread

__all__ = ["PostgresLedger"]


def _pg(statement: str) -> str:
    return statement.replace("?", "%s")


_INSERT = _pg(sql.INSERT)


class PostgresLedger:
    """Ledger in PostgreSQL; each thread gets its own connection."""

    def __init__(self, url: str):
        self.url = url
        self._conns = PerThread(self._connect, lambda conn: not conn.closed)

    def _connect(self) -> psycopg.Connection[Any]:
        try:
            return psycopg.connect(self.url, connect_timeout=10)
        except psycopg.Error as exc:
            raise ConfigError(f"cannot connect to the ledger database: {exc}") from exc

    def _conn(self) -> psycopg.Connection[Any]:
        return self._conns.get()

    def migrate(self) -> list[str]:
        """Apply pending migrations in one transaction (serialised by an advisory lock)."""
        conn = self._conn()
        with conn.transaction(), conn.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(8437201)")
            return sql.apply_migrations(cur, _pg)

    def record(self, rows: Sequence[LedgerRow]) -> None:
        """Insert a batch in one transaction."""
        conn = self._conn()
        with conn.transaction(), conn.cursor() as cur:
            cur.executemany(_INSERT, [sql.row_to_tuple(r) for r in rows])

    def _fetch(self, query: str, params: Sequence[Any]) -> list[Any]:
        conn = self._conn()
        with conn.transaction(), conn.cursor() as cur:
            cur.execute(_pg(query), params)
            return cur.fetchall()

    def rows(self, where: RowFilter) -> list[LedgerRow]:
        """Recent rows, newest first."""
        query, params = sql.rows_query(where)
        return [sql.row_from_tuple(v) for v in self._fetch(query, params)]

    def usage(self, since: float | None = None, until: float | None = None) -> list[UsageRow]:
        """Tokens and cost per model and UTC day."""
        query, params = sql.usage_query(since, until)
        return sql.usage_rows(self._fetch(query, params))

    def spend(self, *, since: float, key_id: str | None = None, tenant: str | None = None) -> float:
        """USD spent since ``since`` by a key, a tenant, or everyone."""
        query, params = sql.spend_query(since, key_id, tenant)
        return float(self._fetch(query, params)[0][0])

    def count(self) -> int:
        """Rows stored."""
        return int(self._fetch("SELECT COUNT(*) FROM requests", [])[0][0])

    def close(self) -> None:
        """Close every thread's connection."""
        self._conns.close()
