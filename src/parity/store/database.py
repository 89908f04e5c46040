"""One connection to the ledger's database for small admin tables: keys, migration status.

The ledgers keep a connection per thread for their batch writes; this is a single connection
behind a lock, for the few statements a CLI command or a refresh every few seconds runs.
Statements use ``?`` placeholders, swapped for ``%s`` on PostgreSQL, and are always
parameterised. Database failures become ``Unavailable``; a duplicate primary or unique key
becomes ``Duplicate``.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from parity.errors import ConfigError, Unavailable
from parity.store.sql import migrations
from parity.store.sqlite import sqlite_path

__all__ = ["Database", "Duplicate", "MigrationStatus", "migration_status"]


class Duplicate(Exception):
    """An INSERT hit an existing primary or unique key."""


class Database:
    """A SQLite file or a PostgreSQL database, named by a ledger URL."""

    def __init__(self, url: str):
        self.url = url
        self.postgres = url.startswith(("postgresql://", "postgres://"))
        if not self.postgres and not url.startswith("sqlite:///"):
            raise ConfigError(
                f"unsupported ledger URL (use sqlite:///PATH or postgresql://...): {url}"
            )
        self._lock = threading.Lock()
        self._conn: Any = None

    def _connect(self) -> Any:
        if self._conn is not None:
            return self._conn
        if self.postgres:
            import psycopg

            self._conn = psycopg.connect(self.url, connect_timeout=10)
        else:
            self._conn = sqlite3.connect(sqlite_path(self.url), timeout=30, check_same_thread=False)
        return self._conn

    def run(self, statement: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run one statement in its own transaction; the rows it returns, if any."""
        return self._guarded(statement, params, many=False)

    def run_many(self, statement: str, rows: Sequence[Sequence[Any]]) -> None:
        """Run one statement for each of ``rows``, all in one transaction."""
        self._guarded(statement, rows, many=True)

    def _guarded(
        self, statement: str, params: Sequence[Any], *, many: bool
    ) -> list[tuple[Any, ...]]:
        with self._lock:
            try:
                return self._run(statement, params, many)
            except sqlite3.IntegrityError as exc:
                raise Duplicate(str(exc)) from exc
            except sqlite3.Error as exc:
                self._reset()
                raise Unavailable(f"the ledger database failed: {exc}") from exc
            except Exception as exc:
                if not self.postgres:
                    raise
                import psycopg

                if isinstance(exc, psycopg.errors.UniqueViolation):
                    raise Duplicate(str(exc)) from exc
                if isinstance(exc, psycopg.Error):
                    self._reset()
                    raise Unavailable(f"the ledger database failed: {exc}") from exc
                raise

    def _run(self, statement: str, params: Sequence[Any], many: bool) -> list[tuple[Any, ...]]:
        conn = self._connect()
        if self.postgres:
            with conn.transaction(), conn.cursor() as cur:
                if many:
                    cur.executemany(statement.replace("?", "%s"), params)
                    return []
                cur.execute(statement.replace("?", "%s"), params)
                return list(cur.fetchall()) if cur.description else []
        with conn:
            if many:
                conn.executemany(statement, params)
                return []
            return list(conn.execute(statement, params).fetchall())

    def _reset(self) -> None:
        """Drop a connection that failed, so the next call opens a fresh one."""
        if self._conn is not None:
            with contextlib.suppress(Exception):  # already broken; nothing more to release
                self._conn.close()
            self._conn = None

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._reset()


@dataclass(slots=True)
class MigrationStatus:
    """Which shipped migrations a database has applied (name, Unix time), and which are pending."""

    applied: list[tuple[str, float]]
    pending: list[str]


def migration_status(db: Database) -> MigrationStatus:
    """Applied (name, Unix time) and pending migration names, without changing anything."""
    table_sql = (
        "SELECT COUNT(*) FROM information_schema.tables WHERE table_name = ?"
        if db.postgres
        else "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?"
    )
    applied: list[tuple[str, float]] = []
    if db.run(table_sql, ("parity_migrations",))[0][0]:
        rows = db.run("SELECT name, applied_at FROM parity_migrations ORDER BY name")
        applied = [(str(name), float(when)) for name, when in rows]
    done = {name for name, _ in applied}
    return MigrationStatus(applied, [name for name, _ in migrations() if name not in done])
