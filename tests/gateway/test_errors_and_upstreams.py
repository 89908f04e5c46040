"""The gateway process against the wire-format fake: every failure is a typed OpenAI error.

One gateway process serves the whole module; each deployment points at the fake vendor with a
model name that makes it misbehave in one way.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest

from parity.store.base import LedgerRow
from tests.fakes.fixtures import VendorFake
from tests.servers import GatewayProcess, start_gateway, wait_for_rows

MAX_BODY = 4096


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _deployment(model_id: str, upstream: str, base: str, **extra: Any) -> dict[str, Any]:
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


@pytest.fixture(scope="module")
def gateway(
    vendor_fake: VendorFake, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[GatewayProcess]:
    base = vendor_fake.openai_url
    models = [
        _deployment("gpt-fake", "gpt-4o", base),
        _deployment("fails-500", "error-500", base),
        _deployment("flaky", "flaky-1", base),
        _deployment("limited", "rate-limit", base),
        _deployment("slow", "slow-3", base, timeout_s=0.5),
        _deployment("refused", "gpt-4o", f"http://127.0.0.1:{_closed_port()}/v1"),
        _deployment("bad-key", "auth-401", base),
        _deployment("rejects", "bad-request", base),
        _deployment("garbled", "invalid-json", base),
        _deployment("breaks", "broken-stream", base),
        _deployment("breaks-early", "broken-before-first", base),
        {
            "id": "claude-fake",
            "provider": "anthropic",
            "base_url": vendor_fake.anthropic_url,
            "api_key_env": "FAKE_KEY",
            "upstream_model": "claude-sonnet-4-6",
            "residency": "vendor",
            "price": {"input": 3.0, "output": 15.0},
        },
    ]
    config = {
        "server": {"max_body_bytes": MAX_BODY},
        "models": models,
        "routes": {"parity/auto": {"default": "gpt-fake"}},
        "retry": {"attempts": 2, "backoff_s": 0.01, "max_retry_after_s": 0},
    }
    gw = start_gateway(tmp_path_factory.mktemp("gw"), config, env={"FAKE_KEY": "sk-fake"})
    yield gw
    gw.stop()


def chat(gw: GatewayProcess, model: str, **extra: Any) -> httpx.Response:
    body = {"model": model, "messages": [{"role": "user", "content": "hello there"}], **extra}
    return httpx.post(f"{gw.v1}/chat/completions", json=body, timeout=30)


def ledger_row(gw: GatewayProcess, request_id: str) -> LedgerRow:
    return wait_for_rows(gw.ledger_url, {request_id})[request_id]


def assert_openai_error(response: httpx.Response, status: int, error_type: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.headers["x-parity-request-id"].startswith("req_")
    assert "x-parity-model" in response.headers
    error: dict[str, Any] = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["type"] == error_type
    assert error["message"]
    return error


def test_a_good_upstream_answers_through_the_gateway(
    gateway: GatewayProcess, vendor: VendorFake
) -> None:
    response = chat(gateway, "gpt-fake", max_tokens=16, temperature=0, top_k=3, seed=7)
    assert response.status_code == 200
    data = response.json()
    assert data["model"] == "gpt-fake"
    assert data["choices"][0]["message"]["content"]
    assert response.headers["x-parity-model"] == "gpt-fake"
    assert response.headers["x-parity-route"] == "explicit: gpt-fake"
    [sent] = vendor.received()
    assert sent["path"] == "/v1/chat/completions"
    # unknown fields pass through untouched; the model is renamed for the upstream
    assert sent["body"]["top_k"] == 3 and sent["body"]["seed"] == 7
    assert sent["body"]["model"] == "gpt-4o"
    row = ledger_row(gateway, response.headers["x-parity-request-id"])
    assert row.status == 200 and row.model_answered == "gpt-fake"
    usage = data["usage"]
    assert (row.input_tokens, row.output_tokens) == (
        usage["prompt_tokens"],
        usage["completion_tokens"],
    )
    expected = (usage["prompt_tokens"] * 2.5 + usage["completion_tokens"] * 10.0) / 1e6
    assert row.cost_usd == pytest.approx(expected)


def test_parity_auto_goes_to_the_configured_default(gateway: GatewayProcess) -> None:
    response = chat(gateway, "parity/auto")
    assert response.status_code == 200
    assert response.headers["x-parity-model"] == "gpt-fake"
    assert response.headers["x-parity-route"] == "default: gpt-fake"
    row = ledger_row(gateway, response.headers["x-parity-request-id"])
    assert row.model_requested == "parity/auto" and row.route == "parity/auto"


def test_models_lists_deployments_and_aliases(gateway: GatewayProcess) -> None:
    response = httpx.get(f"{gateway.v1}/models")
    assert response.status_code == 200
    ids = [m["id"] for m in response.json()["data"]]
    assert "gpt-fake" in ids and "claude-fake" in ids and "parity/auto" in ids
    assert response.headers["x-parity-request-id"].startswith("req_")


def test_health_and_readiness(gateway: GatewayProcess) -> None:
    assert httpx.get(f"{gateway.url}/healthz").json() == {"status": "ok"}
    ready = httpx.get(f"{gateway.url}/readyz")
    assert ready.status_code == 200
    assert ready.json()["status"] == "ready"


@pytest.mark.parametrize(
    ("body", "param", "fragment"),
    [
        (b"{not json", None, "not valid JSON"),
        (b"[1, 2]", None, "JSON object"),
        (b"", None, "empty"),
        (b'{"messages": [{"role": "user", "content": "x"}]}', "model", "model"),
        (b'{"model": "gpt-fake"}', "messages", "messages"),
        (b'{"model": "gpt-fake", "messages": []}', "messages", "non-empty"),
        (b'{"model": "gpt-fake", "messages": [{"role": "wizard"}]}', "messages[0].role", "role"),
        (b'{"model": "gpt-fake", "messages": [{"role": "user"}], "stream": "yes"}', "stream", ""),
        (
            b'{"model": "gpt-fake", "messages": [{"role": "user"}], "max_tokens": -1}',
            "max_tokens",
            "",
        ),
    ],
)
def test_malformed_requests_get_a_400(
    gateway: GatewayProcess, body: bytes, param: str | None, fragment: str
) -> None:
    response = httpx.post(
        f"{gateway.v1}/chat/completions",
        content=body,
        headers={"content-type": "application/json"},
    )
    error = assert_openai_error(response, 400, "invalid_request_error")
    assert error["param"] == param
    assert fragment in error["message"]
    row = ledger_row(gateway, response.headers["x-parity-request-id"])
    assert row.status == 400 and row.error_type in {"InvalidJSON", "InvalidField"}


def test_unknown_model_is_a_404_naming_the_known_ones(gateway: GatewayProcess) -> None:
    error = assert_openai_error(chat(gateway, "gpt-17"), 404, "invalid_request_error")
    assert error["code"] == "model_not_found" and error["param"] == "model"
    assert "gpt-fake" in error["message"]


def test_oversized_bodies_get_a_413(gateway: GatewayProcess) -> None:
    big = "x" * (MAX_BODY + 10)
    assert_openai_error(chat(gateway, "gpt-fake", user=big), 413, "invalid_request_error")

    def chunks() -> Iterator[bytes]:  # no content-length: the limit is enforced while reading
        yield b'{"model": "gpt-fake", "user": "'
        for _ in range(10):
            yield b"y" * 1000
        yield b'", "messages": [{"role": "user", "content": "x"}]}'

    response = httpx.post(f"{gateway.v1}/chat/completions", content=chunks())
    assert_openai_error(response, 413, "invalid_request_error")


def test_unknown_paths_and_methods(gateway: GatewayProcess) -> None:
    assert_openai_error(httpx.get(f"{gateway.v1}/nothing"), 404, "not_found_error")
    assert_openai_error(httpx.get(f"{gateway.v1}/chat/completions"), 405, "invalid_request_error")


@pytest.mark.parametrize(
    "case",
    [
        ("fails-500", 502, "upstream_server_error", 2),  # retried once, then given up
        ("limited", 429, "rate_limit_error", 1),  # retry-after 1s > max_retry_after_s 0
        ("slow", 504, "upstream_timeout", 2),
        ("bad-key", 502, "upstream_auth_error", 1),
        ("rejects", 400, "invalid_request_error", 1),
        ("garbled", 502, "upstream_protocol_error", 2),
    ],
)
def test_upstream_failures_map_to_typed_errors(
    gateway: GatewayProcess, vendor: VendorFake, case: tuple[str, int, str, int]
) -> None:
    model, status, error_type, calls = case
    response = chat(gateway, model)
    assert_openai_error(response, status, error_type)
    assert response.headers["x-parity-model"] == model
    assert len(vendor.received()) == calls
    row = ledger_row(gateway, response.headers["x-parity-request-id"])
    assert row.status == status and row.attempts == calls
    assert row.trace is not None and len(row.trace["attempts"]) == calls


def test_rate_limits_pass_retry_after_on(gateway: GatewayProcess) -> None:
    response = chat(gateway, "limited")
    assert response.status_code == 429
    assert response.headers["retry-after"] == "1"


def test_unreachable_upstream_is_a_502(gateway: GatewayProcess) -> None:
    error = assert_openai_error(chat(gateway, "refused"), 502, "upstream_connect_error")
    assert "cannot connect" in error["message"]


def test_a_retryable_failure_is_retried_invisibly(
    gateway: GatewayProcess, vendor: VendorFake
) -> None:
    response = chat(gateway, "flaky")
    assert response.status_code == 200
    assert len(vendor.received()) == 2
    row = ledger_row(gateway, response.headers["x-parity-request-id"])
    assert [a["outcome"] for a in (row.trace or {})["attempts"]] == ["UpstreamServerError", "ok"]


def test_a_stream_broken_halfway_ends_with_an_in_band_error(gateway: GatewayProcess) -> None:
    body = {"model": "breaks", "stream": True, "messages": [{"role": "user", "content": "hi"}]}
    with httpx.stream("POST", f"{gateway.v1}/chat/completions", json=body, timeout=30) as r:
        assert r.status_code == 200
        request_id = r.headers["x-parity-request-id"]
        events = [line for line in r.iter_lines() if line.startswith("data: ")]
    assert events[-1] == "data: [DONE]"
    assert '"error"' in events[-2] and "upstream_protocol_error" in events[-2]
    assert any('"content"' in e for e in events[:-2])
    row = ledger_row(gateway, request_id)
    assert row.status == 502 and row.error_type == "UpstreamProtocolError"
    assert row.stream and row.response_text


def test_a_stream_broken_before_its_first_byte_is_a_plain_error(gateway: GatewayProcess) -> None:
    response = chat(gateway, "breaks-early", stream=True)
    assert_openai_error(response, 502, "upstream_protocol_error")


def test_the_openai_sdk_sees_typed_errors(gateway: GatewayProcess) -> None:
    client = openai.OpenAI(base_url=gateway.v1, api_key="unused", max_retries=0)
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model="nope", messages=[{"role": "user", "content": "x"}])
    with pytest.raises(openai.RateLimitError):
        client.chat.completions.create(model="limited", messages=[{"role": "user", "content": "x"}])
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(model="gpt-fake", messages=[])


def test_anthropic_deployments_are_translated_both_ways(
    gateway: GatewayProcess, vendor: VendorFake
) -> None:
    client = openai.OpenAI(base_url=gateway.v1, api_key="unused", max_retries=0)
    reply = client.chat.completions.create(
        model="claude-fake",
        messages=[
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Name a colour."},
        ],
        max_tokens=20,
    )
    assert reply.model == "claude-fake"
    assert reply.choices[0].message.content
    assert reply.usage is not None and reply.usage.completion_tokens > 0
    [sent] = vendor.received()
    assert sent["path"] == "/v1/messages"
    assert sent["body"]["system"] == "Be brief."
    [message] = sent["body"]["messages"]
    content = message["content"]  # a string or text blocks: both are valid Messages API input
    text = content if isinstance(content, str) else "".join(b["text"] for b in content)
    assert (message["role"], text) == ("user", "Name a colour.")
    assert sent["body"]["max_tokens"] == 20

    chunks = list(
        client.chat.completions.create(
            model="claude-fake",
            messages=[{"role": "user", "content": "Name a colour."}],
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens > 0
    assert {c.model for c in chunks} == {"claude-fake"}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/v1/models"),
        ("DELETE", "/v1/models"),
        ("POST", "/healthz"),
        ("PUT", "/readyz"),
        ("PATCH", "/v1/chat/completions"),
    ],
)
def test_every_endpoint_refuses_the_wrong_method(
    gateway: GatewayProcess, method: str, path: str
) -> None:
    response = httpx.request(method, f"{gateway.url}{path}", content=b"{}")
    error = assert_openai_error(response, 405, "invalid_request_error")
    assert method in error["message"]
