"""The routing policy through the real gateway: the real local model (llama.cpp on SmolLM2) is
the on-prem deployment, the wire-format fake is the vendor. Assertions are on what the vendor
server actually received and on the ledger."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest

from parity.store.base import LedgerRow
from tests.fakes.fixtures import VendorFake
from tests.servers import GatewayProcess, start_gateway, wait_for_rows

KEYS = {"USER_KEY": "sk-user", "ADMIN_KEY": "sk-admin", "SPENDER_KEY": "sk-spender"}
SECRET = "My email is jane.doe@example.com and my card is 4111 1111 1111 1111. Summarise my order."


def vendor(model_id: str, upstream: str, base: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": model_id,
        "provider": "openai",
        "base_url": base,
        "api_key_env": "FAKE_KEY",
        "upstream_model": upstream,
        "residency": "vendor",
        "price": {"input": 2.5, "output": 10.0},
        **extra,
    }


def tag_rule(tag: str, route: str) -> dict[str, Any]:
    return {
        "name": f"tag-{tag}",
        "when": {"caller.tags": tag},
        "then": {"route": route, "fallbacks": ["local"]},
    }


@pytest.fixture(scope="module")
def gateway(
    llama_server: str, vendor_fake: VendorFake, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[GatewayProcess]:
    base = vendor_fake.openai_url
    config = {
        "models": [
            {
                "id": "local",
                "provider": "openai",
                "base_url": llama_server,
                "upstream_model": "smollm2",
                "residency": "on_prem",
                "context_window": 2048,
                "card": "smollm2-135m-instruct",
            },
            vendor("frontier", "gpt-4o", base, card="gpt-4o"),
            vendor("fails", "error-500", base),
            vendor("limited", "rate-limit", base),
            vendor("slow", "slow-5", base, timeout_s=0.5),
            vendor("breaks", "broken-before-first", base),
            vendor("json-bad", "json-invalid", base, price={"input": 0.1, "output": 0.1}),
            vendor("json-good", "json-valid", base),
            # a self-hosted Llama (the fake plays it), licensed under Llama's community licence
            {**vendor("llama", "gpt-4o", base, card="llama-3.1-70b"), "residency": "on_prem"},
        ],
        "keys": [
            {"id": "user", "key_env": "USER_KEY"},
            {"id": "admin", "key_env": "ADMIN_KEY", "admin": True, "can_override_route": True},
            {"id": "spender", "key_env": "SPENDER_KEY", "tenant": "thrifty"},
        ],
        "org": {"monthly_active_users": 800_000_000},  # above Llama's 700M MAU clause
        "enforce": {"sensitive_to_vendor": "on_prem"},
        "budgets": {"keys": {"spender": {"daily_usd": 0.000001}}},
        "retry": {"attempts": 1, "max_retry_after_s": 0},
        "routes": {
            "parity/auto": {
                "rules": [
                    {
                        "name": "masked",
                        "when": {"caller.tags": "masked"},
                        "then": {"route": "frontier", "redact": True},
                    },
                    {
                        "name": "private-stays-local",
                        "when": {"privacy.sensitive": True},
                        "then": {"route": "local", "keep_on_prem": True},
                    },
                    {
                        "name": "json-cascade",
                        "when": {"shape.json": True},
                        "then": {"cascade": ["json-bad", "json-good"], "validators": ["json"]},
                    },
                    {
                        "name": "over-budget",
                        "when": {"budget.exceeded": True},
                        "then": {"route": "local"},
                    },
                    tag_rule("fails", "fails"),
                    tag_rule("limited", "limited"),
                    tag_rule("slow", "slow"),
                    tag_rule("breaks", "breaks"),
                    tag_rule("llama", "llama"),
                ],
                "default": "frontier",
            },
            "parity/strict": {
                "rules": [
                    {
                        "name": "budget-spent",
                        "when": {"budget.exceeded": True},
                        "then": {"reject": {"status": 429, "message": "budget spent"}},
                    }
                ],
                "default": "frontier",
            },
            "parity/shadowed": {"default": "local", "shadow": {"to": "frontier", "share": 1.0}},
        },
    }
    env = {"FAKE_KEY": "sk-fake", **KEYS}
    gw = start_gateway(tmp_path_factory.mktemp("route"), config, env=env)
    yield gw
    gw.stop()


def client(gw: GatewayProcess, key: str = "sk-user") -> openai.OpenAI:
    return openai.OpenAI(base_url=gw.v1, api_key=key, max_retries=0)


def ask(
    gw: GatewayProcess, text: str, *, key: str = "sk-user", tags: str | None = None, **kw: Any
) -> httpx.Response:
    headers = {"authorization": f"Bearer {key}"}
    if tags:
        headers["x-parity-tags"] = tags
    body = {
        "model": kw.pop("model", "parity/auto"),
        "messages": [{"role": "user", "content": text}],
        "max_tokens": 8,
        **kw,
    }
    return httpx.post(f"{gw.v1}/chat/completions", json=body, headers=headers, timeout=60)


def row_of(gw: GatewayProcess, request_id: str) -> LedgerRow:
    return wait_for_rows(gw.ledger_url, {request_id})[request_id]


def test_card_numbers_and_emails_never_reach_the_vendor(
    gateway: GatewayProcess, vendor: VendorFake
) -> None:
    response = ask(gateway, SECRET)
    assert response.status_code == 200
    assert response.headers["x-parity-model"] == "local"
    assert response.headers["x-parity-route"] == "private-stays-local: local"
    assert vendor.received() == []
    row = row_of(gateway, response.headers["x-parity-request-id"])
    assert {"pii.email", "pii.credit_card"} <= set(row.data_classes)
    assert row.sent_to == ["on_prem"]
    # naming the vendor model directly does not get around the guard
    direct = ask(gateway, SECRET, model="frontier")
    assert direct.status_code == 403
    assert vendor.received() == []
    audit = subprocess.run(
        [sys.executable, "-m", "parity", "audit", "--ledger", gateway.ledger_url, "--json"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(audit.stdout) == []


def test_redaction_masks_before_the_call_and_restores_in_the_answer(
    gateway: GatewayProcess, vendor: VendorFake
) -> None:
    text = "Please write back to jane.doe@example.com today"
    response = ask(gateway, text, tags="masked")
    assert response.status_code == 200
    [sent] = vendor.received()
    sent_text = json.dumps(sent["body"]["messages"])
    assert "jane.doe@example.com" not in sent_text
    assert "<EMAIL_1>" in sent_text
    # the fake echoes the (masked) message; the client sees the real address again
    answer = response.json()["choices"][0]["message"]["content"]
    assert "jane.doe@example.com" in answer and "<EMAIL_1>" not in answer


def test_json_schema_requests_escalate_when_the_cheap_answer_is_invalid(
    gateway: GatewayProcess, vendor: VendorFake
) -> None:
    schema = {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    }
    response_format = {"type": "json_schema", "json_schema": {"name": "c", "schema": schema}}
    response = ask(gateway, "Which city?", response_format=response_format)
    assert response.status_code == 200
    assert response.headers["x-parity-model"] == "json-good"
    assert json.loads(response.json()["choices"][0]["message"]["content"])["city"]
    assert [r["body"]["model"] for r in vendor.received()] == ["json-invalid", "json-valid"]
    trace = row_of(gateway, response.headers["x-parity-request-id"]).trace or {}
    assert trace["escalations"][0]["from"] == "json-bad"
    assert trace["escalations"][0]["validator"] == "json"


def test_a_cascaded_stream_is_judged_before_the_client_sees_it(
    gateway: GatewayProcess, vendor: VendorFake
) -> None:
    stream = client(gateway).chat.completions.create(
        model="parity/auto",
        messages=[{"role": "user", "content": "Which city?"}],
        response_format={"type": "json_object"},
        stream=True,
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert isinstance(json.loads(text), dict)
    assert {c.model for c in chunks} == {"json-good"}


@pytest.mark.parametrize("tag", ["fails", "limited", "slow"])
def test_vendor_failures_fall_back_with_no_error_visible(
    gateway: GatewayProcess, vendor: VendorFake, tag: str
) -> None:
    response = ask(gateway, "Say hello.", tags=tag)
    assert response.status_code == 200, response.text
    assert response.headers["x-parity-model"] == "local"
    assert response.json()["choices"][0]["message"]["content"] is not None
    assert len(vendor.received()) == 1
    row = row_of(gateway, response.headers["x-parity-request-id"])
    outcomes = [a["outcome"] for a in (row.trace or {})["attempts"]]
    assert outcomes[-1] == "ok" and len(outcomes) == 2
    assert row.sent_to == ["on_prem", "vendor"]


def test_a_stream_that_breaks_before_its_first_byte_falls_back(gateway: GatewayProcess) -> None:
    with client(gateway).chat.completions.with_streaming_response.create(
        model="parity/auto",
        messages=[{"role": "user", "content": "Say hello."}],
        max_tokens=8,
        stream=True,
        extra_headers={"x-parity-tags": "breaks"},
    ) as response:
        assert response.headers["x-parity-model"] == "local"
        chunks = list(response.parse())
    assert any(c.choices and c.choices[0].delta.content for c in chunks)


def test_budgets_stop_spend(gateway: GatewayProcess, vendor: VendorFake) -> None:
    first = ask(gateway, "Say hello.", key="sk-spender", model="parity/strict")
    assert first.status_code == 200 and first.headers["x-parity-model"] == "frontier"
    assert row_of(gateway, first.headers["x-parity-request-id"]).cost_usd
    refused = ask(gateway, "Say hello.", key="sk-spender", model="parity/strict")
    assert refused.status_code == 429
    assert "budget spent" in refused.json()["error"]["message"]
    cheap = ask(gateway, "Say hello.", key="sk-spender")
    assert cheap.status_code == 200 and cheap.headers["x-parity-model"] == "local"
    assert len(vendor.received()) == 1  # only the first request reached the paid model


def test_a_restricted_licence_is_excluded(gateway: GatewayProcess, vendor: VendorFake) -> None:
    response = ask(gateway, "Say hello.", tags="llama")
    assert response.status_code == 200
    assert response.headers["x-parity-model"] == "local"
    assert vendor.received() == []
    row = row_of(gateway, response.headers["x-parity-request-id"])
    assert "700,000,000" in (row.trace or {})["excluded"]["llama"]


def test_override_headers_are_refused_to_keys_without_that_right(
    gateway: GatewayProcess,
) -> None:
    headers = {"x-parity-route": "frontier"}
    refused = httpx.post(
        f"{gateway.v1}/chat/completions",
        json={"model": "parity/auto", "messages": [{"role": "user", "content": "hi"}]},
        headers={"authorization": "Bearer sk-user", **headers},
    )
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "route_override_forbidden"
    allowed = httpx.post(
        f"{gateway.v1}/chat/completions",
        json={"model": "local", "messages": [{"role": "user", "content": "hi"}]},
        headers={"authorization": "Bearer sk-admin", **headers},
    )
    assert allowed.status_code == 200
    assert allowed.headers["x-parity-route"] == "override: frontier"


def test_keys_are_required_once_configured(gateway: GatewayProcess) -> None:
    missing = httpx.post(
        f"{gateway.v1}/chat/completions",
        json={"model": "local", "messages": [{"role": "user", "content": "hi"}]},
    )
    assert missing.status_code == 401
    wrong = ask(gateway, "hi", key="sk-nope")
    assert wrong.status_code == 401
    assert wrong.json()["error"]["type"] == "authentication_error"


def test_shadow_copies_are_sent_after_the_answer_and_stored(
    gateway: GatewayProcess, vendor: VendorFake
) -> None:
    response = ask(gateway, "Name a fruit.", model="parity/shadowed")
    assert response.status_code == 200 and response.headers["x-parity-model"] == "local"
    request_id = response.headers["x-parity-request-id"]
    shadow = row_of(gateway, f"{request_id}-shadow")
    assert shadow.route == "shadow" and shadow.model_answered == "frontier"
    assert (shadow.trace or {})["shadow_of"] == request_id
    assert shadow.response_text
    sensitive = ask(gateway, SECRET, model="parity/shadowed")
    assert sensitive.status_code == 200
    time.sleep(1)
    assert [r["body"]["messages"][0]["content"] for r in vendor.received()] == ["Name a fruit."]


def test_every_response_explains_its_route_and_the_ledger_keeps_the_trace(
    gateway: GatewayProcess,
) -> None:
    response = ask(gateway, "Say hello.")
    assert response.headers["x-parity-route"] == "default: frontier"
    trace = row_of(gateway, response.headers["x-parity-request-id"]).trace or {}
    assert trace["rule"] == "default"
    assert trace["residencies"] == {"frontier": "vendor"}
    assert "privacy" in trace["signals"]  # scanned because the plan named a vendor
    assert all("us" in values for values in trace["signals"].values())
