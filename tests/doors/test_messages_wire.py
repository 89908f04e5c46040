"""Anthropic Messages in <-> chat: requests, answers, streamed events and errors."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from parity.catalog.deployment import Deployment, ProviderKind
from parity.errors import (
    AuthError,
    InvalidField,
    RateLimitExceeded,
    UnknownModel,
    UpstreamServerError,
)
from parity.gateway.messages.stream import MessageEvents
from parity.gateway.messages.wire import (
    error_body,
    message_object,
    parse_count_tokens,
    parse_messages,
    tool_input,
)
from parity.providers.anthropic_stream import StreamTranslator
from parity.providers.anthropic_wire import completion_body, request_body


def _parse(**body: Any) -> dict[str, Any]:
    base = {"model": "m", "max_tokens": 50, "messages": [{"role": "user", "content": "hi"}]}
    return parse_messages(orjson.dumps({**base, **body})).chat


def test_system_tools_and_tool_results_become_chat() -> None:
    chat = _parse(
        system=[{"type": "text", "text": "be brief"}],
        messages=[
            {"role": "user", "content": "weather in Oslo?"},
            {
                "role": "assistant",
                "content": [
                    {"type": "text", "text": "Let me look."},
                    {"type": "tool_use", "id": "toolu_1", "name": "w", "input": {"city": "Oslo"}},
                ],
            },
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": "toolu_1", "content": "rain"},
                    {"type": "text", "text": "and tomorrow?"},
                ],
            },
        ],
        tools=[{"name": "w", "description": "weather", "input_schema": {"type": "object"}}],
        tool_choice={"type": "any", "disable_parallel_tool_use": True},
        stop_sequences=["END"],
        stream=True,
    )
    assert [m["role"] for m in chat["messages"]] == ["system", "user", "assistant", "tool", "user"]
    call = chat["messages"][2]["tool_calls"][0]
    assert call["id"] == "toolu_1" and orjson.loads(call["function"]["arguments"]) == {
        "city": "Oslo"
    }
    assert chat["messages"][3] == {"role": "tool", "tool_call_id": "toolu_1", "content": "rain"}
    assert chat["tools"][0]["function"]["parameters"] == {"type": "object"}
    assert chat["tool_choice"] == "required" and chat["parallel_tool_calls"] is False
    assert chat["stop"] == ["END"] and chat["max_tokens"] == 50 and chat["stream"] is True


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"max_tokens": None}, "max_tokens"),
        ({"messages": []}, "messages"),
        ({"messages": [{"role": "system", "content": "x"}]}, "messages.0"),
        (
            {"messages": [{"role": "user", "content": [{"type": "document"}]}]},
            "messages.0.content.0",
        ),
        ({"tools": [{"type": "web_search_20250305", "name": "web_search"}]}, "tools"),
        ({"tool_choice": {"type": "sometimes"}}, "tool_choice"),
        ({"model": ""}, "model"),
    ],
)
def test_bad_fields_are_named(body: dict[str, Any], param: str) -> None:
    with pytest.raises(InvalidField) as caught:
        _parse(**body)
    assert caught.value.param == param


def test_count_tokens_needs_no_max_tokens() -> None:
    chat = parse_count_tokens(
        orjson.dumps({"model": "m", "messages": [{"role": "user", "content": "x"}]})
    )
    assert chat["messages"] == [{"role": "user", "content": "x"}]


def test_a_completion_with_tool_calls_becomes_a_message() -> None:
    completion = {
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {
                            "id": "call_1",
                            "type": "function",
                            "function": {"name": "w", "arguments": '{"a": 1}'},
                        }
                    ],
                },
                "finish_reason": "tool_calls",
            }
        ],
        "usage": {"prompt_tokens": 9, "completion_tokens": 4},
    }
    message = message_object(completion, "local/x")
    assert message["content"] == [
        {"type": "tool_use", "id": "call_1", "name": "w", "input": {"a": 1}}
    ]
    assert message["stop_reason"] == "tool_use"
    assert message["usage"]["input_tokens"] == 9 and message["usage"]["output_tokens"] == 4


def test_unparsable_arguments_are_kept_not_lost() -> None:
    assert tool_input('{"a": ') == {"_unparsed_arguments": '{"a": '}
    assert tool_input("") == {}


def test_errors_use_anthropics_types() -> None:
    assert error_body(InvalidField("bad", param="x")) == {
        "type": "error",
        "error": {"type": "invalid_request_error", "message": "bad"},
    }
    assert error_body(AuthError("no"))["error"]["type"] == "authentication_error"
    assert error_body(UnknownModel("m", []))["error"]["type"] == "not_found_error"
    assert (
        error_body(RateLimitExceeded("slow", retry_after=1))["error"]["type"] == "rate_limit_error"
    )
    assert error_body(UpstreamServerError("x"))["error"]["type"] == "api_error"


def _chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {"choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}


def test_streamed_tool_calls_become_ordered_blocks() -> None:
    events = MessageEvents("m", input_tokens=3)
    out = events.start()
    out += events.feed(_chunk({"role": "assistant", "content": ""}))
    out += events.feed(_chunk({"content": "Checking."}))
    head = {"index": 0, "id": "c1", "type": "function", "function": {"name": "w", "arguments": ""}}
    out += events.feed(_chunk({"tool_calls": [head]}))
    out += events.feed(_chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"a"'}}]}))
    out += events.feed(_chunk({"tool_calls": [{"index": 0, "function": {"arguments": ":1}"}}]}))
    second = {
        "index": 1,
        "id": "c2",
        "type": "function",
        "function": {"name": "v", "arguments": "{}"},
    }
    out += events.feed(_chunk({"tool_calls": [second]}))
    out += events.feed(_chunk({}, "tool_calls"))
    out += events.finish({"prompt_tokens": 3, "completion_tokens": 11})
    kinds = [e["type"] for e in out]
    assert kinds == [
        "message_start", "ping",
        "content_block_start", "content_block_delta", "content_block_stop",
        "content_block_start", "content_block_delta", "content_block_delta", "content_block_stop",
        "content_block_start", "content_block_delta", "content_block_stop",
        "message_delta", "message_stop",
    ]  # fmt: skip
    starts = [e for e in out if e["type"] == "content_block_start"]
    assert [s["index"] for s in starts] == [0, 1, 2]
    assert starts[1]["content_block"] == {"type": "tool_use", "id": "c1", "name": "w", "input": {}}
    assert out[-2]["delta"]["stop_reason"] == "tool_use"
    assert out[-2]["usage"] == {"input_tokens": 3, "output_tokens": 11}  # the final counts


def test_round_trip_through_the_outbound_translator_keeps_tool_calls() -> None:
    """Anthropic in -> chat -> Anthropic out (providers/anthropic_wire) is the same request."""
    original = {
        "model": "claude",
        "max_tokens": 64,
        "system": "sys",
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": "q"}]},
            {
                "role": "assistant",
                "content": [{"type": "tool_use", "id": "t1", "name": "w", "input": {"x": 1}}],
            },
            {
                "role": "user",
                "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "r"}],
            },
        ],
        "tools": [{"name": "w", "input_schema": {"type": "object"}}],
    }
    chat = parse_messages(orjson.dumps(original)).chat
    sent = request_body(chat, Deployment(id="claude", provider=ProviderKind.ANTHROPIC))
    assert sent["system"] == "sys"
    assert sent["messages"][1]["content"] == [
        {"type": "tool_use", "id": "t1", "name": "w", "input": {"x": 1}}
    ]
    assert sent["messages"][2]["content"] == [
        {"type": "tool_result", "tool_use_id": "t1", "content": "r"}
    ]
    upstream = {
        "id": "msg_1",
        "type": "message",
        "content": [{"type": "tool_use", "id": "t2", "name": "w", "input": {"y": 2}}],
        "stop_reason": "tool_use",
        "usage": {"input_tokens": 5, "output_tokens": 2},
    }
    back = message_object(completion_body(upstream, "claude", 0), "claude")
    assert back["content"] == upstream["content"] and back["stop_reason"] == "tool_use"


def test_streamed_round_trip_keeps_tool_call_deltas() -> None:
    """Anthropic upstream events -> chat chunks -> Anthropic events again: same blocks."""
    upstream: list[dict[str, Any]] = [
        {"type": "message_start", "message": {"id": "m1", "usage": {"input_tokens": 5}}},
        {
            "type": "content_block_start",
            "index": 0,
            "content_block": {"type": "tool_use", "id": "t1", "name": "w", "input": {}},
        },
        {
            "type": "content_block_delta",
            "index": 0,
            "delta": {"type": "input_json_delta", "partial_json": '{"x":'},
        },
        {
            "type": "content_block_delta",
            "index": 0,
            "delta": {"type": "input_json_delta", "partial_json": "1}"},
        },
        {"type": "content_block_stop", "index": 0},
        {
            "type": "message_delta",
            "delta": {"stop_reason": "tool_use"},
            "usage": {"output_tokens": 7},
        },
        {"type": "message_stop"},
    ]
    translator = StreamTranslator("claude", 0)
    events = MessageEvents("claude")
    out = events.start()
    for event in upstream:
        for chunk in translator.feed(event):
            out += events.feed(chunk)
    out += events.finish()
    deltas = [e["delta"]["partial_json"] for e in out if e["type"] == "content_block_delta"]
    assert "".join(deltas) == '{"x":1}'
    start = next(e for e in out if e["type"] == "content_block_start")
    assert start["content_block"]["id"] == "t1"
    assert out[-2]["delta"]["stop_reason"] == "tool_use" and out[-2]["usage"]["output_tokens"] == 7
