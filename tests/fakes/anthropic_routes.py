"""Anthropic's Messages API wire format: JSON, the SSE event sequence, and its error shape."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web

from tests.fakes.anthropic_checks import check_headers, check_request
from tests.fakes.behaviour import (
    ERROR_TYPE_STATUS,
    TRACEBACK,
    Behaviour,
    Reply,
    ReplyInput,
    ToolSpec,
    behaviour_for,
    plan_reply,
    word_count,
)
from tests.fakes.web_common import STATE, drop_connection, json_body, open_sse, pause

__all__ = ["add_anthropic_routes"]

_STOP = {"stop": "end_turn", "length": "max_tokens", "stop_sequence": "stop_sequence"}
_STOP["tool"] = "tool_use"
_TYPES = {status: kind for kind, status in ERROR_TYPE_STATUS.items()}
_MESSAGES = {
    "invalid_request_error": "Invalid request.",
    "authentication_error": "invalid x-api-key",
    "permission_error": "Your API key does not have permission to use the specified resource.",
    "not_found_error": "The requested resource could not be found.",
    "request_too_large": "Request exceeds the maximum allowed number of bytes.",
    "rate_limit_error": "Number of requests has exceeded your rate limit.",
    "api_error": "Internal server error",
    "overloaded_error": "Overloaded",
}


def _request_id() -> str:
    return f"req_{uuid.uuid4().hex[:24]}"


def anthropic_error(status: int, message: str | None = None) -> web.Response:
    """An error response in Anthropic's shape, with its request-id header."""
    kind = _TYPES.get(status, "invalid_request_error" if status < 500 else "api_error")
    request_id = _request_id()
    headers = {"request-id": request_id}
    if status == 429:
        reset = (datetime.now(UTC) + timedelta(seconds=1)).isoformat(timespec="seconds")
        headers |= {
            "retry-after": "1",
            "anthropic-ratelimit-requests-limit": "50",
            "anthropic-ratelimit-requests-remaining": "0",
            "anthropic-ratelimit-requests-reset": reset.replace("+00:00", "Z"),
        }
    body = {
        "type": "error",
        "error": {"type": kind, "message": message or _MESSAGES.get(kind, "Error")},
        "request_id": request_id,
    }
    return web.json_response(body, status=status, headers=headers)


def _texts(blocks: Any, kind: str = "text") -> list[str]:
    if isinstance(blocks, str):
        return [blocks] if kind == "text" else []
    out: list[str] = []
    for block in blocks if isinstance(blocks, list) else ():
        if not isinstance(block, dict) or block.get("type") != kind:
            continue
        out.append(block["text"] if kind == "text" else " ".join(_texts(block.get("content"))))
    return out


def _schema_in(system: str) -> dict[str, Any] | None:
    """A JSON schema (an object with ``properties``) written into the system prompt, if any."""
    decoder = json.JSONDecoder()
    for at, char in enumerate(system):
        if char != "{":
            continue
        try:
            value, _ = decoder.raw_decode(system, at)
        except ValueError:
            continue
        if isinstance(value, dict) and isinstance(value.get("properties"), dict):
            return value
    return None


def _first_tool(body: dict[str, Any]) -> ToolSpec | None:
    tools = body.get("tools")
    choice = body.get("tool_choice")
    if isinstance(choice, dict) and choice.get("type") == "none":
        return None
    if not isinstance(tools, list) or not tools or not isinstance(tools[0], dict):
        return None
    schema = tools[0].get("input_schema")
    return ToolSpec(str(tools[0].get("name")), schema if isinstance(schema, dict) else {})


def reply_input(body: dict[str, Any]) -> ReplyInput:
    """The facts of a Messages request that shape the fake's answer."""
    system = " ".join(_texts(body.get("system") or ""))
    texts = [system]
    last_user = ""
    for message in body["messages"]:
        content = message.get("content")
        said = _texts(content) + _texts(content, "tool_result")
        texts += said
        if message.get("role") == "user":
            last_user = " ".join(_texts(content)) or " ".join(said)
    stops = body.get("stop_sequences")
    return ReplyInput(
        last_user=last_user,
        prompt_words=sum(len(t.split()) for t in texts),
        max_tokens=int(body["max_tokens"]),
        stop=tuple(s for s in stops if isinstance(s, str)) if isinstance(stops, list) else (),
        tool=_first_tool(body),
        schema=_schema_in(system),
    )


def _content(reply: Reply) -> list[dict[str, Any]]:
    if reply.tool_name is not None:
        return [
            {"type": "text", "text": f"Calling {reply.tool_name}."},
            {
                "type": "tool_use",
                "id": f"toolu_{uuid.uuid4().hex[:24]}",
                "name": reply.tool_name,
                "input": reply.tool_arguments,
            },
        ]
    return [{"type": "text", "text": reply.text}] if reply.text else []


def _usage(input_tokens: int, output_tokens: int) -> dict[str, Any]:
    return {
        "input_tokens": input_tokens,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
        "output_tokens": output_tokens,
        "service_tier": "standard",
    }


def message(model: str, reply: Reply, content: list[dict[str, Any]]) -> dict[str, Any]:
    """A Messages API ``message`` object."""
    spoken = sum(word_count(b["text"]) for b in content if b["type"] == "text")
    spent = reply.completion_tokens + (spoken if reply.tool_name else 0)
    return {
        "id": f"msg_{uuid.uuid4().hex[:24]}",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": _STOP[reply.finish],
        "stop_sequence": reply.stop_sequence,
        "usage": _usage(reply.prompt_tokens, spent),
    }


