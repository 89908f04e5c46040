"""OpenAI <-> Anthropic Messages translation, as pure functions."""

from __future__ import annotations

import json
from typing import Any

import pytest

from parity.catalog.deployment import Deployment, ProviderKind
from parity.errors import (
    InvalidField,
    UpstreamError,
    UpstreamProtocolError,
    UpstreamRateLimited,
    UpstreamServerError,
    UpstreamTimeout,
)
from parity.providers.anthropic import messages_url
from parity.providers.anthropic_stream import StreamTranslator
from parity.providers.anthropic_wire import DROPPED_FIELDS, completion_body, request_body

DEPLOYMENT = Deployment(
    id="claude",
    provider=ProviderKind.ANTHROPIC,
    upstream_model="claude-sonnet-4-5",
    default_max_tokens=321,
)
WEATHER = {
    "type": "function",
    "function": {
        "name": "weather",
        "description": "Weather for a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}


def translate(**body: Any) -> dict[str, Any]:
    body.setdefault("messages", [{"role": "user", "content": "hi"}])
    return request_body(body, DEPLOYMENT)


def test_system_and_developer_messages_become_top_level_system() -> None:
    request = translate(
        messages=[
            {"role": "system", "content": "Be brief."},
            {"role": "developer", "content": [{"type": "text", "text": "Use metric units."}]},
            {"role": "user", "content": "hi"},
        ]
    )
    assert request["system"] == "Be brief.\n\nUse metric units."
    assert request["messages"] == [{"role": "user", "content": [{"type": "text", "text": "hi"}]}]
    assert request["model"] == "claude-sonnet-4-5"
    assert request["max_tokens"] == 321


def test_consecutive_same_role_turns_are_merged() -> None:
    request = translate(
        messages=[
            {"role": "user", "content": "one"},
            {"role": "user", "content": "two"},
            {"role": "assistant", "content": "three"},
            {"role": "assistant", "content": "four"},
        ]
    )
    assert [m["role"] for m in request["messages"]] == ["user", "assistant"]
    assert [b["text"] for b in request["messages"][1]["content"]] == ["three", "four"]


def test_image_parts_become_base64_or_url_sources() -> None:
    content = [
        {"type": "text", "text": "compare"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
        {"type": "image_url", "image_url": {"url": "https://example.com/cat.jpg"}},
    ]
    blocks = translate(messages=[{"role": "user", "content": content}])["messages"][0]["content"]
    assert blocks[1] == {
        "type": "image",
        "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="},
    }
    assert blocks[2] == {
        "type": "image",
        "source": {"type": "url", "url": "https://example.com/cat.jpg"},
    }
    with pytest.raises(InvalidField):
        translate(
            messages=[{"role": "user", "content": [{"type": "image_url", "image_url": "ftp://x"}]}]
        )
    with pytest.raises(InvalidField, match="not supported"):
        translate(messages=[{"role": "user", "content": [{"type": "input_audio"}]}])


def test_tool_calls_and_results_become_tool_use_and_tool_result_blocks() -> None:
    call = {
        "id": "call_1",
        "type": "function",
        "function": {"name": "weather", "arguments": '{"city": "Oslo"}'},
    }
    call2 = {"id": "call_2", "type": "function", "function": {"name": "weather", "arguments": ""}}
    request = translate(
        messages=[
            {"role": "user", "content": "weather?"},
            {"role": "assistant", "content": "Checking.", "tool_calls": [call, call2]},
            {"role": "tool", "tool_call_id": "call_1", "content": "rain"},
            {
                "role": "tool",
                "tool_call_id": "call_2",
                "content": [{"type": "text", "text": "sun"}],
            },
            {"role": "user", "content": "and tomorrow?"},
        ]
    )
    assistant, results = request["messages"][1], request["messages"][2]
    assert assistant["content"] == [
        {"type": "text", "text": "Checking."},
        {"type": "tool_use", "id": "call_1", "name": "weather", "input": {"city": "Oslo"}},
        {"type": "tool_use", "id": "call_2", "name": "weather", "input": {}},
    ]
    assert results["role"] == "user"
    assert results["content"] == [
        {"type": "tool_result", "tool_use_id": "call_1", "content": "rain"},
        {
            "type": "tool_result",
            "tool_use_id": "call_2",
            "content": [{"type": "text", "text": "sun"}],
        },
        {"type": "text", "text": "and tomorrow?"},
    ]
    assert len(request["messages"]) == 3


def test_tool_results_open_their_user_turn() -> None:
    call = {"id": "c", "type": "function", "function": {"name": "f", "arguments": "{}"}}
    request = translate(
        messages=[
            {"role": "user", "content": "go"},
            {"role": "assistant", "tool_calls": [call]},
            {"role": "user", "content": "note"},
            {"role": "tool", "tool_call_id": "c", "content": "done"},
        ]
    )
    assert [b["type"] for b in request["messages"][2]["content"]] == ["tool_result", "text"]


@pytest.mark.parametrize(
    ("message", "match"),
    [
        (
            {
                "role": "assistant",
                "tool_calls": [{"id": "c", "function": {"name": "f", "arguments": "{bad"}}],
            },
            "arguments",
        ),
        ({"role": "tool", "content": "x"}, "tool_call_id"),
        ({"role": "function", "name": "f", "content": "x"}, "not supported"),
        ({"role": "assistant", "content": ""}, "no content"),
        ({"role": "user", "content": 5}, "string or an array"),
    ],
)
def test_malformed_messages_are_client_errors(message: dict[str, Any], match: str) -> None:
    with pytest.raises(InvalidField, match=match) as caught:
        translate(messages=[{"role": "user", "content": "hi"}, message])
    assert caught.value.status == 400


def test_sampling_limits_stop_and_user() -> None:
    request = translate(
        max_tokens=50,
        max_completion_tokens=70,
        temperature=1.7,
        top_p=0.9,
        stop="END",
        user="alice",
    )
    assert request["max_tokens"] == 70
    assert request["temperature"] == 1.0
    assert request["top_p"] == 0.9
    assert request["stop_sequences"] == ["END"]
    assert request["metadata"] == {"user_id": "alice"}
    assert translate(max_tokens=12, stop=["a", "b"])["stop_sequences"] == ["a", "b"]
    assert translate(max_tokens=12)["max_tokens"] == 12
    with pytest.raises(InvalidField):
        translate(max_tokens=0)
    with pytest.raises(InvalidField):
        translate(temperature="hot")


def test_tools_and_tool_choice() -> None:
    request = translate(tools=[WEATHER])
    assert request["tools"] == [
        {
            "name": "weather",
            "description": "Weather for a city",
            "input_schema": WEATHER["function"]["parameters"],  # type: ignore[index]
        }
    ]
    assert "tool_choice" not in request
    choices = {
        "auto": {"type": "auto"},
        "required": {"type": "any"},
        "none": {"type": "none"},
    }
    for given, expected in choices.items():
        assert translate(tools=[WEATHER], tool_choice=given)["tool_choice"] == expected
    named = {"type": "function", "function": {"name": "weather"}}
    assert translate(tools=[WEATHER], tool_choice=named)["tool_choice"] == {
        "type": "tool",
        "name": "weather",
    }
    assert translate(tools=[WEATHER], parallel_tool_calls=False)["tool_choice"] == {
        "type": "auto",
        "disable_parallel_tool_use": True,
    }
    assert translate(tools=[WEATHER], tool_choice="required", parallel_tool_calls=False)[
        "tool_choice"
    ] == {"type": "any", "disable_parallel_tool_use": True}
    for bad_tool in ({"type": "web_search"}, "weather"):
        with pytest.raises(InvalidField):
            translate(tools=[bad_tool])
    with pytest.raises(InvalidField) as caught:
        translate(tools=[WEATHER], tool_choice={"type": "function"})
    assert caught.value.param == "tool_choice"


def test_n_above_one_and_legacy_functions_are_refused() -> None:
    with pytest.raises(InvalidField) as caught:
        translate(n=2)
    assert caught.value.param == "n" and caught.value.status == 400
    assert "model" in translate(n=1)
    with pytest.raises(InvalidField):
        translate(functions=[{"name": "f"}])


def test_fields_without_an_equivalent_are_dropped() -> None:
    extra = {name: 1 for name in DROPPED_FIELDS} | {"some_vendor_field": True}
    request = translate(**extra)
    assert set(request) == {"model", "messages", "max_tokens"}


def test_response_format_becomes_a_system_instruction_with_the_schema() -> None:
    schema = {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}
    request = translate(
        messages=[{"role": "system", "content": "Be kind."}, {"role": "user", "content": "hi"}],
        response_format={
            "type": "json_schema",
            "json_schema": {"name": "person", "schema": schema},
        },
    )
    assert request["system"].startswith("Be kind.\n\n")
    assert json.dumps(schema, separators=(",", ":")) in request["system"]
    assert "JSON" in translate(response_format={"type": "json_object"})["system"]
    assert "system" not in translate(response_format={"type": "text"})
    with pytest.raises(InvalidField):
        translate(response_format={"type": "json_schema"})


@pytest.mark.parametrize(
    ("stop_reason", "finish"),
    [
        ("end_turn", "stop"),
        ("stop_sequence", "stop"),
        ("max_tokens", "length"),
        ("tool_use", "tool_calls"),
    ],
)
def test_completion_body(stop_reason: str, finish: str) -> None:
    message = {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4-5",
        "content": [{"type": "text", "text": "Hello"}, {"type": "text", "text": " there"}],
        "stop_reason": stop_reason,
        "usage": {"input_tokens": 10, "cache_read_input_tokens": 5, "output_tokens": 3},
    }
    body = completion_body(message, "claude", 1700000000)
    assert body["id"] == "chatcmpl-msg_1"
    assert body["object"] == "chat.completion" and body["created"] == 1700000000
    assert body["model"] == "claude"
    assert body["choices"][0]["message"] == {"role": "assistant", "content": "Hello there"}
    assert body["choices"][0]["finish_reason"] == finish
    assert body["usage"]["prompt_tokens"] == 15
    assert body["usage"]["completion_tokens"] == 3
    assert body["usage"]["total_tokens"] == 18


def test_completion_body_tool_use_and_bad_shapes() -> None:
    message = {
        "id": "msg_2",
        "type": "message",
        "content": [
            {"type": "tool_use", "id": "toolu_1", "name": "weather", "input": {"city": "Oslo"}}
        ],
        "stop_reason": "tool_use",
        "usage": {"input_tokens": 1, "output_tokens": 2},
    }
    choice = completion_body(message, "claude", 0)["choices"][0]
    assert choice["message"]["content"] is None
    assert choice["message"]["tool_calls"] == [
        {
            "id": "toolu_1",
            "type": "function",
            "function": {"name": "weather", "arguments": '{"city":"Oslo"}'},
        }
    ]
    with pytest.raises(UpstreamProtocolError):
        completion_body({"type": "message"}, "claude", 0)
    with pytest.raises(UpstreamProtocolError):
        completion_body({"id": "x", "content": []}, "claude", 0)


def feed_all(events: list[dict[str, Any]]) -> tuple[StreamTranslator, list[dict[str, Any]]]:
    translator = StreamTranslator("claude", 1700000000)
    chunks = [c for e in events for c in translator.feed(e)]
    return translator, chunks


def test_stream_translation_text_and_tool_call() -> None:
    events: list[dict[str, Any]] = [
        {
            "type": "message_start",
            "message": {"id": "msg_9", "usage": {"input_tokens": 7, "output_tokens": 1}},
        },
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        {"type": "ping"},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hi"}},
        {"type": "content_block_stop", "index": 0},
        {
            "type": "content_block_start",
            "index": 1,
            "content_block": {"type": "tool_use", "id": "toolu_1", "name": "weather", "input": {}},
        },
        {
            "type": "content_block_delta",
            "index": 1,
            "delta": {"type": "input_json_delta", "partial_json": ""},
        },
        {
            "type": "content_block_delta",
            "index": 1,
            "delta": {"type": "input_json_delta", "partial_json": '{"city":'},
        },
        {
            "type": "content_block_delta",
            "index": 1,
            "delta": {"type": "input_json_delta", "partial_json": ' "Oslo"}'},
        },
        {"type": "content_block_stop", "index": 1},
        {"type": "some_future_event"},
        {
            "type": "message_delta",
            "delta": {"stop_reason": "tool_use"},
            "usage": {"output_tokens": 12},
        },
        {"type": "message_stop"},
    ]
    translator, chunks = feed_all(events)
    assert translator.finished
    assert all(c["id"] == "chatcmpl-msg_9" and c["model"] == "claude" for c in chunks)
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    deltas = [c["choices"][0]["delta"] for c in chunks if c["choices"]]
    assert deltas[0] == {"role": "assistant", "content": ""}
    assert deltas[1] == {"content": "Hi"}
    assert deltas[2]["tool_calls"] == [
        {
            "index": 0,
            "id": "toolu_1",
            "type": "function",
            "function": {"name": "weather", "arguments": ""},
        }
    ]
    fragments = [d["tool_calls"][0]["function"]["arguments"] for d in deltas[3:5]]
    assert "".join(fragments) == '{"city": "Oslo"}'
    assert chunks[-2]["choices"][0]["finish_reason"] == "tool_calls"
    assert chunks[-1]["choices"] == []
    assert chunks[-1]["usage"]["prompt_tokens"] == 7
    assert chunks[-1]["usage"]["completion_tokens"] == 12


@pytest.mark.parametrize(
    ("kind", "error"),
    [
        ("overloaded_error", UpstreamServerError),
        ("api_error", UpstreamServerError),
        ("rate_limit_error", UpstreamRateLimited),
        ("timeout_error", UpstreamTimeout),
        ("invalid_request_error", UpstreamProtocolError),
        ("something_new", UpstreamProtocolError),
    ],
)
def test_stream_error_events_are_typed_by_error_type(kind: str, error: type[UpstreamError]) -> None:
    translator = StreamTranslator("claude", 0)
    assert translator.feed({"type": "message_start", "message": {"id": "m"}}) == []
    assert translator.feed({"type": "ping"}) == []
    with pytest.raises(UpstreamError) as caught:
        translator.feed({"type": "error", "error": {"type": kind, "message": "rate_limit_error"}})
    assert type(caught.value) is error
    assert caught.value.deployment == "claude"
    assert not translator.finished


def test_messages_url() -> None:
    assert messages_url("http://h:1") == "http://h:1/v1/messages"
    assert messages_url("http://h:1/v1/") == "http://h:1/v1/messages"
    assert messages_url(None) == "https://api.anthropic.com/v1/messages"
