"""Pytest plugin: the fake vendor server, started once per session as a real process.

``vendor_fake`` (session) starts it; ``vendor`` (function) resets its record and counters and
returns the same handle. Load it with ``pytest_plugins = ["tests.fakes.fixtures"]``.
"""

from __future__ import annotations

import os
import select
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

__all__ = [
    "VendorFake",
    "guard",
    "guard_fake",
    "start_vendor_fake",
    "vendor",
    "vendor_fake",
]

_ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True, slots=True)
class VendorFake:
    """A running fake vendor; point a deployment's base_url at it."""

    base_url: str
    log: Path

    @property
    def openai_url(self) -> str:
        """Base URL for OpenAI-compatible deployments (…/v1)."""
        return f"{self.base_url}/v1"

    @property
    def anthropic_url(self) -> str:
        """Base URL for Anthropic deployments (the provider adds /v1/messages)."""
        return self.base_url

    def received(self) -> list[dict[str, Any]]:
        """Every vendor request since the last reset: method, path, masked headers, body."""
        answer = httpx.get(f"{self.base_url}/_received", timeout=5, trust_env=False)
        answer.raise_for_status()
        data: list[dict[str, Any]] = answer.json()
        return data

    def reset(self) -> None:
        """Forget recorded requests and flaky counters."""
        httpx.post(f"{self.base_url}/_reset", timeout=5, trust_env=False).raise_for_status()


def _read_ready(proc: subprocess.Popen[bytes], log: Path, timeout: float) -> int:
    """Wait for the ``READY <port>`` line; fail with the server's log otherwise."""
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout
    line = b""
    while time.monotonic() < deadline and not line.endswith(b"\n"):
        ready, _, _ = select.select([proc.stdout], [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            break
        chunk = os.read(proc.stdout.fileno(), 1)
        if not chunk:
            break
        line += chunk
    if not line.startswith(b"READY "):
        proc.kill()
        proc.wait()
        raise RuntimeError(f"fake vendor did not start: {line!r}\n{log.read_text()[-3000:]}")
    return int(line.split()[1])


def start_vendor_fake(
    log: Path, timeout: float = 30, module: str = "tests.fakes.vendor_server"
) -> tuple[subprocess.Popen[bytes], VendorFake]:
    """Start ``python -m MODULE --port 0`` (the fake vendor, or another fake with the same
    ``READY <port>`` and ``/_received`` / ``/_reset`` conventions) and wait until it listens."""
    with log.open("wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", module, "--port", "0"],
            cwd=_ROOT,
            stdout=subprocess.PIPE,
            stderr=err,
        )
    port = _read_ready(proc, log, timeout)
    return proc, VendorFake(f"http://127.0.0.1:{port}", log)


def _run_fake(tmp_path_factory: pytest.TempPathFactory, module: str) -> Iterator[VendorFake]:
    log = tmp_path_factory.mktemp(module.rsplit(".", 1)[-1]) / "fake.log"
    proc, fake = start_vendor_fake(log, module=module)
    yield fake
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    if proc.stdout is not None:
        proc.stdout.close()


@pytest.fixture(scope="session")
def vendor_fake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VendorFake]:
    """The fake vendor server, one process for the whole session."""
    yield from _run_fake(tmp_path_factory, "tests.fakes.vendor_server")


@pytest.fixture
def vendor(vendor_fake: VendorFake) -> VendorFake:
    """The fake vendor, reset: no recorded requests, flaky counters at zero."""
    vendor_fake.reset()
    return vendor_fake


@pytest.fixture(scope="session")
def guard_fake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VendorFake]:
    """The fake safety guard (Llama Guard chat + OpenAI moderations), one process a session."""
    yield from _run_fake(tmp_path_factory, "tests.fakes.guard_server")


@pytest.fixture
def guard(guard_fake: VendorFake) -> VendorFake:
    """The fake safety guard with its record of received requests cleared."""
    guard_fake.reset()
    return guard_fake
