"""The PostgreSQL ledger: several gateway replicas share one ledger and one set of budgets."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psycopg
from psycopg import sql as pgsql
from psycopg.conninfo import conninfo_to_dict

from parity.errors import ConfigError
from parity.store import feedback as fsql
from parity.store import guards as gsql
from parity.store import sql
from parity.store.base import Feedback, LedgerRow, RowFilter, UsageRow
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
            hint = ""
            if "does not exist" in str(exc) and database_exists(self.url) is False:
                hint = f"; {create_hint(self.url)}"
            raise ConfigError(f"cannot connect to the ledger database: {exc}{hint}") from exc

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
            decisions = gsql.decision_tuples(rows)
            if decisions:
                cur.executemany(_pg(gsql.GUARD_INSERT), decisions)

    def _fetch(self, query: str, params: Sequence[Any]) -> list[Any]:
        conn = self._conn()
        with conn.transaction(), conn.cursor() as cur:
            cur.execute(_pg(query), params)
            return cur.fetchall()

    def rows(self, where: RowFilter) -> list[LedgerRow]:
        """Recent rows, newest first."""
        query, params = sql.rows_query(where)
        return [sql.row_from_tuple(v) for v in self._fetch(query, params)]

    def usage(
        self, since: float | None = None, until: float | None = None, task: str | None = None
    ) -> list[UsageRow]:
        """Tokens and cost per model and UTC day (of one task, when given)."""
        query, params = sql.usage_query(since, until, task)
        return sql.usage_rows(self._fetch(query, params))

    def spend(self, *, since: float, key_id: str | None = None, tenant: str | None = None) -> float:
        """USD spent since ``since`` by a key, a tenant, or everyone."""
        query, params = sql.spend_query(since, key_id, tenant)
        return float(self._fetch(query, params)[0][0])

    def add_feedback(self, feedback: Feedback) -> None:
        """Store one piece of feedback in its own transaction."""
        conn = self._conn()
        with conn.transaction(), conn.cursor() as cur:
            cur.execute(_pg(fsql.FEEDBACK_INSERT), fsql.feedback_to_tuple(feedback))

    def feedback(self, request_ids: Sequence[str]) -> dict[str, list[Feedback]]:
        """Feedback per request id, newest first (fetched in chunks of 500 ids)."""
        out: dict[str, list[Feedback]] = {}
        ids = list(dict.fromkeys(request_ids))
        for start in range(0, len(ids), 500):
            query, params = fsql.feedback_query(ids[start : start + 500])
            out.update(fsql.group_feedback(self._fetch(query, params)))
        return out

    def row(self, request_id: str) -> LedgerRow | None:
        """One request's row, or None."""
        query = f"SELECT {', '.join(sql.COLUMNS)} FROM requests WHERE request_id = ?"
        found = self._fetch(query, (request_id,))
        return sql.row_from_tuple(found[0]) if found else None

    def count(self) -> int:
        """Rows stored."""
        return int(self._fetch("SELECT COUNT(*) FROM requests", [])[0][0])

    def close(self) -> None:
        """Close every thread's connection."""
        self._conns.close()


def _maintenance(url: str) -> tuple[str, dict[str, Any]]:
    """The database name in ``url``, and connection parameters for the server's 'postgres' db."""
    params: dict[str, Any] = conninfo_to_dict(url)
    name = str(params.get("dbname") or params.get("user") or "postgres")
    return name, {**params, "dbname": "postgres"}


def database_exists(url: str) -> bool | None:
    """Whether the database ``url`` names exists; None when the server cannot say."""
    name, params = _maintenance(url)
    try:
        with psycopg.connect(**params, connect_timeout=10, autocommit=True) as conn:
            found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
            return found.fetchone() is not None
    except psycopg.Error:
        return None


def create_database(url: str) -> str:
    """Create the database ``url`` names (it must not exist yet); returns its name."""
    name, params = _maintenance(url)
    try:
        with psycopg.connect(**params, connect_timeout=10, autocommit=True) as conn:
            conn.execute(pgsql.SQL("CREATE DATABASE {}").format(pgsql.Identifier(name)))
    except psycopg.Error as exc:
        raise ConfigError(f"cannot create the database '{name}': {exc}") from exc
    return name


def create_hint(url: str) -> str:
    """How to create the missing database ``url`` names, in one sentence."""
    name, params = _maintenance(url)
    flags = " ".join(
        f"{flag} {params[key]}"
        for flag, key in (("-h", "host"), ("-p", "port"), ("-U", "user"))
        if params.get(key)
    )
    return (
        f"the database '{name}' does not exist: create it with 'createdb {flags} {name}', "
        "or let 'parity db migrate --create' do it"
    )
