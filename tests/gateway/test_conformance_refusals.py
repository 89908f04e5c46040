"""What a backend cannot honour is refused as OpenAI refuses it, not dropped without a word.

Through the real gateway process, to the embedded llama.cpp and the fake vendor's OpenAI and
Anthropic wires: ``n`` where the server ignores it, values outside OpenAI's ranges,
``max_tokens`` past the deployment's limit, log probabilities Anthropic cannot give; the same
with ``drop_params`` dropping them; a prompt longer than the context answered exactly as
OpenAI does, and never retried, fallen back or counted toward the breaker; and no upstream's
traceback ever reaching a client.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest

from tests.fakes.fixtures import VendorFake
from tests.gateway.conformance_setup import (
    LOCAL,
    N_CTX,
    TOO_LONG,
    check_schema,
    conformance_gateway,
)
from tests.servers import GatewayProcess, wait_for_rows

ASK: Any = [{"role": "user", "content": "Name one colour."}]


@pytest.fixture(scope="module")
def gateway(
    vendor_fake: VendorFake, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[GatewayProcess]:
    yield from conformance_gateway(vendor_fake, tmp_path_factory)


@pytest.fixture
def client(gateway: GatewayProcess) -> openai.OpenAI:
    return openai.OpenAI(base_url=gateway.v1, api_key="unused", max_retries=0, timeout=120)


def _post(gateway: GatewayProcess, model: str, **fields: Any) -> httpx.Response:
    body = {"model": model, "messages": ASK, "max_tokens": 8, **fields}
    return httpx.post(f"{gateway.v1}/chat/completions", json=body, timeout=120)


def _error(response: httpx.Response, status: int = 400) -> dict[str, Any]:
    assert response.status_code == status, response.text
    check_schema("ErrorResponse", response.json())
    error: dict[str, Any] = response.json()["error"]
    return error


@pytest.mark.parametrize(
    "case",
    [
        (LOCAL, {"n": 2}, "n", "unsupported_parameter"),
        ("anthropic/fake-model", {"n": 3}, "n", "unsupported_parameter"),
        ("anthropic/fake-model", {"logprobs": True}, "logprobs", "unsupported_parameter"),
        ("anthropic/fake-model", {"frequency_penalty": 1}, "frequency_penalty", None),
        (LOCAL, {"temperature": 2.5}, "temperature", "decimal_above_max_value"),
        ("openai/fake-model", {"top_p": -0.5}, "top_p", "decimal_below_min_value"),
        ("anthropic/fake-model", {"presence_penalty": 9}, "presence_penalty", None),
        (LOCAL, {"max_tokens": 4096}, "max_tokens", "integer_above_max_value"),
        (LOCAL, {"max_completion_tokens": N_CTX + 1}, "max_completion_tokens", None),
    ],
)
def test_what_a_backend_cannot_honour_is_a_400_naming_it_and_nothing_is_sent(
    gateway: GatewayProcess, vendor: VendorFake, case: tuple[str, dict[str, Any], str, str | None]
) -> None:
    model, fields, param, code = case
    response = _post(gateway, model, **fields)
    error = _error(response)
    assert error["type"] == "invalid_request_error" and error["param"] == param
    if code is not None:
        assert error["code"] == code
    assert vendor.received() == []
    request_id = response.headers["x-parity-request-id"]
    row = wait_for_rows(gateway.ledger_url, {request_id})[request_id]
    assert row.status == 400 and row.error_type == "InvalidField"
    assert row.trace is not None and row.trace["attempts"] == []


def test_the_openai_sdk_sees_the_refusal_as_its_bad_request(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model=LOCAL, messages=ASK, n=2)
    assert caught.value.param == "n" and caught.value.code == "unsupported_parameter"


def test_n_goes_to_an_openai_compatible_upstream_that_answers_it(
    gateway: GatewayProcess, vendor: VendorFake
) -> None:
    response = _post(gateway, "openai/fake-model", n=2)
    assert response.status_code == 200, response.text
    assert [c["index"] for c in response.json()["choices"]] == [0, 1]
    assert vendor.received()[0]["body"]["n"] == 2


def test_a_deployment_that_cannot_is_skipped_for_a_fallback_that_can(
    gateway: GatewayProcess,
) -> None:
    response = _post(gateway, "choices/fallback", n=2)
    assert response.status_code == 200, response.text
    assert response.headers["x-parity-model"] == "openai/fake-model"
    request_id = response.headers["x-parity-request-id"]
    row = wait_for_rows(gateway.ledger_url, {request_id})[request_id]
    assert row.trace is not None
    assert [r["model"] for r in row.trace["refused"]] == [LOCAL]
    assert [a["model"] for a in row.trace["attempts"]] == ["openai/fake-model"]
    assert row.sent_to == ["vendor"]  # nothing went to the model that could not take it


def test_drop_params_drops_and_says_what_it_dropped(
    gateway: GatewayProcess, vendor: VendorFake
) -> None:
    response = _post(
        gateway, "anthropic/lenient", n=2, temperature=3, logprobs=True, top_logprobs=2
    )
    assert response.status_code == 200, response.text
    assert response.headers["x-parity-dropped-params"] == "temperature,n,logprobs,top_logprobs"
    sent = vendor.received()[0]["body"]
    assert "temperature" not in sent and "n" not in sent
    request_id = response.headers["x-parity-request-id"]
    row = wait_for_rows(gateway.ledger_url, {request_id})[request_id]
    assert row.trace is not None
    assert row.trace["dropped_params"] == {
        "anthropic/lenient": ["temperature", "n", "logprobs", "top_logprobs"]
    }
    assert "x-parity-dropped-params" not in _post(gateway, "anthropic/lenient").headers


def _assert_context_length(response: httpx.Response) -> None:
    error = _error(response)
    assert error["type"] == "invalid_request_error"
    assert error["param"] == "messages" and error["code"] == "context_length_exceeded"
    assert "maximum context length" in error["message"] or "too long" in error["message"]


@pytest.mark.parametrize("stream", [False, True])
def test_a_prompt_too_long_for_llama_cpp_is_openais_context_length_error(
    gateway: GatewayProcess, stream: bool
) -> None:
    ids = []
    for _ in range(3):  # more than breaker_failures
        body = {"model": LOCAL, "messages": [{"role": "user", "content": TOO_LONG}]}
        response = httpx.post(
            f"{gateway.v1}/chat/completions", json={**body, "stream": stream}, timeout=120
        )
        _assert_context_length(response)
        assert f"maximum context length is {N_CTX} tokens" in response.json()["error"]["message"]
        ids.append(response.headers["x-parity-request-id"])
    rows = wait_for_rows(gateway.ledger_url, set(ids))
    assert {row.error_type for row in rows.values()} == {"ContextLengthExceeded"}
    assert all(row.attempts == 1 for row in rows.values())  # never retried
    assert _post(gateway, LOCAL).status_code == 200  # the breaker never opened
    ready = httpx.get(f"{gateway.url}/readyz", timeout=10).json()
    assert ready["models"][LOCAL] == "ok"


def test_an_upstreams_context_length_error_is_answered_and_never_fallen_back(
    gateway: GatewayProcess, vendor: VendorFake
) -> None:
    for _ in range(3):
        response = _post(gateway, "long/fallback")
        _assert_context_length(response)
    assert [r["body"]["model"] for r in vendor.received()] == ["context-length"] * 3
    assert _post(gateway, "openai/fake-model").status_code == 200


def test_anthropics_too_long_prompt_is_its_400_without_a_retry(
    gateway: GatewayProcess, vendor: VendorFake
) -> None:
    error = _error(_post(gateway, "anthropic/context-length"))
    # Anthropic's error has no code to say which 400 it is: its words, a plain 400
    assert error["type"] == "invalid_request_error" and "prompt is too long" in error["message"]
    assert len(vendor.received()) == 1


@pytest.mark.parametrize(
    ("model", "stream"), [("openai/traceback-500", False), ("anthropic/traceback-500", True)]
)
def test_an_upstreams_traceback_never_reaches_the_client(
    gateway: GatewayProcess, model: str, stream: bool
) -> None:
    response = _post(gateway, model, stream=stream)  # retried once, then the breaker opens
    error = _error(response, 502)
    for leak in ("Traceback", 'File "', "/srv/vendor", "handlers.py"):
        assert leak not in response.text
    assert error["type"] == "upstream_server_error" and model in error["message"]


def test_llama_cpp_gives_log_probabilities_for_logprobs_true(client: openai.OpenAI) -> None:
    reply = client.chat.completions.create(
        model=LOCAL, messages=ASK, max_tokens=3, logprobs=True, temperature=0
    )
    logprobs = reply.choices[0].logprobs
    assert logprobs is not None and logprobs.content  # llama.cpp alone answers null
    check_schema("CreateChatCompletionResponse", reply.model_dump(exclude_unset=True))
