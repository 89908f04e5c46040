"""The upstream's own version signals land on every ledger row (a silent update shows there)."""

from __future__ import annotations

import openai

from tests.conftest import GatewayFactory
from tests.fakes.fixtures import VendorFake
from tests.servers import wait_for_rows


def test_rows_keep_the_upstreams_model_and_system_fingerprint(
    vendor: VendorFake, gateway_factory: GatewayFactory
) -> None:
    config = {
        "models": [
            {
                "id": "gpt-house",
                "provider": "openai",
                "base_url": vendor.openai_url,
                "upstream_model": "gpt-vendor-2026-11-01",
                "api_key_env": "FAKE_KEY",
            }
        ]
    }
    gw = gateway_factory(config, env={"FAKE_KEY": "sk-test"})
    client = openai.OpenAI(base_url=gw.v1, api_key="unused", max_retries=0)
    messages: list[openai.types.chat.ChatCompletionMessageParam] = [
        {"role": "user", "content": "Hello"}
    ]
    plain = client.chat.completions.with_raw_response.create(model="gpt-house", messages=messages)
    assert plain.parse().model == "gpt-house"  # clients still see the name they asked for
    streamed = client.chat.completions.with_raw_response.create(
        model="gpt-house", messages=messages, stream=True
    )
    for _ in streamed.parse():
        pass
    ids = {r.headers["x-parity-request-id"] for r in (plain, streamed)}
    rows = wait_for_rows(gw.ledger_url, ids)
    one = rows[plain.headers["x-parity-request-id"]]
    assert one.upstream_model == "gpt-vendor-2026-11-01"
    assert one.system_fingerprint == "fp_parity_fake"
    other = rows[streamed.headers["x-parity-request-id"]]
    assert other.system_fingerprint == "fp_parity_fake"
