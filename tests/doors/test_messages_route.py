"""POST /v1/messages through the real gateway, with the official anthropic SDK.

The SDK is pointed at the gateway as ANTHROPIC_BASE_URL would point it; the deployments behind
it are the fake vendor's OpenAI-compatible and Anthropic wire formats.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import anthropic
import httpx
import pytest

from tests.doors.test_responses_route import door_config
from tests.fakes.deployments import FAKE_KEY, FAKE_KEY_ENV
from tests.fakes.fixtures import VendorFake
from tests.servers import GatewayProcess, start_gateway, wait_for_rows

WEATHER: Any = {
    "name": "get_weather",
    "description": "The weather in a city.",
    "input_schema": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    },
}


@pytest.fixture(scope="module")
def gateway(
    vendor_fake: VendorFake, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[GatewayProcess]:
    config = door_config(vendor_fake)
    config["keys"] = [{"id": "team-a", "key_env": "TEAM_A_KEY"}]
    env = {FAKE_KEY_ENV: FAKE_KEY, "TEAM_A_KEY": "sk-team-a-0123456789"}
    gw = start_gateway(tmp_path_factory.mktemp("messages"), config, env=env)
    yield gw
    gw.stop()


@pytest.fixture
def client(gateway: GatewayProcess, vendor: VendorFake) -> Iterator[anthropic.Anthropic]:
    with anthropic.Anthropic(
        base_url=gateway.url, api_key="sk-team-a-0123456789", max_retries=0, timeout=30
    ) as sdk:
        yield sdk


def _sent(vendor: VendorFake) -> dict[str, Any]:
    calls = [r for r in vendor.received() if str(r["path"]).endswith(("/completions", "/messages"))]
    body: dict[str, Any] = calls[-1]["body"]
    return body


@pytest.mark.parametrize("model", ["fake/echo", "claude/echo"])
def test_messages_create_answers_and_is_accounted(
    client: anthropic.Anthropic, gateway: GatewayProcess, vendor: VendorFake, model: str
) -> None:
    raw = client.messages.with_raw_response.create(
        model=model,
        max_tokens=64,
        system="Be brief.",
        messages=[{"role": "user", "content": "hello there"}],
    )
    message = raw.parse()
    assert message.type == "message" and message.role == "assistant"
    assert message.content[0].type == "text" and message.content[0].text == "Echo: hello there"
    assert message.stop_reason == "end_turn" and message.model == model
    assert message.usage.output_tokens > 0
    request_id = raw.headers["x-parity-request-id"]
    row = wait_for_rows(gateway.ledger_url, {request_id})[request_id]
    assert row.status == 200 and row.key_id == "team-a" and row.model_answered == model
    assert row.trace is not None and row.trace["door"] == "messages"


@pytest.mark.parametrize("model", ["fake/echo", "claude/echo"])
def test_messages_stream_gives_anthropics_events(client: anthropic.Anthropic, model: str) -> None:
    with client.messages.stream(
        model=model, max_tokens=64, messages=[{"role": "user", "content": "stream me"}]
    ) as stream:
        kinds = [event.type for event in stream]
        text = "".join(stream.text_stream)  # already consumed: empty
        final = stream.get_final_message()
    assert text == ""
    assert final.content[0].type == "text" and final.content[0].text == "Echo: stream me"
    assert kinds[0] == "message_start" and "content_block_delta" in kinds
    assert final.stop_reason == "end_turn" and final.usage.output_tokens > 0


def test_a_tool_loop_over_two_turns(client: anthropic.Anthropic, vendor: VendorFake) -> None:
    question: Any = {"role": "user", "content": "Weather in Paris?"}
    first = client.messages.create(
        model="fake/tools", max_tokens=64, messages=[question], tools=[WEATHER]
    )
    assert first.stop_reason == "tool_use"
    use = next(block for block in first.content if block.type == "tool_use")
    assert use.name == "get_weather" and use.input == {"city": "example"}
    result: Any = {
        "role": "user",
        "content": [{"type": "tool_result", "tool_use_id": use.id, "content": "Sunny, 21 C"}],
    }
    turn: Any = {"role": "assistant", "content": first.model_dump()["content"]}
    second = client.messages.create(
        model="fake/echo", max_tokens=64, messages=[question, turn, result], tools=[WEATHER]
    )
    sent = _sent(vendor)["messages"]
    assert sent[-2]["tool_calls"][0]["id"] == use.id
    assert sent[-1] == {"role": "tool", "tool_call_id": use.id, "content": "Sunny, 21 C"}
    assert second.stop_reason == "end_turn"


def test_a_streamed_tool_call_arrives_whole(client: anthropic.Anthropic) -> None:
    with client.messages.stream(
        model="fake/tools",
        max_tokens=64,
        messages=[{"role": "user", "content": "Weather?"}],
        tools=[WEATHER],
    ) as stream:
        final = stream.get_final_message()
    use = next(block for block in final.content if block.type == "tool_use")
    assert use.input == {"city": "example"} and final.stop_reason == "tool_use"


def test_count_tokens(client: anthropic.Anthropic) -> None:
    counted = client.messages.count_tokens(
        model="fake/echo", messages=[{"role": "user", "content": "one two three four"}]
    )
    assert counted.input_tokens > 0
    with pytest.raises(anthropic.NotFoundError):
        client.messages.count_tokens(model="nope", messages=[{"role": "user", "content": "x"}])


def test_errors_are_anthropics_error_bodies(
    client: anthropic.Anthropic, gateway: GatewayProcess
) -> None:
    with pytest.raises(anthropic.BadRequestError) as bad:
        client.messages.create(
            model="fake/echo",
            max_tokens=0,
            messages=[{"role": "user", "content": "x"}],
        )
    refused: Any = bad.value.body
    assert refused["type"] == "error" and set(refused["error"]) == {"type", "message"}
    assert refused["error"]["type"] == "invalid_request_error"
    assert "max_tokens" in refused["error"]["message"]
    with pytest.raises(anthropic.NotFoundError):
        client.messages.create(
            model="no-such-model", max_tokens=8, messages=[{"role": "user", "content": "x"}]
        )
    stranger = anthropic.Anthropic(base_url=gateway.url, api_key="wrong", max_retries=0)
    with stranger, pytest.raises(anthropic.AuthenticationError) as denied:
        stranger.messages.create(
            model="fake/echo", max_tokens=8, messages=[{"role": "user", "content": "x"}]
        )
    body: Any = denied.value.body
    assert body["error"]["type"] == "authentication_error"
    wrong_method = httpx.get(f"{gateway.url}/v1/messages", timeout=5)
    assert wrong_method.status_code == 405
    assert wrong_method.json()["type"] == "error"


def test_an_upstream_failure_mid_stream_is_an_error_event(client: anthropic.Anthropic) -> None:
    events: list[str] = []

    def drain() -> None:
        with client.messages.stream(
            model="fake/broken", max_tokens=64, messages=[{"role": "user", "content": "hi"}]
        ) as stream:
            events.extend(event.type for event in stream)

    with pytest.raises(anthropic.APIStatusError) as caught:
        drain()
    assert events[0] == "message_start"
    assert isinstance(caught.value.body, dict) and caught.value.body["type"] == "error"
