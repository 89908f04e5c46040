"""POST /v1/responses through the real gateway, with the official openai SDK.

The upstreams are the local fake vendor (OpenAI's and Anthropic's wire formats); every answer is
checked against the parts of OpenAI's published OpenAPI document in tests/fixtures. Stored
responses live in the ledger database: SQLite here, PostgreSQL in the last test.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from pydantic import BaseModel

from tests.fakes.deployments import FAKE_KEY, FAKE_KEY_ENV
from tests.fakes.fixtures import VendorFake
from tests.fixtures.openai_schemas import validator
from tests.servers import GatewayProcess, start_gateway, wait_for_rows

WEATHER: Any = {
    "type": "function",
    "name": "get_weather",
    "description": "The weather in a city.",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
        "additionalProperties": False,
    },
}


def door_config(vendor: VendorFake) -> dict[str, Any]:
    """Deployments on the fake vendor: plain echo, tool calls, JSON, and an Anthropic one."""

    def openai_model(name: str, upstream: str) -> dict[str, Any]:
        return {
            "id": name,
            "provider": "openai",
            "base_url": vendor.openai_url,
            "api_key_env": FAKE_KEY_ENV,
            "upstream_model": upstream,
            "residency": "vendor",
            "price": {"input": 1.0, "output": 2.0},
        }

    claude = {
        "id": "claude/echo",
        "provider": "anthropic",
        "base_url": vendor.anthropic_url,
        "api_key_env": FAKE_KEY_ENV,
        "upstream_model": "claude-fake",
        "residency": "vendor",
    }
    return {
        "models": [
            openai_model("fake/echo", "fake-model"),
            openai_model("fake/tools", "tool-call"),
            openai_model("fake/json", "json-valid"),
            openai_model("fake/broken", "stream-error-api_error"),
            claude,
        ]
    }


def _start(tmp: Path, vendor: VendorFake, ledger_url: str | None = None) -> GatewayProcess:
    config = door_config(vendor)
    if ledger_url is not None:
        config["ledger"] = {"url": ledger_url}
    return start_gateway(tmp, config, env={FAKE_KEY_ENV: FAKE_KEY})


@pytest.fixture(scope="module")
def gateway(
    vendor_fake: VendorFake, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[GatewayProcess]:
    gw = _start(tmp_path_factory.mktemp("responses"), vendor_fake)
    yield gw
    gw.stop()


@pytest.fixture
def client(gateway: GatewayProcess, vendor: VendorFake) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=gateway.v1, api_key="unused", max_retries=0, timeout=30) as sdk:
        yield sdk


def _valid(root: str, obj: Any) -> None:
    errors = sorted(validator(root).iter_errors(obj), key=lambda e: list(e.path))
    assert not errors, [f"{list(e.path)}: {e.message}" for e in errors[:5]]


def _create_raw(client: openai.OpenAI, **fields: Any) -> tuple[Any, dict[str, Any], str]:
    raw = client.responses.with_raw_response.create(**fields)
    return raw.parse(), raw.http_response.json(), raw.headers["x-parity-request-id"]


def _sent_messages(vendor: VendorFake) -> list[dict[str, Any]]:
    chat = [r for r in vendor.received() if str(r["path"]).endswith("/chat/completions")]
    messages: list[dict[str, Any]] = chat[-1]["body"]["messages"]
    return messages


def test_a_string_input_is_answered_as_a_response_and_accounted(
    client: openai.OpenAI, gateway: GatewayProcess, vendor: VendorFake
) -> None:
    response, body, request_id = _create_raw(
        client, model="fake/echo", input="hello there", instructions="Be brief."
    )
    _valid("Response", body)
    assert response.output_text == "Echo: hello there"
    assert response.status == "completed" and response.model == "fake/echo"
    assert response.usage is not None and response.usage.output_tokens > 0
    assert _sent_messages(vendor) == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "hello there"},
    ]
    row = wait_for_rows(gateway.ledger_url, {request_id})[request_id]
    assert row.status == 200 and row.model_answered == "fake/echo"
    assert row.trace is not None and row.trace["door"] == "responses"
    assert row.trace["response_id"] == response.id
    assert row.cost_usd is not None and row.cost_usd > 0


def test_previous_response_id_continues_the_stored_conversation(
    client: openai.OpenAI, vendor: VendorFake
) -> None:
    first = client.responses.create(
        model="fake/echo",
        input=[{"role": "user", "content": [{"type": "input_text", "text": "my name is Ann"}]}],
        instructions="first instructions",
    )
    second = client.responses.create(
        model="fake/echo", input="what is my name?", previous_response_id=first.id
    )
    assert second.previous_response_id == first.id
    assert second.output_text == "Echo: what is my name?"
    # instructions are not carried over; the stored turn and its answer are
    assert _sent_messages(vendor) == [
        {"role": "user", "content": "my name is Ann"},
        {"role": "assistant", "content": "Echo: my name is Ann"},
        {"role": "user", "content": "what is my name?"},
    ]
    fetched = client.responses.retrieve(second.id)
    assert fetched.id == second.id and fetched.output_text == second.output_text
    _valid("Response", fetched.model_dump(mode="json", exclude_unset=True))
    client.responses.delete(first.id)
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(first.id)
    # the later response keeps its whole conversation: it can still be continued
    third = client.responses.create(
        model="fake/echo", input="again", previous_response_id=second.id
    )
    assert len(_sent_messages(vendor)) == 5 and third.output_text == "Echo: again"


def test_store_false_is_not_kept_and_unknown_ids_are_404(client: openai.OpenAI) -> None:
    unstored = client.responses.create(model="fake/echo", input="hi", store=False)
    with pytest.raises(openai.NotFoundError) as caught:
        client.responses.retrieve(unstored.id)
    assert caught.value.code == "response_not_found"
    with pytest.raises(openai.NotFoundError) as caught:
        client.responses.create(model="fake/echo", input="hi", previous_response_id="resp_nope")
    assert caught.value.code == "previous_response_not_found"
    assert caught.value.param == "previous_response_id"
    with pytest.raises(openai.NotFoundError):
        client.responses.delete("resp_nope")


def test_a_function_tool_loop_over_two_turns(client: openai.OpenAI, vendor: VendorFake) -> None:
    first, body, _ = _create_raw(
        client, model="fake/tools", input="Weather in Paris?", tools=[WEATHER]
    )
    _valid("Response", body)
    calls = [item for item in first.output if item.type == "function_call"]
    assert len(calls) == 1 and calls[0].name == "get_weather"
    assert json.loads(calls[0].arguments) == {"city": "example"}
    sent_tools = [r for r in vendor.received() if r["path"].endswith("/chat/completions")]
    assert sent_tools[-1]["body"]["tools"][0]["function"]["name"] == "get_weather"
    output: Any = {"type": "function_call_output", "call_id": calls[0].call_id, "output": "Sunny"}
    second = client.responses.create(
        model="fake/echo", input=[output], previous_response_id=first.id, tools=[WEATHER]
    )
    messages = _sent_messages(vendor)
    assert messages[-2]["tool_calls"][0]["id"] == calls[0].call_id
    assert messages[-1] == {"role": "tool", "tool_call_id": calls[0].call_id, "content": "Sunny"}
    assert second.status == "completed"
    # the call is answered now: answering it again is a client error, not an upstream call
    with pytest.raises(openai.BadRequestError) as caught:
        client.responses.create(model="fake/echo", input=[output], previous_response_id=second.id)
    assert caught.value.code == "tool_output_without_call" and caught.value.param == "input"
    with pytest.raises(openai.BadRequestError):
        client.responses.create(
            model="fake/echo",
            input=[{"type": "function_call_output", "call_id": "call_none", "output": "x"}],
        )


class City(BaseModel):
    name: str
    country: str


def test_text_format_json_schema_parses(client: openai.OpenAI, vendor: VendorFake) -> None:
    parsed = client.responses.parse(model="fake/json", input="A city?", text_format=City)
    assert isinstance(parsed.output_parsed, City)
    sent = [r for r in vendor.received() if r["path"].endswith("/chat/completions")][-1]["body"]
    assert sent["response_format"]["type"] == "json_schema"
    assert sent["response_format"]["json_schema"]["name"] == "City"


def _raw_events(gateway: GatewayProcess, body: dict[str, Any]) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    with httpx.stream(
        "POST", f"{gateway.v1}/responses", json={**body, "stream": True}, timeout=30
    ) as answer:
        assert answer.status_code == 200
        assert answer.headers["content-type"] == "text/event-stream"
        kind = None
        for line in answer.iter_lines():
            if line.startswith("event: "):
                kind = line.removeprefix("event: ")
            elif line.startswith("data: "):
                event = json.loads(line.removeprefix("data: "))
                assert event["type"] == kind
                events.append(event)
    return events


@pytest.mark.parametrize("model", ["fake/echo", "claude/echo"])
def test_a_stream_has_the_responses_events_and_is_stored(
    client: openai.OpenAI, gateway: GatewayProcess, model: str
) -> None:
    with client.responses.stream(model=model, input="stream me please") as stream:
        deltas = [e.delta for e in stream if e.type == "response.output_text.delta"]
        final = stream.get_final_response()
    assert "".join(deltas) == final.output_text == "Echo: stream me please"
    assert client.responses.retrieve(final.id).output_text == final.output_text
    events = _raw_events(gateway, {"model": model, "input": "checked"})
    for event in events:
        _valid("ResponseStreamEvent", event)
    kinds = [e["type"] for e in events]
    assert kinds[:2] == ["response.created", "response.in_progress"]
    assert kinds[-1] == "response.completed"
    assert [e["sequence_number"] for e in events] == list(range(len(events)))
    assert events[-1]["response"]["usage"]["output_tokens"] > 0


def test_a_streamed_tool_call_arrives_whole(client: openai.OpenAI) -> None:
    with client.responses.stream(model="fake/tools", input="Weather?", tools=[WEATHER]) as stream:
        final = stream.get_final_response()
    calls = [item for item in final.output if item.type == "function_call"]
    assert len(calls) == 1 and json.loads(calls[0].arguments) == {"city": "example"}


def test_the_anthropic_backend_answers_the_tool_loop(client: openai.OpenAI) -> None:
    answer = client.responses.create(model="claude/echo", input="hi from anthropic")
    assert answer.output_text == "Echo: hi from anthropic"
    follow = client.responses.create(
        model="claude/echo", input="and again", previous_response_id=answer.id
    )
    assert follow.output_text == "Echo: and again"


def test_bad_input_is_a_typed_400(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.responses.create(model="fake/echo", input=[])
    assert caught.value.param == "input"
    with pytest.raises(openai.BadRequestError) as caught:
        client.responses.create(
            model="fake/echo",
            input="x",
            tools=[{"type": "web_search"}],
        )
    assert caught.value.param == "tools"
    with pytest.raises(openai.NotFoundError):
        client.responses.create(model="no-such-model", input="x")


def test_stored_responses_live_in_postgres(
    vendor: VendorFake, tmp_path: Path, fresh_postgres_url: str
) -> None:
    gw = _start(tmp_path, vendor, fresh_postgres_url)
    client = openai.OpenAI(base_url=gw.v1, api_key="unused", max_retries=0, timeout=30)
    try:
        first = client.responses.create(model="fake/echo", input="remember me")
        second = client.responses.create(
            model="fake/echo", input="who?", previous_response_id=first.id
        )
        assert len(_sent_messages(vendor)) == 3
        assert client.responses.retrieve(second.id).previous_response_id == first.id
    finally:
        client.close()
        gw.stop()
