"""Fixtures of the cache tests: the limit tests' own Redis key prefix per test."""

from tests.limits.conftest import redis_prefix

__all__ = ["redis_prefix"]
