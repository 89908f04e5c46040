"""Pacing for live calls: per-model rate limits, timeouts, and retries of retryable errors."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from parity.errors import ParityError, UpstreamRateLimited, UpstreamTimeout
from parity.routing.backoff import backoff_s

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
        return backoff_s(
            retry - 1, base_s=self.base_delay_s, max_s=self.max_delay_s, rand=rng.random
        )


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
    recover: Callable[[], Awaitable[bool]] | None = None,
    max_recoveries: int = 3,
) -> Attempt[T]:
    """Run ``call`` with a timeout, retrying retryable errors; never raises ParityError.

    ``recover`` is awaited after a retryable error: it waits for an upstream that was down
    (the local llama.cpp server being restarted) and returns True once it is back. The call
    is then tried again at once, and that try is not counted against ``policy.max_retries``
    (at most ``max_recoveries`` such tries), so a restart loses no answer.
    """
    retries = 0
    recoveries = 0
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
        if not error.retryable:
            return Attempt(None, error, retries)
        if recover is not None and recoveries < max_recoveries and await recover():
            recoveries += 1
            retries += 1
            continue
        if retries - recoveries >= policy.max_retries:
            return Attempt(None, error, retries)
        retries += 1
        wait = policy.delay(retries - recoveries, error, rng)
        if isinstance(error, UpstreamRateLimited):
            limiter.pause(wait)
        await asyncio.sleep(wait)
