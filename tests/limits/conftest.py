"""Fixtures of the limit tests: a Redis key prefix of each test's own."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest
import redis

from tests.limits.helpers import REDIS_URL


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    """A Redis key prefix no other test uses; its keys are deleted afterwards."""
    prefix = f"parity-test-{secrets.token_hex(4)}:"
    yield prefix
    client = redis.Redis.from_url(REDIS_URL)
    try:
        for name in client.scan_iter(match=f"{prefix}*"):
            client.delete(name)
    finally:
        client.close()
