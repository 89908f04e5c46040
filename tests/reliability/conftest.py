"""Fixtures for the fault tests: chaos upstream processes, stopped when the test ends."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.reliability.chaos_proc import ChaosProcess, start_chaos

ChaosFactory = Callable[..., ChaosProcess]


@pytest.fixture
def chaos_factory(tmp_path: Path) -> Iterator[ChaosFactory]:
    """Start ``parity chaos`` processes with the given flags."""
    started: list[ChaosProcess] = []

    def start(*flags: str) -> ChaosProcess:
        chaos = start_chaos(tmp_path, *flags)
        started.append(chaos)
        return chaos

    yield start
    for chaos in started:
        chaos.stop()
