"""AnthropicProvider against the fake vendor, which speaks the real Messages API wire format."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from parity.catalog.deployment import ProviderKind
from parity.errors import (
    InvalidField,
    UpstreamAuthError,
    UpstreamConnectError,
    UpstreamError,
    UpstreamProtocolError,
    UpstreamRateLimited,
    UpstreamServerError,
    UpstreamTimeout,
)
from parity.providers.anthropic import AnthropicProvider
from tests.fakes.deployments import ERROR_MODELS, FAKE_KEY, collect, fake_deployment, fake_env
from tests.fakes.fixtures import VendorFake
from tests.servers import free_port

pytestmark = pytest.mark.anyio

Make = Callable[..., AnthropicProvider]
HELLO = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hello there"}]
WEATHER = {
    "type": "function",
    "function": {
        "name": "weather",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
            "required": ["city"],
        },
    },
}


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def make(vendor: VendorFake) -> AsyncIterator[Make]:
    """Build providers on the fake; all are closed when the test ends."""
    made: list[AnthropicProvider] = []

    def build(model: str, env: dict[str, str] | None = None, **fields: Any) -> AnthropicProvider:
        deployment = fake_deployment(vendor, ProviderKind.ANTHROPIC, model, **fields)
        provider = AnthropicProvider(deployment, fake_env() if env is None else env)
        made.append(provider)
        return provider

    yield build
    for provider in made:
        await provider.close()


async def test_chat_translates_both_ways(make: Make, vendor: VendorFake) -> None:
    provider = make("claude-fake")
    answer = await provider.chat({"model": "ignored", "messages": HELLO, "user": "u1"})
    assert answer.text == "Echo: hello there"
    assert answer.body["model"] == "anthropic/claude-fake"
    assert answer.body["object"] == "chat.completion"
    assert answer.body["choices"][0]["finish_reason"] == "stop"
    assert answer.usage is not None
    assert (answer.usage.input_tokens, answer.usage.output_tokens) == (4, 3)
    assert answer.body["usage"]["total_tokens"] == 7

    [seen] = vendor.received()
    assert seen["path"] == "/v1/messages"
    assert seen["headers"]["anthropic-version"] == "2023-06-01"
    assert seen["headers"]["x-api-key"].endswith(FAKE_KEY[-4:])
    assert "authorization" not in seen["headers"]
    assert seen["body"]["model"] == "claude-fake"
    assert seen["body"]["system"] == "Be brief."
    assert seen["body"]["max_tokens"] == 1024
    assert seen["body"]["metadata"] == {"user_id": "u1"}


async def test_stream_text(make: Make) -> None:
    chunks: list[dict[str, Any]] = []
    await collect(make("claude-fake").stream({"messages": HELLO, "max_tokens": 50}), chunks)
    deltas = [c["choices"][0]["delta"] for c in chunks if c["choices"]]
    assert deltas[0]["role"] == "assistant"
    assert "".join(d.get("content") or "" for d in deltas) == "Echo: hello there"
    finishes = [c["choices"][0]["finish_reason"] for c in chunks if c["choices"]]
    assert finishes[-1] == "stop" and finishes.count("stop") == 1
    assert chunks[-1]["choices"] == []
    assert chunks[-1]["usage"] == {
        "prompt_tokens": 4,
        "completion_tokens": 3,
        "total_tokens": 7,
        "prompt_tokens_details": {"cached_tokens": 0},
    }
    assert {c["model"] for c in chunks} == {"anthropic/claude-fake"}


async def test_tool_calls_non_streaming_and_streaming(make: Make) -> None:
    body = {"messages": [{"role": "user", "content": "weather?"}], "tools": [WEATHER]}
    provider = make("tool-call")
    answer = await provider.chat(body)
    choice = answer.body["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    [call] = choice["message"]["tool_calls"]
    assert call["function"]["name"] == "weather"
    assert json.loads(call["function"]["arguments"]) == {"city": "example"}

    chunks: list[dict[str, Any]] = []
    await collect(provider.stream(body), chunks)
    calls = [
        d for c in chunks if c["choices"] for d in c["choices"][0]["delta"].get("tool_calls", [])
    ]
    assert calls[0]["index"] == 0 and calls[0]["id"].startswith("toolu_")
    assert calls[0]["function"] == {"name": "weather", "arguments": ""}
    assert all(set(c) == {"index", "function"} for c in calls[1:])
    arguments = "".join(c["function"]["arguments"] for c in calls)
    assert json.loads(arguments) == {"city": "example"}
    assert [c["choices"][0]["finish_reason"] for c in chunks if c["choices"]][-1] == "tool_calls"


async def test_tool_round_trip_passes_the_real_apis_pairing_rules(make: Make) -> None:
    call = {
        "id": "toolu_1",
        "type": "function",
        "function": {"name": "weather", "arguments": '{"city": "Oslo"}'},
    }
    messages = [
        {"role": "user", "content": "weather in Oslo?"},
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "toolu_1", "content": "rain, 4 C"},
    ]
    answer = await make("claude-fake").chat({"messages": messages, "tools": [WEATHER]})
    assert answer.text == "Echo: rain, 4 C"


async def test_json_schema_answer_follows_the_schema_carried_in_the_system_prompt(
    make: Make,
) -> None:
    schema = {
        "type": "object",
        "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
    }
    body = {
        "messages": [{"role": "user", "content": "who?"}],
        "response_format": {"type": "json_schema", "json_schema": {"name": "p", "schema": schema}},
    }
    answer = await make("json-valid").chat(body)
    assert json.loads(answer.text) == {"name": "example", "age": 1}
    with pytest.raises(json.JSONDecodeError):
        json.loads((await make("json-invalid").chat(body)).text)


@pytest.mark.parametrize(
    ("model", "finish", "text"),
    [
        ("truncated", "length", "Echo: hello"),
        ("refusal", "stop", "I'm sorry, but I can't help with that."),
        ("empty", "stop", ""),
    ],
)
async def test_shaped_answers(make: Make, model: str, finish: str, text: str) -> None:
    answer = await make(model).chat({"messages": HELLO})
    assert answer.body["choices"][0]["finish_reason"] == finish
    assert answer.body["choices"][0]["message"]["content"] == text


async def call(provider: AnthropicProvider, streaming: bool, chunks: list[dict[str, Any]]) -> None:
    """One call, streamed into ``chunks`` or not."""
    if streaming:
        await collect(provider.stream({"messages": HELLO}), chunks)
    else:
        chunks.append((await provider.chat({"messages": HELLO})).body)


@pytest.mark.parametrize(("model", "error", "status"), ERROR_MODELS)
@pytest.mark.parametrize("streaming", [False, True])
async def test_error_statuses_are_typed(
    make: Make, model: str, error: type[UpstreamError], status: int, streaming: bool
) -> None:
    provider = make(model)
    chunks: list[dict[str, Any]] = []
    with pytest.raises(UpstreamError) as caught:
        await call(provider, streaming, chunks)
    assert type(caught.value) is error
    assert caught.value.upstream_status == status
    assert caught.value.deployment == f"anthropic/{model}"
    assert chunks == []


async def test_rate_limit_carries_retry_after(make: Make) -> None:
    with pytest.raises(UpstreamRateLimited) as caught:
        await make("rate-limit").chat({"messages": HELLO})
    assert caught.value.retry_after == 1.0
    assert caught.value.retryable
    assert caught.value.headers() == [(b"retry-after", b"1")]


async def test_missing_key_is_an_auth_error(make: Make) -> None:
    with pytest.raises(UpstreamAuthError):
        await make("claude-fake", env={}).chat({"messages": HELLO})


@pytest.mark.parametrize(
    ("model", "error"),
    [
        ("stream-error-overloaded", UpstreamServerError),
        ("stream-error-api", UpstreamServerError),
        ("stream-error-rate_limit", UpstreamRateLimited),
        ("stream-error-invalid_request", UpstreamProtocolError),
        ("broken-stream", UpstreamProtocolError),
    ],
)
async def test_stream_failing_halfway(make: Make, model: str, error: type[UpstreamError]) -> None:
    chunks: list[dict[str, Any]] = []
    with pytest.raises(UpstreamError) as caught:
        await collect(make(model).stream({"messages": HELLO}), chunks)
    assert type(caught.value) is error
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    assert any(c["choices"][0]["delta"].get("content") for c in chunks)


@pytest.mark.parametrize("model", ["broken-before-first", "invalid-json"])
async def test_stream_broken_before_any_content(make: Make, model: str) -> None:
    chunks: list[dict[str, Any]] = []
    with pytest.raises(UpstreamProtocolError):
        await collect(make(model).stream({"messages": HELLO}), chunks)
    assert not any(c["choices"] and c["choices"][0]["delta"].get("content") for c in chunks)


async def test_invalid_json_body_is_a_protocol_error(make: Make) -> None:
    with pytest.raises(UpstreamProtocolError):
        await make("invalid-json").chat({"messages": HELLO})


@pytest.mark.parametrize("model", ["slow-3", "stall-3"])
async def test_timeouts(make: Make, model: str) -> None:
    chunks: list[dict[str, Any]] = []
    with pytest.raises(UpstreamTimeout):
        await collect(make(model, timeout_s=0.3).stream({"messages": HELLO}), chunks)
    if model == "slow-3":
        with pytest.raises(UpstreamTimeout):
            await make(model, timeout_s=0.3).chat({"messages": HELLO})


async def test_nobody_listening_is_a_connect_error(make: Make) -> None:
    provider = make("claude-fake", base_url=f"http://127.0.0.1:{free_port()}")
    with pytest.raises(UpstreamConnectError):
        await provider.chat({"messages": HELLO})


async def test_flaky_fails_then_answers_and_pool_is_reused(make: Make) -> None:
    provider = make("flaky-1")
    with pytest.raises(UpstreamServerError):
        await provider.chat({"messages": HELLO})
    assert (await provider.chat({"messages": HELLO})).text == "Echo: hello there"


async def test_client_errors_are_raised_before_any_request(make: Make, vendor: VendorFake) -> None:
    with pytest.raises(InvalidField):
        await make("claude-fake").chat({"messages": HELLO, "n": 3})
    assert vendor.received() == []
