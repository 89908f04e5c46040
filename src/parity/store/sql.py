"""SQL shared by the SQLite and PostgreSQL ledgers: migrations, inserts, queries.

Statements use ``?`` placeholders; the PostgreSQL ledger swaps them for ``%s``.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from importlib import resources
from typing import Any, Protocol

import orjson

from parity.store.base import LedgerRow, RowFilter, UsageRow

__all__ = [
    "COLUMNS",
    "Cursor",
    "apply_migrations",
    "migrations",
    "row_from_tuple",
    "row_to_tuple",
    "rows_query",
    "spend_query",
    "usage_query",
    "usage_rows",
]

COLUMNS = (
    "request_id",
    "ts",
    "day",
    "key_id",
    "tenant",
    "model_requested",
    "model_answered",
    "route",
    "route_reason",
    "status",
    "error_type",
    "error_message",
    "stream",
    "ttfb_ms",
    "total_ms",
    "input_tokens",
    "output_tokens",
    "usage_estimated",
    "cost_usd",
    "residency",
    "attempts",
    "data_classes",
    "sent_to",
    "trace",
    "request_body",
    "response_text",
    "task",
    "upstream_model",
    "system_fingerprint",
    "cache",
    "cost_saved_usd",
)
INSERT = f"INSERT INTO requests ({', '.join(COLUMNS)}) VALUES ({', '.join('?' for _ in COLUMNS)})"


class Cursor(Protocol):
    """The DB-API cursor methods the ledger uses."""

    def execute(self, sql: Any, params: Any = ..., /) -> Any: ...
    def fetchall(self) -> list[Any]: ...


def migrations() -> list[tuple[str, str]]:
    """(name, SQL) for every migration shipped with the package, in order."""
    folder = resources.files("parity.store") / "migrations"
    found = [
        (entry.name.removesuffix(".sql"), entry.read_text(encoding="utf-8"))
        for entry in folder.iterdir()
        if entry.name.endswith(".sql")
    ]
    return sorted(found)


def _statements(script: str) -> list[str]:
    lines = [line.split("--", 1)[0] for line in script.splitlines()]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]


def apply_migrations(cursor: Cursor, param: Callable[[str], str]) -> list[str]:
    """Apply pending migrations through ``cursor``; the caller commits. Returns names applied."""
    cursor.execute(
        "CREATE TABLE IF NOT EXISTS parity_migrations "
        "(name TEXT PRIMARY KEY, applied_at DOUBLE PRECISION NOT NULL)"
    )
    cursor.execute("SELECT name FROM parity_migrations")
    done = {row[0] for row in cursor.fetchall()}
    applied: list[str] = []
    for name, script in migrations():
        if name in done:
            continue
        for statement in _statements(script):
            cursor.execute(statement)
        cursor.execute(
            param("INSERT INTO parity_migrations (name, applied_at) VALUES (?, ?)"),
            (name, time.time()),
        )
        applied.append(name)
    return applied


def _json(value: Any) -> str:
    return orjson.dumps(value).decode()


@functools.lru_cache(maxsize=64)
def _utc_day(day_number: int) -> str:
    return datetime.fromtimestamp(day_number * 86400, UTC).strftime("%Y-%m-%d")


def row_to_tuple(row: LedgerRow) -> tuple[Any, ...]:
    """The INSERT parameters for one row."""
    day = _utc_day(int(row.ts // 86400))
    body = row.request_body.decode("utf-8", "replace") if row.request_body is not None else None
    return (
        row.request_id,
        row.ts,
        day,
        row.key_id,
        row.tenant,
        row.model_requested,
        row.model_answered,
        row.route,
        row.route_reason,
        row.status,
        row.error_type,
        row.error_message,
        int(row.stream),
        row.ttfb_ms,
        row.total_ms,
        row.input_tokens,
        row.output_tokens,
        int(row.usage_estimated),
        row.cost_usd,
        row.residency,
        row.attempts,
        _json(row.data_classes),
        _json(row.sent_to),
        _json(row.trace) if row.trace is not None else None,
        body,
        row.response_text,
        row.task,
        row.upstream_model,
        row.system_fingerprint,
        row.cache,
        row.cost_saved_usd,
    )


def row_from_tuple(values: Sequence[Any]) -> LedgerRow:
    """A LedgerRow from a ``SELECT {COLUMNS}`` result row."""
    data = dict(zip(COLUMNS, values, strict=True))
    data.pop("day")
    body = data.pop("request_body")
    trace = data.pop("trace")
    return LedgerRow(
        **{
            **data,
            "stream": bool(data["stream"]),
            "usage_estimated": bool(data["usage_estimated"]),
            "data_classes": orjson.loads(data["data_classes"]),
            "sent_to": orjson.loads(data["sent_to"]),
        },
        trace=orjson.loads(trace) if trace else None,
        request_body=body.encode() if body is not None else None,
    )


def rows_query(where: RowFilter) -> tuple[str, list[Any]]:
    """SELECT for ``Ledger.rows``: newest first."""
    clauses: list[str] = []
    params: list[Any] = []
    if where.since is not None:
        clauses.append("ts >= ?")
        params.append(where.since)
    if where.until is not None:
        clauses.append("ts < ?")
        params.append(where.until)
    if where.model:
        clauses.append("(model_requested = ? OR model_answered = ?)")
        params += [where.model, where.model]
    if where.key_id:
        clauses.append("key_id = ?")
        params.append(where.key_id)
    if where.status is not None:
        clauses.append("status = ?")
        params.append(where.status)
    if where.errors_only:
        clauses.append("status >= 400")
    if where.route:
        clauses.append("route = ?")
        params.append(where.route)
    if where.task:
        clauses.append("task = ?")
        params.append(where.task)
    if where.sensitive_to_vendor:
        clauses.append("data_classes <> '[]' AND sent_to LIKE ?")  # a parameter: psycopg reads %
        params.append('%"vendor"%')
    sql = f"SELECT {', '.join(COLUMNS)} FROM requests"
    if clauses:
        sql += " WHERE " + " AND ".join(clauses)
    sql += " ORDER BY ts DESC LIMIT ?"
    params.append(where.limit)
    return sql, params


def usage_query(
    since: float | None, until: float | None, task: str | None = None
) -> tuple[str, list[Any]]:
    """SELECT for ``Ledger.usage``: per UTC day and answering model."""
    clauses: list[str] = []
    params: list[Any] = []
    if task is not None:
        clauses.append("task = ?")
        params.append(task)
    if since is not None:
        clauses.append("ts >= ?")
        params.append(since)
    if until is not None:
        clauses.append("ts < ?")
        params.append(until)
    where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
    sql = (
        "SELECT day, COALESCE(model_answered, model_requested) AS model, COUNT(*),"
        " SUM(CASE WHEN status >= 400 THEN 1 ELSE 0 END),"
        " COALESCE(SUM(input_tokens), 0), COALESCE(SUM(output_tokens), 0),"
        " COALESCE(SUM(cost_usd), 0), COALESCE(SUM(usage_estimated), 0),"
        " SUM(CASE WHEN cache = 'hit' THEN 1 ELSE 0 END), COALESCE(SUM(cost_saved_usd), 0)"
        f" FROM requests{where}"
        " GROUP BY day, COALESCE(model_answered, model_requested) ORDER BY day, model"
    )
    return sql, params


def usage_rows(values: Iterable[Sequence[Any]]) -> list[UsageRow]:
    """UsageRow objects from ``usage_query`` results."""
    return [
        UsageRow(
            day=str(v[0]),
            model=str(v[1]),
            requests=int(v[2]),
            errors=int(v[3]),
            input_tokens=int(v[4]),
            output_tokens=int(v[5]),
            cost_usd=float(v[6]),
            estimated=int(v[7]),
            cache_hits=int(v[8] or 0),
            saved_usd=float(v[9] or 0.0),
        )
        for v in values
    ]


def spend_query(since: float, key_id: str | None, tenant: str | None) -> tuple[str, list[Any]]:
    """SELECT total cost since a time, for one key, one tenant, or everyone."""
    sql = "SELECT COALESCE(SUM(cost_usd), 0) FROM requests WHERE ts >= ?"
    params: list[Any] = [since]
    if key_id is not None:
        sql += " AND key_id = ?"
        params.append(key_id)
    if tenant is not None:
        sql += " AND tenant = ?"
        params.append(tenant)
    return sql, params
