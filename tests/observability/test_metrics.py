"""GET /metrics on a real gateway process: known requests move exactly the expected series.

One gateway serves the module; every test reads the counters before and after its own requests,
so the tests do not depend on each other's order.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.fakes.fixtures import VendorFake
from tests.observability.scrape import Samples, scrape, value, wait_until
from tests.servers import GatewayProcess, start_gateway

PRICE = {"input": 2.0, "output": 8.0}


def _deployment(model_id: str, upstream: str, base: str) -> dict[str, Any]:
    return {
        "id": model_id,
        "provider": "openai",
        "base_url": base,
        "api_key_env": "FAKE_KEY",
        "upstream_model": upstream,
        "residency": "on_prem",
        "price": PRICE,
    }


@pytest.fixture(scope="module")
def gateway(
    vendor_fake: VendorFake, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[GatewayProcess]:
    base = vendor_fake.openai_url
    config = {
        "models": [
            _deployment("good", "gpt-4o", base),
            _deployment("fails", "error-500", base),
            _deployment("down", "error-503", base),
            _deployment("refuses", "refusal", base),
        ],
        "routes": {
            "parity/auto": {"default": "good"},
            "parity/fb": {"default": {"route": "fails", "fallbacks": ["good"]}},
            "parity/cascade": {
                "default": {"cascade": ["refuses", "good"], "validators": ["not_refusal"]}
            },
        },
        "retry": {"attempts": 1, "breaker_failures": 3, "breaker_cooldown_s": 600},
    }
    gw = start_gateway(tmp_path_factory.mktemp("gw"), config, env={"FAKE_KEY": "sk-fake"})
    yield gw
    gw.stop()


def chat(gw: GatewayProcess, model: str) -> httpx.Response:
    body = {"model": model, "messages": [{"role": "user", "content": "count me"}]}
    return httpx.post(f"{gw.v1}/chat/completions", json=body, timeout=30)


def requests(samples: Samples, model: str, route: str, status: str) -> float:
    return value(samples, "parity_requests_total", model=model, route=route, status=status)


def test_a_success_is_counted_with_its_latency_tokens_and_cost(gateway: GatewayProcess) -> None:
    before = scrape(gateway.url)
    response = chat(gateway, "good")
    assert response.status_code == 200
    usage = response.json()["usage"]
    after = wait_until(
        gateway.url,
        lambda s: requests(s, "good", "none", "200") > requests(before, "good", "none", "200"),
    )

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("parity_requests_total", model="good", route="none", status="200") == 1
    for histogram in ("parity_request_duration_seconds", "parity_time_to_first_byte_seconds"):
        assert delta(f"{histogram}_count", model="good", route="none") == 1
        assert delta(f"{histogram}_sum", model="good", route="none") > 0
        assert delta(f"{histogram}_bucket", model="good", route="none", le="+Inf") == 1
    assert delta("parity_tokens_total", model="good", kind="input") == usage["prompt_tokens"]
    assert delta("parity_tokens_total", model="good", kind="output") == usage["completion_tokens"]
    cost = usage["prompt_tokens"] * PRICE["input"] + usage["completion_tokens"] * PRICE["output"]
    assert delta("parity_cost_usd_total", model="good") == pytest.approx(cost / 1e6)
    assert delta("parity_upstream_attempts_total", model="good", outcome="ok") == 1


def test_a_fallback_and_an_error_are_counted(gateway: GatewayProcess) -> None:
    before = scrape(gateway.url)
    answered = chat(gateway, "parity/fb")
    assert answered.status_code == 200 and answered.headers["x-parity-model"] == "good"
    unknown = chat(gateway, "no-such-model")
    assert unknown.status_code == 404
    after = wait_until(
        gateway.url,
        lambda s: requests(s, "none", "none", "404") > requests(before, "none", "none", "404"),
    )

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("parity_requests_total", model="good", route="parity/fb", status="200") == 1
    assert delta("parity_fallbacks_total", from_model="fails", to_model="good") == 1
    assert (
        delta("parity_upstream_attempts_total", model="fails", outcome="UpstreamServerError") == 1
    )
    assert delta("parity_requests_total", model="none", route="none", status="404") == 1
    assert delta("parity_request_errors_total", error_type="UnknownModel") == 1
    # the model name a client sent never becomes a label (it would let clients add series)
    assert not any(("model", "no-such-model") in labels for _, labels in after)


def test_an_escalation_is_counted_and_is_not_a_fallback(gateway: GatewayProcess) -> None:
    before = scrape(gateway.url)
    response = chat(gateway, "parity/cascade")
    assert response.status_code == 200 and response.headers["x-parity-model"] == "good"
    route = "parity/cascade"
    after = wait_until(
        gateway.url,
        lambda s: requests(s, "good", route, "200") > requests(before, "good", route, "200"),
    )

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("parity_escalations_total", from_model="refuses", validator="not_refusal") == 1
    assert delta("parity_fallbacks_total", from_model="refuses", to_model="good") == 0
    assert delta("parity_upstream_attempts_total", model="refuses", outcome="ok") == 1


def test_the_breaker_state_flips_to_open_after_failures(gateway: GatewayProcess) -> None:
    assert value(scrape(gateway.url), "parity_breaker_state", model="down") == 0
    for _ in range(3):
        assert chat(gateway, "down").status_code == 502
    samples = scrape(gateway.url)
    assert value(samples, "parity_breaker_state", model="down") == 1
    assert value(samples, "parity_breaker_state", model="good") == 0
    skipped = chat(gateway, "down")
    assert skipped.status_code == 503
    after = wait_until(
        gateway.url, lambda s: value(s, "parity_breaker_skips_total", model="down") == 1
    )
    assert value(after, "parity_breaker_skips_total", model="down") == 1
    assert value(after, "parity_request_errors_total", error_type="Unavailable") == 1


def test_the_ledger_writer_is_visible(gateway: GatewayProcess) -> None:
    assert chat(gateway, "good").status_code == 200
    samples = wait_until(
        gateway.url, lambda s: value(s, "parity_ledger_rows_written_total") >= 1, timeout=10
    )
    assert ("parity_ledger_queue_depth", frozenset()) in samples
    assert value(samples, "parity_ledger_queue_depth") >= 0
    assert value(samples, "parity_ledger_rows_written_total") >= 1
    assert value(samples, "parity_ledger_write_failures_total") == 0
    assert value(samples, "parity_ledger_rows_spilled_total") == 0


def test_metrics_can_be_turned_off(
    vendor_fake: VendorFake, tmp_path_factory: pytest.TempPathFactory
) -> None:
    config = {
        "models": [_deployment("good", "gpt-4o", vendor_fake.openai_url)],
        "metrics": {"enabled": False},
    }
    gw = start_gateway(tmp_path_factory.mktemp("off"), config, env={"FAKE_KEY": "sk-fake"})
    try:
        response = httpx.get(f"{gw.url}/metrics", timeout=10)
        assert response.status_code == 404
        assert response.json()["error"]["message"]
    finally:
        gw.stop()


def test_metrics_can_require_an_admin_key(
    vendor_fake: VendorFake, tmp_path_factory: pytest.TempPathFactory
) -> None:
    config = {
        "models": [_deployment("good", "gpt-4o", vendor_fake.openai_url)],
        "keys": [
            {"id": "ops", "key_env": "OPS_KEY", "admin": True},
            {"id": "app", "key_env": "APP_KEY"},
        ],
        "metrics": {"require_admin": True},
    }
    env = {"FAKE_KEY": "sk-fake", "OPS_KEY": "sk-ops-123", "APP_KEY": "sk-app-456"}
    gw = start_gateway(tmp_path_factory.mktemp("admin"), config, env=env)
    try:
        anonymous = httpx.get(f"{gw.url}/metrics", timeout=10)
        assert anonymous.status_code == 401
        assert anonymous.json()["error"]["code"] == "invalid_api_key"
        app = httpx.get(f"{gw.url}/metrics", headers=_bearer("sk-app-456"), timeout=10)
        assert app.status_code == 403
        assert app.json()["error"]["type"] == "permission_error"
        samples = scrape(gw.url, headers=_bearer("sk-ops-123"))
        assert ("parity_ledger_queue_depth", frozenset()) in samples
    finally:
        gw.stop()


def _bearer(key: str) -> dict[str, str]:
    return {"authorization": f"Bearer {key}"}
