"""A circuit breaker per deployment: stop calling an upstream that keeps failing."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["Breaker"]


@dataclass(slots=True)
class Breaker:
    """Opens after ``failures`` consecutive failures; lets one trial call through after cooldown."""

    failures: int
    cooldown_s: float
    clock: Callable[[], float] = time.monotonic
    _count: int = 0
    _opened_at: float | None = None

    @property
    def state(self) -> str:
        """'closed', 'open' or 'half_open'."""
        if self._opened_at is None:
            return "closed"
        if self.clock() - self._opened_at >= self.cooldown_s:
            return "half_open"
        return "open"

    def allows(self) -> bool:
        """Whether a call may go through now."""
        return self.state != "open"

    def success(self) -> None:
        """A call succeeded: close the breaker."""
        self._count = 0
        self._opened_at = None

    def failure(self) -> None:
        """A call failed: count it, and open (or re-open) when the threshold is reached."""
        self._count += 1
        if self._count >= self.failures or self._opened_at is not None:
            self._opened_at = self.clock()
