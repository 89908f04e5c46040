"""The one retry backoff: the wait doubles with each retry, up to a ceiling, with half jitter.

The gateway's executor and the gap-test runner (``evaluation/limits.py``) both wait this way.
Half jitter (a wait between half and all of the doubled delay), not full jitter, because full
jitter allows waits of zero, which hammer an upstream that just said it is overloaded.
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["backoff_s"]


def backoff_s(retry: int, *, base_s: float, max_s: float, rand: Callable[[], float]) -> float:
    """Seconds to wait before retry number ``retry`` (0 for the first retry)."""
    return min(max_s, base_s * 2.0**retry) * (0.5 + rand() / 2)
