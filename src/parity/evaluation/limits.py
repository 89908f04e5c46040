"""Pacing for live calls: per-model rate limits, timeouts, and retries of retryable errors."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from parity.errors import ParityError, UpstreamRateLimited, UpstreamTimeout

__all__ = ["Attempt", "RateLimiter", "RetryPolicy", "call_with_retries"]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how long to wait before trying a retryable failure again."""

    max_retries: int = 3
    base_delay_s: float = 0.5
    max_delay_s: float = 30.0
    max_retry_after_s: float = 120.0

    def delay(self, retry: int, error: ParityError, rng: random.Random) -> float:
        """Seconds to wait before retry number ``retry`` (1-based).

        A rate limit's retry-after is honoured as given (up to ``max_retry_after_s``);
        otherwise the wait doubles each time, with jitter so that workers spread out.
        """
        if isinstance(error, UpstreamRateLimited) and error.retry_after is not None:
            return min(float(error.retry_after), self.max_retry_after_s)
        ceiling = min(self.max_delay_s, self.base_delay_s * 2.0 ** (retry - 1))
        return ceiling * (0.5 + rng.random() / 2)


class RateLimiter:
    """Spaces request starts evenly to at most ``per_minute`` a minute; can be paused."""

    def __init__(self, per_minute: float | None):
        self.interval = 60.0 / per_minute if per_minute else 0.0
        self._next = 0.0
        self._lock = asyncio.Lock()

    async def acquire(self) -> None:
        """Wait until this caller may start a request."""
        async with self._lock:
            now = time.monotonic()
            wait = self._next - now
            self._next = max(now, self._next) + self.interval
        if wait > 0:
            await asyncio.sleep(wait)

    def pause(self, seconds: float) -> None:
        """Hold every later start for ``seconds`` (the upstream said it is overloaded)."""
        self._next = max(self._next, time.monotonic() + seconds)


@dataclass(slots=True)
class Attempt(Generic[T]):
    """The result of a call with retries: a value or the last error, and the retries made."""

    value: T | None
    error: ParityError | None
    retries: int


async def call_with_retries(
    call: Callable[[], Awaitable[T]],
    *,
    policy: RetryPolicy,
    limiter: RateLimiter,
    timeout_s: float,
    rng: random.Random,
    label: str = "",
) -> Attempt[T]:
    """Run ``call`` with a timeout, retrying retryable errors; never raises ParityError."""
    retries = 0
    while True:
        await limiter.acquire()
        try:
            value = await asyncio.wait_for(call(), timeout_s)
            return Attempt(value, None, retries)
        except TimeoutError:
            error: ParityError = UpstreamTimeout(
                f"'{label}' did not answer within {timeout_s:g}s", deployment=label
            )
        except ParityError as exc:
            error = exc
        if not error.retryable or retries >= policy.max_retries:
            return Attempt(None, error, retries)
        retries += 1
        wait = policy.delay(retries, error, rng)
        if isinstance(error, UpstreamRateLimited):
            limiter.pause(wait)
        await asyncio.sleep(wait)
