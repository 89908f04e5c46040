"""Requests and tokens per minute per key, counted in Redis (shared by replicas) or in-process.

Each limit is a GCRA bucket (the "generic cell rate algorithm", a token bucket kept as one
number): a limit of N per minute allows a burst of N, refills one every 60/N seconds, and says
exactly how long a refused caller must wait. In Redis one Lua script checks and takes both
buckets atomically, on Redis's clock, so replicas with skewed clocks still agree.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from parity.config.security import LimitSettings
from parity.errors import RateLimitExceeded, Unavailable

__all__ = ["RateBook", "Rates"]

log = logging.getLogger("parity.gateway")

_WINDOW = 60.0
_EPSILON = 1e-6
_TAKE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local limits = {tonumber(ARGV[1]), tonumber(ARGV[2])}
local costs = {1, tonumber(ARGV[3])}
local fresh = {}
for i = 1, 2 do
  if limits[i] > 0 then
    local tat = tonumber(redis.call('GET', KEYS[i]) or '0')
    local new = math.max(tat, now) + costs[i] * 60 / limits[i]
    local wait = new - now - 60
    if wait > 0.000001 then return {i, string.format('%.6f', wait)} end
    fresh[i] = new
  end
end
for i = 1, 2 do
  if fresh[i] then
    local ttl = math.ceil((fresh[i] - now) * 1000) + 1000
    redis.call('SET', KEYS[i], string.format('%.6f', fresh[i]), 'PX', ttl)
  end
end
return {0, '0'}
"""
_ADJUST = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local tat = math.max(tonumber(redis.call('GET', KEYS[1]) or '0'), now)
tat = tat + tonumber(ARGV[2]) * 60 / tonumber(ARGV[1])
if tat <= now then
  redis.call('DEL', KEYS[1])
else
  redis.call('SET', KEYS[1], string.format('%.6f', tat), 'PX', math.ceil((tat - now) * 1000) + 1000)
end
return 0
"""


@dataclass(frozen=True, slots=True)
class Rates:
    """A key's limits per minute; None: unlimited."""

    key_id: str
    rpm: int | None
    tpm: int | None


def _advance(tat: float, now: float, cost: float, limit: int) -> tuple[float, float]:
    """GCRA: the bucket's new theoretical arrival time, and how long to wait (<= 0: admit)."""
    new = max(tat, now) + cost * _WINDOW / limit
    return new, new - now - _WINDOW


class _LocalBuckets:
    """GCRA buckets in this process (one event loop: no lock needed)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self._tat: dict[str, float] = {}
        self._clock = clock

    def take(self, rates: Rates, tokens: int) -> tuple[str, float] | None:
        now = self._clock()
        fresh: list[tuple[str, float]] = []
        for kind, limit, cost in (("requests", rates.rpm, 1), ("tokens", rates.tpm, tokens)):
            if limit:
                name = f"{kind}:{rates.key_id}"
                new, wait = _advance(self._tat.get(name, 0.0), now, cost, limit)
                if wait > _EPSILON:
                    return kind, wait
                fresh.append((name, new))
        self._tat.update(fresh)
        return None

    def adjust(self, rates: Rates, tokens: int) -> None:
        if not rates.tpm:
            return
        name, now = f"tokens:{rates.key_id}", self._clock()
        self._tat[name] = max(self._tat.get(name, 0.0), now) + tokens * _WINDOW / rates.tpm


class _RedisBuckets:
    """The same buckets in Redis, shared by every replica."""

    def __init__(self, settings: LimitSettings):
        import redis.asyncio
        import redis.exceptions

        assert settings.redis_url is not None
        self.errors: tuple[type[Exception], ...] = (redis.exceptions.RedisError, OSError)
        self._client: Any = redis.asyncio.Redis.from_url(
            settings.redis_url,
            socket_timeout=settings.redis_timeout_s,
            socket_connect_timeout=settings.redis_timeout_s,
        )
        self._prefix = settings.redis_prefix
        self._take = self._client.register_script(_TAKE)
        self._adjust = self._client.register_script(_ADJUST)

    def _keys(self, key_id: str) -> list[str]:
        return [f"{self._prefix}rpm:{key_id}", f"{self._prefix}tpm:{key_id}"]

    async def take(self, rates: Rates, tokens: int) -> tuple[str, float] | None:
        args = [rates.rpm or 0, rates.tpm or 0, tokens]
        which, wait = await self._take(keys=self._keys(rates.key_id), args=args)
        if int(which) == 0:
            return None
        return ("requests", "tokens")[int(which) - 1], float(wait)

    async def adjust(self, rates: Rates, tokens: int) -> None:
        await self._adjust(keys=self._keys(rates.key_id)[1:], args=[rates.tpm or 0, tokens])

    async def close(self) -> None:
        await self._client.aclose()


class RateBook:
    """Takes a request's share of its key's rates, or raises RateLimitExceeded."""

    def __init__(self, settings: LimitSettings, clock: Callable[[], float] = time.monotonic):
        self._settings = settings
        self._clock = clock
        self._local = _LocalBuckets(clock)
        self._redis = _RedisBuckets(settings) if settings.redis_url else None
        self._redis_down_until = 0.0

    async def take(self, rates: Rates, tokens: int) -> None:
        """Count one request of ``tokens`` (estimated) tokens, or refuse it with a wait."""
        if rates.tpm and tokens > rates.tpm:
            raise RateLimitExceeded(
                f"This request may use {tokens} tokens (prompt plus max_tokens), more than key "
                f"'{rates.key_id}' may use in a minute ({rates.tpm}); lower max_tokens.",
                retry_after=None,
            )
        refused = await self._take(rates, tokens)
        if refused is not None:
            kind, wait = refused
            limit = rates.rpm if kind == "requests" else rates.tpm
            raise RateLimitExceeded(
                f"Rate limit reached for key '{rates.key_id}': {limit} {kind} per minute. "
                f"Retry in {wait:.1f} s.",
                retry_after=wait,
            )

    async def _take(self, rates: Rates, tokens: int) -> tuple[str, float] | None:
        redis = self._redis
        if redis is None or self._clock() < self._redis_down_until:
            return self._local.take(rates, tokens)
        try:
            return await redis.take(rates, tokens)
        except redis.errors as exc:  # connection refused, timeout, a script error
            self._redis_failed(exc)
            return self._local.take(rates, tokens)

    async def adjust(self, rates: Rates, tokens: int) -> None:
        """Correct the token count by ``tokens`` (negative: give back) once usage is known."""
        if not rates.tpm or not tokens:
            return
        redis = self._redis
        if redis is None or self._clock() < self._redis_down_until:
            self._local.adjust(rates, tokens)
            return
        try:
            await redis.adjust(rates, tokens)
        except redis.errors as exc:
            log.warning("rate limit correction for key %s lost: %s", rates.key_id, exc)

    def _redis_failed(self, exc: Exception) -> None:
        if self._settings.on_store_error == "refuse":
            raise Unavailable(f"the rate limit store (Redis) is unavailable: {exc}") from exc
        self._redis_down_until = self._clock() + self._settings.redis_retry_s
        log.warning(
            "Redis is unavailable (%s); counting rate limits in this process for %g s",
            exc,
            self._settings.redis_retry_s,
        )

    async def close(self) -> None:
        """Close the Redis connections."""
        if self._redis is not None:
            await self._redis.close()
