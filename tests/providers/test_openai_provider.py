"""OpenAIProvider against the fake vendor: pass-through, streaming, the error and timeout matrix."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from parity.catalog.deployment import ProviderKind
from parity.errors import (
    UpstreamAuthError,
    UpstreamConnectError,
    UpstreamError,
    UpstreamProtocolError,
    UpstreamRateLimited,
    UpstreamServerError,
    UpstreamTimeout,
)
from parity.providers.openai_compat import OpenAIProvider
from tests.fakes.deployments import ERROR_MODELS, FAKE_KEY, collect, fake_deployment, fake_env
from tests.fakes.fixtures import VendorFake
from tests.servers import free_port

pytestmark = pytest.mark.anyio

Make = Callable[..., OpenAIProvider]
HELLO = [{"role": "user", "content": "hello there"}]


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def make(vendor: VendorFake) -> AsyncIterator[Make]:
    """Build providers on the fake; all are closed when the test ends."""
    made: list[OpenAIProvider] = []

    def build(model: str, env: dict[str, str] | None = None, **fields: Any) -> OpenAIProvider:
        deployment = fake_deployment(vendor, ProviderKind.OPENAI, model, **fields)
        provider = OpenAIProvider(deployment, fake_env() if env is None else env)
        made.append(provider)
        return provider

    yield build
    for provider in made:
        await provider.close()


async def test_chat_passes_unknown_fields_and_renames_the_model(
    make: Make, vendor: VendorFake
) -> None:
    answer = await make("gpt-upstream").chat(
        {"model": "asked", "messages": HELLO, "seed": 7, "vendor_x": {"a": 1}}
    )
    assert answer.text == "Echo: hello there"
    assert answer.body["model"] == "openai/gpt-upstream"
    assert answer.usage is not None
    assert (answer.usage.input_tokens, answer.usage.output_tokens) == (2, 3)
    [seen] = vendor.received()
    assert seen["path"] == "/v1/chat/completions"
    assert seen["headers"]["authorization"] == f"Bearer ***{FAKE_KEY[-4:]}"
    assert seen["body"]["model"] == "gpt-upstream"
    assert seen["body"]["seed"] == 7 and seen["body"]["vendor_x"] == {"a": 1}
    assert seen["body"]["stream"] is False


async def test_stream_asks_for_usage_and_ends_with_it(make: Make, vendor: VendorFake) -> None:
    chunks: list[dict[str, Any]] = []
    body = {"messages": HELLO, "stream_options": {"include_usage": False}}
    await collect(make("gpt-upstream").stream(body), chunks)
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    assert text == "Echo: hello there"
    assert chunks[-1]["choices"] == []
    assert chunks[-1]["usage"]["completion_tokens"] == 3
    assert {c["model"] for c in chunks} == {"openai/gpt-upstream"}
    [seen] = vendor.received()
    assert seen["body"]["stream"] is True
    assert seen["body"]["stream_options"] == {"include_usage": True}


async def test_streamed_tool_call(make: Make) -> None:
    tool = {
        "type": "function",
        "function": {
            "name": "lookup",
            "parameters": {
                "type": "object",
                "properties": {"q": {"type": "string"}},
                "required": ["q"],
            },
        },
    }
    chunks: list[dict[str, Any]] = []
    await collect(make("tool-call").stream({"messages": HELLO, "tools": [tool]}), chunks)
    calls = [
        d for c in chunks if c["choices"] for d in c["choices"][0]["delta"].get("tool_calls", [])
    ]
    assert calls[0]["function"]["name"] == "lookup"
    assert "".join(c["function"]["arguments"] for c in calls) == '{"q": "example"}'
    assert [c["choices"][0]["finish_reason"] for c in chunks if c["choices"]][-1] == "tool_calls"


async def call(provider: OpenAIProvider, streaming: bool, chunks: list[dict[str, Any]]) -> None:
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
    chunks: list[dict[str, Any]] = []
    with pytest.raises(UpstreamError) as caught:
        await call(make(model), streaming, chunks)
    assert type(caught.value) is error
    assert caught.value.upstream_status == status
    assert caught.value.deployment == f"openai/{model}"
    assert chunks == []


async def test_rate_limit_carries_retry_after(make: Make) -> None:
    with pytest.raises(UpstreamRateLimited) as caught:
        await make("rate-limit").chat({"messages": HELLO})
    assert caught.value.retry_after == 1.0 and caught.value.retryable


async def test_missing_key_is_an_auth_error(make: Make) -> None:
    with pytest.raises(UpstreamAuthError):
        await make("gpt-upstream", env={}).chat({"messages": HELLO})


@pytest.mark.parametrize(
    ("model", "error"),
    [
        ("broken-stream", UpstreamProtocolError),
        ("unfinished-stream", UpstreamProtocolError),  # [DONE] with no finish_reason
        ("stream-error-api", UpstreamServerError),
    ],
)
async def test_stream_failing_halfway(make: Make, model: str, error: type[UpstreamError]) -> None:
    chunks: list[dict[str, Any]] = []
    with pytest.raises(UpstreamError) as caught:
        await collect(make(model).stream({"messages": HELLO}), chunks)
    assert type(caught.value) is error
    assert any(c["choices"][0]["delta"].get("content") for c in chunks)


@pytest.mark.parametrize("model", ["broken-before-first", "invalid-json"])
@pytest.mark.parametrize("streaming", [False, True])
async def test_broken_before_any_content(make: Make, model: str, streaming: bool) -> None:
    chunks: list[dict[str, Any]] = []
    if model == "broken-before-first" and not streaming:
        model = "invalid-json"  # a non-streamed answer cannot break "before the first event"
    with pytest.raises(UpstreamProtocolError):
        await call(make(model), streaming, chunks)
    assert not any(c.get("choices") and c["choices"][0]["delta"].get("content") for c in chunks)


@pytest.mark.parametrize(
    ("model", "streaming"), [("slow-3", False), ("slow-3", True), ("stall-3", True)]
)
async def test_timeouts(make: Make, model: str, streaming: bool) -> None:
    with pytest.raises(UpstreamTimeout):
        await call(make(model, timeout_s=0.3), streaming, [])


async def test_nobody_listening_is_a_connect_error(make: Make) -> None:
    provider = make("gpt-upstream", base_url=f"http://127.0.0.1:{free_port()}/v1")
    with pytest.raises(UpstreamConnectError):
        await provider.chat({"messages": HELLO})


async def test_flaky_fails_then_answers(make: Make) -> None:
    provider = make("flaky-2")
    for _ in range(2):
        with pytest.raises(UpstreamServerError):
            await provider.chat({"messages": HELLO})
    assert (await provider.chat({"messages": HELLO})).text == "Echo: hello there"


def test_no_traceback_survives_in_an_upstream_message() -> None:
    from parity.providers.http import clean_message, error_for_status, event_message
    from tests.fakes.behaviour import TRACEBACK

    assert clean_message(TRACEBACK) == "(no message)"
    assert clean_message("bad input\n" + TRACEBACK) == "bad input"
    assert event_message({"message": "worker died\n" + TRACEBACK}) == "worker died"
    error = error_for_status("x", 500, TRACEBACK.encode(), {})
    assert "File" not in error.message and "/srv" not in error.message
