"""Rate limits per key against a real gateway: in-process counters, Redis, and Redis down."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import redis

from tests.conftest import GatewayFactory
from tests.fakes.fixtures import VendorFake
from tests.limits.helpers import CLIENT_SECRET, ENV, REDIS_URL, REQUEST, config, key_id
from tests.servers import GatewayProcess, free_port, start_gateway

AUTH = {"authorization": f"Bearer {CLIENT_SECRET}"}
RPM_SECRET = "sk-limits-test-rpm"


@dataclass(frozen=True)
class Limited:
    """A gateway with two keys: ``rpm_key`` (rpm 5, RPM_SECRET) and a tpm-100 key (AUTH)."""

    gateway: GatewayProcess
    rpm_key: str
    redis_prefix: str | None


@pytest.fixture(scope="module", params=["process", "redis"])
def limited(
    request: pytest.FixtureRequest,
    vendor_fake: VendorFake,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Limited]:
    """One gateway per store for the module, counting in this process or in Redis."""
    prefix = f"parity-test-{secrets.token_hex(4)}:" if request.param == "redis" else None
    limits = {"redis_url": REDIS_URL, "redis_prefix": prefix} if prefix else {}
    rpm_key = key_id("rpm")
    settings = config(
        vendor_fake.openai_url, {"id": key_id("tpm"), "tpm": 100}, upstream="gpt-4o", limits=limits
    )
    settings["keys"].append({"id": rpm_key, "key_env": "RPM_KEY", "rpm": 5})
    gateway = start_gateway(
        tmp_path_factory.mktemp("rates"), settings, env={**ENV, "RPM_KEY": RPM_SECRET}
    )
    yield Limited(gateway, rpm_key, prefix)
    gateway.stop()
    if prefix:
        client = redis.Redis.from_url(REDIS_URL)
        for name in client.scan_iter(match=f"{prefix}*"):
            client.delete(name)
        client.close()


def _post(gateway_v1: str, secret: str = CLIENT_SECRET, **body: Any) -> httpx.Response:
    return httpx.post(
        f"{gateway_v1}/chat/completions",
        json={**REQUEST, **body},
        headers={"authorization": f"Bearer {secret}"},
        timeout=30,
    )


def test_the_request_after_rpm_is_refused_with_retry_after(limited: Limited) -> None:
    v1 = limited.gateway.v1
    assert [_post(v1, RPM_SECRET).status_code for _ in range(5)] == [200] * 5
    refused = _post(v1, RPM_SECRET)
    assert refused.status_code == 429
    error = refused.json()["error"]
    assert (error["type"], error["code"]) == ("rate_limit_error", "rate_limit_exceeded")
    assert "5 requests per minute" in error["message"]
    # One request frees every 60/5 = 12 s; the first five came within the last few seconds.
    assert 1 <= int(refused.headers["retry-after"]) <= 12
    if limited.redis_prefix is not None:
        client = redis.Redis.from_url(REDIS_URL)
        try:
            name = f"{limited.redis_prefix}rpm:{limited.rpm_key}"
            assert 0 < client.pttl(name) <= 61_000  # gone a second after the bucket refills
        finally:
            client.close()


def test_tpm_counts_the_estimate_then_the_actual_tokens(limited: Limited) -> None:
    v1 = limited.gateway.v1
    # Each request holds ~65 tokens (prompt estimate + max_tokens) and really uses 3: only the
    # correction after each answer lets the next one in. It is applied just after the answer
    # is sent, so a request right behind it may still be refused; without the correction the
    # refusals would last 39 s (65 tokens at 100 a minute), far beyond this test's patience.
    for _ in range(4):
        deadline = time.monotonic() + 5
        while (answer := _post(v1, max_tokens=60)).status_code == 429:
            assert time.monotonic() < deadline, answer.text
            time.sleep(0.05)
        assert answer.status_code == 200
    too_big = _post(v1, max_tokens=200)
    assert too_big.status_code == 429
    assert "more than key" in too_big.json()["error"]["message"]
    assert "retry-after" not in too_big.headers  # waiting cannot help


@pytest.mark.parametrize("choice", ["allow", "refuse"])
def test_redis_down_follows_on_store_error(
    gateway_factory: GatewayFactory, vendor: VendorFake, choice: str
) -> None:
    limits = {"redis_url": f"redis://127.0.0.1:{free_port()}/0", "on_store_error": choice}
    settings = config(
        vendor.openai_url, {"id": key_id("down"), "rpm": 1}, upstream="gpt-4o", limits=limits
    )
    gateway = gateway_factory(settings, env=ENV)
    first = _post(gateway.v1)
    if choice == "refuse":
        assert first.status_code == 503
        assert "rate limit store (Redis) is unavailable" in first.json()["error"]["message"]
        return
    assert first.status_code == 200
    assert "counting rate limits in this process" in gateway.output()
    # Fail open is not "no limits": this process's own counters still apply.
    assert _post(gateway.v1).status_code == 429
