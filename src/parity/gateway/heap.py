"""The cyclic garbage collector, set for a long-running gateway process (``parity serve``).

CPython's collector makes a young-generation pass every 700 net container allocations and,
every hundred of those, a pass over every tracked object. A gateway holds some 65,000 tracked
objects from start-up on (the imported modules' classes and functions, pydantic models, the
config) that live as long as the process, and a request allocates a few hundred short-lived
containers, so the collector ran every few requests and walked the whole start-up heap again
and again: about 20 µs of CPU a request, single passes of up to 98 ms (``bench/request_cpu.py``),
and 7.6% of the server's CPU under load in a perf profile (issue 13, docs/benchmarks.md).

``settle()`` runs once, when the gateway is built and before it serves: one collection, then
``gc.freeze()`` moves every object alive into the permanent generation, which passes never walk
(its objects are still freed by reference counting when dropped), and the young-generation
threshold goes to 10,000 allocations. Passes then cost about 6 µs a request, the longest about
30 ms, and the collector no longer shows in the server's profile. Garbage in reference cycles
is still collected, only less often: at most 10,000 young containers wait for the next pass.
"""

from __future__ import annotations

import gc

__all__ = ["YOUNG_THRESHOLD", "settle"]

YOUNG_THRESHOLD = 10_000
"""Net container allocations between two young-generation passes (CPython's default: 700)."""


def settle(young: int = YOUNG_THRESHOLD) -> None:
    """Freeze what start-up left alive and space the young passes out (once per process)."""
    gc.collect()
    gc.freeze()
    current, middle, old = gc.get_threshold()
    gc.set_threshold(max(young, current), middle, old)
