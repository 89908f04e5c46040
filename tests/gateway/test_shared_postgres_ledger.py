"""Two gateway replicas share one PostgreSQL ledger; the CLI reads both replicas' rows."""

from __future__ import annotations

import json
import subprocess
import sys

import httpx

from tests.conftest import GatewayFactory
from tests.fakes.fixtures import VendorFake


def test_two_replicas_write_one_postgres_ledger(
    gateway_factory: GatewayFactory, vendor: VendorFake, postgres_url: str
) -> None:
    config = {
        "ledger": {"url": postgres_url},
        "models": [
            {
                "id": "fake",
                "provider": "openai",
                "base_url": vendor.openai_url,
                "api_key_env": "FAKE_KEY",
                "upstream_model": "gpt-4o",
                "residency": "on_prem",
                "price": {"input": 1.0, "output": 2.0},
            }
        ],
    }
    replicas = [gateway_factory(config, env={"FAKE_KEY": "k"}) for _ in range(2)]
    ids = set()
    for replica in replicas:
        for _ in range(3):
            response = httpx.post(
                f"{replica.v1}/chat/completions",
                json={"model": "fake", "messages": [{"role": "user", "content": "hi"}]},
            )
            assert response.status_code == 200
            ids.add(response.headers["x-parity-request-id"])
    for replica in replicas:
        replica.stop()  # a clean shutdown flushes each replica's rows
    done = subprocess.run(
        [sys.executable, "-m", "parity", "logs", "--ledger", postgres_url, "--json", "-n", "100"],
        capture_output=True,
        text=True,
        check=True,
    )
    stored = {row["request_id"]: row for row in json.loads(done.stdout)}
    assert ids <= set(stored)
    assert all(stored[i]["cost_usd"] > 0 for i in ids)
