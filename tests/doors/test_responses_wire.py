"""Responses API <-> chat translation, checked against OpenAI's published schemas."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from parity.errors import InvalidField, InvalidJSON
from parity.gateway.responses.stream import ResponseEvents
from parity.gateway.responses.wire import (
    ResponsesCall,
    chat_message_for_output,
    output_items,
    parse_responses,
    response_object,
    response_usage,
)
from tests.fixtures.openai_schemas import validator


def _call(**body: Any) -> ResponsesCall:
    return parse_responses(orjson.dumps({"model": "m", **body}))


def _valid(root: str, obj: Any) -> None:
    errors = sorted(validator(root).iter_errors(obj), key=lambda e: list(e.path))
    assert not errors, [f"{list(e.path)}: {e.message}" for e in errors[:5]]


def test_a_string_input_with_instructions_becomes_system_and_user() -> None:
    call = _call(input="hi", instructions="be brief", max_output_tokens=20, temperature=0.2)
    chat = call.build_chat([])
    assert chat["messages"] == [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "hi"},
    ]
    assert chat["max_tokens"] == 20 and chat["temperature"] == 0.2
    assert "stream" not in chat


def test_items_tools_format_and_stream_map_to_chat() -> None:
    call = _call(
        input=[
            {"role": "developer", "content": [{"type": "input_text", "text": "rules"}]},
            {"type": "message", "role": "user", "content": "weather?"},
            {"type": "function_call", "call_id": "c1", "name": "w", "arguments": "{}"},
            {"type": "function_call", "call_id": "c2", "name": "w", "arguments": "{}"},
            {"type": "function_call_output", "call_id": "c1", "output": "sunny"},
            {"type": "function_call_output", "call_id": "c2", "output": "rain"},
        ],
        tools=[{"type": "function", "name": "w", "parameters": {"type": "object"}}],
        tool_choice={"type": "function", "name": "w"},
        text={"format": {"type": "json_schema", "name": "x", "schema": {"type": "object"}}},
        stream=True,
    )
    chat = call.build_chat([])
    roles = [m["role"] for m in chat["messages"]]
    assert roles == ["developer", "user", "assistant", "tool", "tool"]
    assert [c["id"] for c in chat["messages"][2]["tool_calls"]] == ["c1", "c2"]
    assert chat["tools"][0]["function"]["name"] == "w"
    assert chat["tool_choice"] == {"type": "function", "function": {"name": "w"}}
    assert chat["response_format"]["json_schema"]["name"] == "x"
    assert chat["stream"] is True and chat["stream_options"] == {"include_usage": True}


def test_a_tool_output_needs_an_open_call() -> None:
    call = _call(input=[{"type": "function_call_output", "call_id": "nope", "output": "x"}])
    with pytest.raises(InvalidField) as caught:
        call.build_chat([])
    assert caught.value.param == "input" and "nope" in caught.value.message
    history: list[dict[str, Any]] = [
        {"role": "user", "content": "q"},
        {"role": "assistant", "content": None, "tool_calls": [_fc("c9")]},
    ]
    call.input_messages[0]["tool_call_id"] = "c9"
    assert call.build_chat(history)["messages"][-1]["role"] == "tool"
    answered: list[dict[str, Any]] = [
        *history,
        {"role": "tool", "tool_call_id": "c9", "content": "done"},
    ]
    with pytest.raises(InvalidField, match="answered already"):
        call.build_chat(answered)


def _fc(call_id: str) -> dict[str, Any]:
    return {"id": call_id, "type": "function", "function": {"name": "w", "arguments": "{}"}}


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"input": "x"}, "model"),
        ({"model": "m"}, "input"),
        ({"model": "m", "input": []}, "input"),
        ({"model": "m", "input": "x", "stream": "yes"}, "stream"),
        ({"model": "m", "input": "x", "background": True}, "background"),
        ({"model": "m", "input": "x", "tools": [{"type": "web_search"}]}, "tools"),
        ({"model": "m", "input": [{"type": "item_reference", "id": "i"}]}, "input"),
        ({"model": "m", "input": "x", "text": {"format": {"type": "xml"}}}, "text.format"),
        ({"model": "m", "input": "x", "max_output_tokens": 0}, "max_output_tokens"),
        ({"model": "m", "input": "x", "previous_response_id": 5}, "previous_response_id"),
    ],
)
def test_bad_fields_are_named(body: dict[str, Any], param: str) -> None:
    with pytest.raises(InvalidField) as caught:
        parse_responses(orjson.dumps(body)).build_chat([])
    assert caught.value.param == param


def test_bad_json_is_invalid_json() -> None:
    for raw in (b"", b"{", b"[1]"):
        with pytest.raises(InvalidJSON):
            parse_responses(raw)


def _completion(message: dict[str, Any], finish: str = "stop") -> dict[str, Any]:
    return {
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
        "usage": {"prompt_tokens": 7, "completion_tokens": 3, "total_tokens": 10},
    }


def test_a_completion_becomes_a_valid_response_object() -> None:
    call = _call(input="hi", tools=[{"type": "function", "name": "w", "parameters": {}}])
    call.build_chat([])
    message = {"role": "assistant", "content": "it is", "tool_calls": [_fc("c1")]}
    output = output_items(message)
    body = response_object(
        call,
        response_id="resp_1",
        model="local/x",
        created_at=1.0,
        status="completed",
        output=output,
        usage=response_usage(_completion(message)["usage"]),
    )
    _valid("Response", body)
    assert [i["type"] for i in body["output"]] == ["message", "function_call"]
    assert body["usage"]["total_tokens"] == 10
    assert chat_message_for_output(output)["tool_calls"][0]["id"] == "c1"


def test_a_truncated_answer_is_incomplete() -> None:
    call = _call(input="hi")
    body = response_object(
        call,
        response_id="resp_1",
        model="m",
        created_at=1.0,
        status="completed",
        output=output_items({"role": "assistant", "content": "abc"}),
        usage=None,
        finish_reason="length",
    )
    _valid("Response", body)
    assert body["status"] == "incomplete"
    assert body["incomplete_details"] == {"reason": "max_output_tokens"}


def _chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {"choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}


def test_streamed_text_and_tool_calls_are_valid_events_in_order() -> None:
    call = _call(input="hi", stream=True)
    call.build_chat([])
    events = ResponseEvents(call, response_id="resp_1", model="m", created_at=1.0)
    out = events.start()
    out += events.feed(_chunk({"role": "assistant", "content": ""}))
    out += events.feed(_chunk({"content": "Hel"}))
    out += events.feed(_chunk({"content": "lo"}))
    first = {"index": 0, "id": "c1", "type": "function", "function": {"name": "w"}}
    out += events.feed(
        _chunk({"tool_calls": [{**first, "function": {"name": "w", "arguments": ""}}]})
    )
    out += events.feed(_chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"a":'}}]}))
    out += events.feed(_chunk({"tool_calls": [{"index": 0, "function": {"arguments": "1}"}}]}))
    out += events.feed(_chunk({}, "tool_calls"))
    out += events.feed({"choices": [], "usage": {"prompt_tokens": 4, "completion_tokens": 5}})
    out += events.finish()
    for event in out:
        _valid("ResponseStreamEvent", event)
    kinds = [e["type"] for e in out]
    assert kinds[:2] == ["response.created", "response.in_progress"]
    assert kinds[-1] == "response.completed"
    assert [e["sequence_number"] for e in out] == list(range(len(out)))
    final = out[-1]["response"]
    assert final["output"][0]["content"][0]["text"] == "Hello"
    assert final["output"][1]["arguments"] == '{"a":1}'
    assert final["usage"]["output_tokens"] == 5
    assert events.text == "Hello"


def test_a_failed_stream_ends_with_error_and_response_failed() -> None:
    call = _call(input="hi", stream=True)
    events = ResponseEvents(call, response_id="resp_1", model="m", created_at=1.0)
    out = events.start() + events.feed(_chunk({"content": "x"}))
    out += events.fail("upstream_error", "it broke")
    for event in out:
        _valid("ResponseStreamEvent", event)
    assert [e["type"] for e in out[-2:]] == ["error", "response.failed"]
    assert out[-1]["response"]["status"] == "failed"
