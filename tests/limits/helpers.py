"""Shared pieces of the limit tests: a priced fake deployment, bursts, and reads of the tables."""

from __future__ import annotations

import asyncio
import secrets
import sqlite3
import time
from typing import Any

import httpx
import psycopg

from parity.store.sqlite import sqlite_path

__all__ = [
    "CLIENT_SECRET",
    "ENV",
    "PRICE_PER_TOKEN",
    "REDIS_URL",
    "REQUEST",
    "Burst",
    "config",
    "drain_holds",
    "exhaust_budget",
    "key_id",
    "query",
    "send",
]

CLIENT_SECRET = "sk-limits-test-client"
REDIS_URL = "redis://127.0.0.1:6379/0"
PRICE_PER_TOKEN = 0.001  # USD: $1,000 per million tokens in and out, so costs are easy to read
ENV = {"FAKE_KEY": "k", "CLIENT_KEY": CLIENT_SECRET}
REQUEST = {"model": "fake", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 2}


def key_id(prefix: str) -> str:
    """A key id no other test uses (the Postgres database is shared by the session)."""
    return f"{prefix}-{secrets.token_hex(4)}"


def config(
    vendor_url: str, key: dict[str, Any], *, upstream: str = "slow-0.1", **extra: Any
) -> dict[str, Any]:
    """One priced deployment on the fake vendor and one client key (CLIENT_KEY)."""
    model = {
        "id": "fake",
        "provider": "openai",
        "base_url": vendor_url,
        "api_key_env": "FAKE_KEY",
        "upstream_model": upstream,
        "residency": "on_prem",
        "price": {"input": PRICE_PER_TOKEN * 1e6, "output": PRICE_PER_TOKEN * 1e6},
    }
    return {"models": [model], "keys": [{"key_env": "CLIENT_KEY", **key}], **extra}


def query(ledger_url: str, statement: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Rows of one read against the ledger database (``?`` placeholders)."""
    if ledger_url.startswith("sqlite:///"):
        with sqlite3.connect(sqlite_path(ledger_url)) as conn:
            return list(conn.execute(statement, params).fetchall())
    with psycopg.connect(ledger_url, autocommit=True) as conn:
        return list(conn.execute(statement.replace("?", "%s"), params).fetchall())


def drain_holds(ledger_url: str, timeout: float = 10) -> None:
    """Wait until every request in flight has settled its budget hold."""
    deadline = time.monotonic() + timeout
    while query(ledger_url, "SELECT COUNT(*) FROM budget_holds")[0][0]:
        assert time.monotonic() < deadline, "budget holds were never settled"
        time.sleep(0.05)


class Burst:
    """Responses of parallel requests: status, error code and request id of each."""

    def __init__(self) -> None:
        self.responses: list[httpx.Response] = []

    def count(self, status: int) -> int:
        """How many answered with ``status``."""
        return sum(1 for r in self.responses if r.status_code == status)

    def ids(self) -> set[str]:
        """Every request id the gateway answered with."""
        return {r.headers["x-parity-request-id"] for r in self.responses}


async def _burst(
    urls: list[str], n: int, body: dict[str, Any], secret: str
) -> list[httpx.Response]:
    headers = {"authorization": f"Bearer {secret}"}
    limits = httpx.Limits(max_connections=n)
    async with httpx.AsyncClient(timeout=30, limits=limits, trust_env=False) as client:
        return await asyncio.gather(
            *(
                client.post(f"{urls[i % len(urls)]}/chat/completions", json=body, headers=headers)
                for i in range(n)
            )
        )


def send(urls: list[str], n: int, burst: Burst, secret: str = CLIENT_SECRET) -> int:
    """``n`` requests at once, spread over the gateways at ``urls``; how many were answered."""
    answers = asyncio.run(_burst(urls, n, REQUEST, secret))
    burst.responses += answers
    return sum(1 for r in answers if r.status_code == 200)


def exhaust_budget(urls: list[str], ledger_url: str, n: int = 40, rounds: int = 12) -> Burst:
    """Bursts of ``n`` parallel requests until one, sent with nothing in flight, gets no answer."""
    burst = Burst()
    for _ in range(rounds):
        answered = send(urls, n, burst)
        drain_holds(ledger_url)
        if not answered:
            return burst
    raise AssertionError(f"the budget was never exhausted in {rounds} bursts of {n}")
