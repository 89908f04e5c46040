"""300 concurrent requests with 20% mixed faults on the primary and a healthy fallback.

No client sees an error, and after a clean shutdown the ledger holds every request exactly once.
"""

from __future__ import annotations

import asyncio
import signal
import sqlite3
from collections import Counter

import openai

from parity.store.sqlite import sqlite_path
from tests.conftest import GatewayFactory
from tests.reliability.chaos_proc import chaos_model
from tests.reliability.conftest import ChaosFactory

REQUESTS = 300
CONCURRENCY = 32
RATES = {  # 20% in all
    "--timeout-rate": "0.03",
    "--error-rate": "0.03",
    "--rate-limit-rate": "0.03",
    "--reset-rate": "0.03",
    "--cut-stream-rate": "0.02",
    "--drip-rate": "0.02",
    "--malformed-json-rate": "0.02",
    "--malformed-sse-rate": "0.02",
}


async def drive(base_url: str) -> tuple[list[str], list[str]]:
    """Send the requests; returns the request ids answered and the errors the client saw."""
    client = openai.AsyncOpenAI(base_url=base_url, api_key="unused", max_retries=0, timeout=60)
    gate = asyncio.Semaphore(CONCURRENCY)
    answered: list[str] = []
    errors: list[str] = []

    async def one(n: int) -> None:
        async with gate:
            try:
                raw = await client.chat.completions.with_raw_response.create(
                    model="chaos/mixed",
                    messages=[{"role": "user", "content": f"request number {n}"}],
                )
            except openai.APIError as exc:
                errors.append(repr(exc))
                return
            answer = raw.parse()
            assert answer.choices[0].message.content == f"Echo: request number {n}"
            answered.append(raw.headers["x-parity-request-id"])

    try:
        await asyncio.gather(*(one(n) for n in range(REQUESTS)))
    finally:
        await client.close()
    return answered, errors


def test_twenty_percent_faults_no_client_error_and_each_request_once(
    chaos_factory: ChaosFactory, gateway_factory: GatewayFactory
) -> None:
    flags = [x for pair in RATES.items() for x in pair]
    chaos = chaos_factory("--seed", "8", "--hang-s", "30", *flags)
    config = {
        "models": [
            chaos_model("primary", chaos.v1, timeout_s=1.0),
            chaos_model("fallback", chaos.force("none")),
        ],
        "routes": {"chaos/mixed": {"default": {"route": "primary", "fallbacks": ["fallback"]}}},
        "retry": {"attempts": 2, "backoff_s": 0.01, "max_retry_after_s": 2},
    }
    gateway = gateway_factory(config)
    answered, errors = asyncio.run(drive(gateway.v1))
    assert errors == []
    assert len(answered) == REQUESTS == len(set(answered))

    stats = chaos.stats()
    assert all(n > 0 for n in stats["injected"].values()), stats["injected"]

    assert gateway.stop() in (0, -signal.SIGTERM)  # a clean shutdown flushes the writer
    with sqlite3.connect(sqlite_path(gateway.ledger_url)) as db:
        rows = db.execute("SELECT request_id, status, model_answered, attempts FROM requests")
        stored = rows.fetchall()
    counts = Counter(r[0] for r in stored)
    assert set(counts) == set(answered)  # none missing, none extra
    assert max(counts.values()) == 1  # none twice
    assert all(r[1] == 200 for r in stored)
    fell_back = sum(1 for r in stored if r[2] == "fallback")
    retried = sum(1 for r in stored if r[3] > 1)
    assert fell_back > 0 and retried >= fell_back
