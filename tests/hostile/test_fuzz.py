"""Schemathesis against the real gateway: every documented operation, positive and negative
cases and wrong methods; no 5xx, every error in OpenAI's format, answers true to the document.

PARITY_FUZZ_EXAMPLES raises the examples per operation (default 50); bench/fuzz_gateway.py runs
the same fuzzer on its own and prints the table.
"""

from __future__ import annotations

import os

import httpx

from tests.hostile.conftest import ADMIN_KEY
from tests.hostile.fuzz import fuzz_gateway, table
from tests.servers import GatewayProcess


def test_schemathesis_finds_no_failure(hostile_gateway: GatewayProcess) -> None:
    examples = int(os.environ.get("PARITY_FUZZ_EXAMPLES", "50"))
    stats = fuzz_gateway(hostile_gateway.url, ADMIN_KEY, examples=examples)
    print(table(stats))
    document = httpx.get(f"{hostile_gateway.url}/openapi.json", timeout=5).json()
    documented = {f"{m.upper()} {p}" for p, item in document["paths"].items() for m in item}
    documented.discard("GET /openapi.json")  # schemathesis skips the document it loaded itself
    assert {entry.label for entry in stats} == documented
    assert all(entry.cases > 0 for entry in stats)
    problems = [p for entry in stats for p in entry.problems]
    assert problems == [], "\n".join(problems[:20])
    server_errors = {e.label: c for e in stats for c in e.statuses if c >= 500}
    assert server_errors == {}
    assert sum(entry.statuses.get(200, 0) for entry in stats if "chat" in entry.label) > 0
