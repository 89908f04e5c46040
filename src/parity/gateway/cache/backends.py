"""Where cached answers live: the ledger's database (default) or a Redis that replicas share.

A backend stores opaque entries under a key with a time to live. It raises whatever its driver
raises when it cannot be reached; the cache above it turns that into a miss, a log line and a
count in /metrics, never into a failed request.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, Protocol

from parity.store.database import Database

__all__ = ["CacheBackend", "DatabaseBackend", "RedisBackend"]

_SWEEP_EVERY = 64  # batches between deletions of expired rows


class CacheBackend(Protocol):
    """A key-value store with expiry."""

    name: str

    async def get(self, key: str) -> bytes | None:
        """The entry under ``key`` unless it has expired."""
        ...

    async def put(self, key: str, tenant: str, deployment: str, entry: bytes, ttl_s: float) -> None:
        """Store ``entry`` under ``key`` for ``ttl_s`` seconds (replacing an older one)."""
        ...

    async def close(self) -> None:
        """Release connections."""
        ...


class DatabaseBackend:
    """The response_cache table (migration 008) of the ledger's SQLite or PostgreSQL database.

    Writes are batched: entries wait in memory (where ``get`` finds them too) for up to
    ``flush_s`` and go in one transaction, so a burst of misses costs one commit, not one each.
    A batch that fails is lost (it is a cache) and reported by the next ``put``.
    """

    name = "database"

    def __init__(self, url: str, flush_s: float = 0.05):
        self._db = Database(url)
        self._flush_s = flush_s
        self._pending: dict[str, tuple[str, str, str, float, float, str]] = {}
        self._flusher: asyncio.Task[None] | None = None
        self._failure: BaseException | None = None
        self._writes = 0

    async def get(self, key: str) -> bytes | None:
        now = time.time()
        waiting = self._pending.get(key)
        if waiting is not None and waiting[4] > now:
            return waiting[5].encode()
        rows = await asyncio.to_thread(
            self._db.run,
            "SELECT entry FROM response_cache WHERE key = ? AND expires_at > ?",
            (key, now),
        )
        return str(rows[0][0]).encode() if rows else None

    async def put(self, key: str, tenant: str, deployment: str, entry: bytes, ttl_s: float) -> None:
        failure, self._failure = self._failure, None
        now = time.time()
        self._pending[key] = (key, tenant, deployment, now, now + ttl_s, entry.decode())
        if self._flusher is None:
            self._flusher = asyncio.create_task(self._flush_soon())
        if failure is not None:
            raise failure

    async def _flush_soon(self) -> None:
        await asyncio.sleep(self._flush_s)
        self._flusher = None
        batch, self._pending = list(self._pending.values()), {}
        try:
            await asyncio.to_thread(self._write, batch)
        except Exception as exc:  # reported by the next put
            self._failure = exc

    def _write(self, batch: list[tuple[str, str, str, float, float, str]]) -> None:
        self._db.run_many(
            "INSERT INTO response_cache (key, tenant, deployment, created_at, expires_at, entry)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (key) DO UPDATE SET tenant = excluded.tenant,"
            " deployment = excluded.deployment, created_at = excluded.created_at,"
            " expires_at = excluded.expires_at, entry = excluded.entry",
            batch,
        )
        self._writes += 1
        if self._writes % _SWEEP_EVERY == 0:
            self._db.run("DELETE FROM response_cache WHERE expires_at <= ?", (time.time(),))

    async def close(self) -> None:
        if self._flusher is not None:
            self._flusher.cancel()
        if self._pending:
            batch, self._pending = list(self._pending.values()), {}
            await asyncio.to_thread(self._write, batch)
        self._db.close()


class RedisBackend:
    """Entries as Redis strings with a millisecond expiry (SET PX)."""

    name = "redis"

    def __init__(self, url: str, prefix: str, timeout_s: float):
        import redis.asyncio

        self._client: Any = redis.asyncio.Redis.from_url(
            url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s
        )
        self._prefix = prefix

    async def get(self, key: str) -> bytes | None:
        value = await self._client.get(self._prefix + key)
        return bytes(value) if value is not None else None

    async def put(self, key: str, tenant: str, deployment: str, entry: bytes, ttl_s: float) -> None:
        await self._client.set(self._prefix + key, entry, px=max(1, int(ttl_s * 1000)))

    async def close(self) -> None:
        await self._client.aclose()