async def _event(response: web.StreamResponse, data: dict[str, Any] | str) -> None:
    text = data if isinstance(data, str) else json.dumps(data)
    name = data["type"] if isinstance(data, dict) else "content_block_delta"
    await response.write(f"event: {name}\ndata: {text}\n\n".encode())


def _block_events(index: int, block: dict[str, Any]) -> list[dict[str, Any]]:
    """content_block_start, its deltas, and content_block_stop for one block."""
    if block["type"] == "text":
        start = {**block, "text": ""}
        pieces = block["text"].split(" ")
        deltas = [
            {"type": "text_delta", "text": p if i == 0 else " " + p} for i, p in enumerate(pieces)
        ]
    else:
        start = {**block, "input": {}}
        raw = json.dumps(block["input"])
        deltas = [{"type": "input_json_delta", "partial_json": ""}]
        deltas += [
            {"type": "input_json_delta", "partial_json": raw[i : i + 8]}
            for i in range(0, len(raw), 8)
        ]
    events: list[dict[str, Any]] = [
        {"type": "content_block_start", "index": index, "content_block": start}
    ]
    events += [{"type": "content_block_delta", "index": index, "delta": d} for d in deltas]
    events.append({"type": "content_block_stop", "index": index})
    return events


def _events(model: str, reply: Reply) -> list[dict[str, Any]]:
    """The full event sequence of one streamed message, ping after the first block start."""
    content = _content(reply)
    start = message(model, reply, [])
    start |= {"stop_reason": None, "stop_sequence": None}
    start["usage"] = _usage(reply.prompt_tokens, 1)
    events: list[dict[str, Any]] = [{"type": "message_start", "message": start}]
    for index, block in enumerate(content):
        events += _block_events(index, block)
    events.insert(2 if content else 1, {"type": "ping"})
    final = message(model, reply, content)
    delta = {"stop_reason": final["stop_reason"], "stop_sequence": final["stop_sequence"]}
    out_tokens = {"output_tokens": final["usage"]["output_tokens"]}
    events += [{"type": "message_delta", "delta": delta, "usage": out_tokens}]
    return [*events, {"type": "message_stop"}]


async def _stream(
    request: web.Request, model: str, reply: Reply, behaviour: Behaviour
) -> web.StreamResponse:
    response = await open_sse(request, {"request-id": _request_id()})
    if behaviour.kind == "broken-before-first":
        drop_connection(request)
        return response
    deltas = 0
    cut = {"broken-stream": 2, "stream-error": 1}.get(behaviour.kind)
    for event in _events(model, reply):
        if event["type"] == "content_block_delta":
            if deltas == cut:
                break
            if behaviour.kind == "stall" and deltas == 1:
                await asyncio.sleep(behaviour.seconds)
            deltas += 1
        await _event(response, event)
        if behaviour.kind == "invalid-json" and event["type"] == "message_start":
            await _event(response, '{"type": "content_block_delta", "index": 0,')
    if behaviour.kind == "broken-stream":
        drop_connection(request)
        return response
    if behaviour.kind == "stream-error":
        error = {
            "type": behaviour.error_type,
            "message": _MESSAGES.get(behaviour.error_type, "Error"),
        }
        await response.write(
            f"event: error\ndata: {json.dumps({'type': 'error', 'error': error})}\n\n".encode()
        )
    await response.write_eof()
    return response


def _refused(behaviour: Behaviour, status: int | None, stream: bool) -> web.Response | None:
    """Whatever answers instead of a message: an error status, Anthropic's answer to a prompt
    longer than the context (its error has no code), a raw 500, a malformed body."""
    if status is not None:
        return anthropic_error(status)
    if behaviour.kind == "context-length":
        return anthropic_error(400, "prompt is too long: 210417 tokens > 200000 maximum")
    if behaviour.kind == "traceback-500":
        return web.Response(status=500, text=TRACEBACK, content_type="text/plain")
    if behaviour.kind == "invalid-json" and not stream:
        return web.Response(
            text='{"id": "msg_broken", "content": [', content_type="application/json"
        )
    return None


async def create_message(request: web.Request) -> web.StreamResponse:
    """POST /v1/messages."""
    refused = check_headers(request.headers)
    if refused is not None:
        return anthropic_error(refused[0], refused[2])
    body = json_body(await request.read())
    problem = check_request(body)
    if problem is not None:
        return anthropic_error(400, problem)
    model = str(body["model"])
    behaviour = behaviour_for(model)
    status = request.app[STATE].failure_status(behaviour, model, bool(body.get("stream")))
    await pause(behaviour)
    answered = _refused(behaviour, status, bool(body.get("stream")))
    if answered is not None:
        return answered
    reply = plan_reply(behaviour.kind, reply_input(body))
    if body.get("stream"):
        return await _stream(request, model, reply, behaviour)
    answer = message(model, reply, _content(reply))
    return web.json_response(answer, headers={"request-id": _request_id()})


def add_anthropic_routes(app: web.Application) -> None:
    """Mount the Messages API."""
    app.router.add_post("/v1/messages", create_message)
