"""One gateway process for the hostile-input tests: the fake vendor upstream and an admin key."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.fakes.fixtures import VendorFake
from tests.servers import GatewayProcess, start_gateway

ADMIN_KEY = "pk-hostile-admin-key-0123456789"
MAX_BODY = 64 * 1024
BODY_TIMEOUT_S = 1.0


def hostile_config(vendor: VendorFake) -> dict[str, Any]:
    """A gateway with two fake-vendor models and a route: cheap upstream calls for the fuzzer."""
    deployment = {
        "provider": "openai",
        "base_url": vendor.openai_url,
        "api_key_env": "FAKE_KEY",
        "upstream_model": "gpt-4o",
        # the fake stands for OpenAI's own gpt-4o, which takes every content part as it is
        "engine": "openai",
        "residency": "vendor",
        "price": {"input": 2.5, "output": 10.0},
    }
    return {
        "server": {"max_body_bytes": MAX_BODY, "body_timeout_s": BODY_TIMEOUT_S},
        "models": [
            {"id": "gpt-fake", **deployment},
            {"id": "gpt-fake-2", **deployment},
            {  # /v1/embeddings: the fake answers every input OpenAI's API takes
                "id": "embed-fake",
                **deployment,
                "upstream_model": "text-embedding-3-small",
                "serves": ["embeddings"],
                "price": {"input": 0.02},
            },
        ],
        "routes": {"parity/auto": {"default": {"route": "gpt-fake", "fallbacks": ["gpt-fake-2"]}}},
        "retry": {"attempts": 1, "backoff_s": 0.01, "max_retry_after_s": 0},
        "ledger": {"store_bodies": False},
    }


@pytest.fixture(scope="package")
def hostile_gateway(
    vendor_fake: VendorFake, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[GatewayProcess]:
    """A gateway whose callers need a key; ADMIN_KEY is its admin key."""
    env = {"FAKE_KEY": "sk-fake", "PARITY_ADMIN_KEY": ADMIN_KEY}
    gateway = start_gateway(
        tmp_path_factory.mktemp("hostile"), hostile_config(vendor_fake), env=env
    )
    yield gateway
    gateway.stop()
