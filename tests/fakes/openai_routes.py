"""OpenAI's wire format: chat completions (JSON and SSE), models, embeddings, and its errors."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import Any

from aiohttp import web

from tests.fakes.behaviour import (
    TRACEBACK,
    Behaviour,
    Reply,
    ReplyInput,
    ToolSpec,
    behaviour_for,
    plan_reply,
)
from tests.fakes.embeddings import MAX_DIMENSIONS, MAX_INPUT_TOKENS, embeddings, input_problem
from tests.fakes.web_common import STATE, drop_connection, json_body, open_sse, pause

__all__ = ["add_openai_routes"]

_FINISH = {"stop": "stop", "stop_sequence": "stop", "length": "length", "tool": "tool_calls"}
_FINGERPRINT = "fp_parity_fake"
_OVERLOADED = "The engine is currently overloaded, please try again later."
_ERRORS: dict[int, tuple[str, str | None, str]] = {
    400: ("invalid_request_error", None, "Invalid value for 'messages'."),
    401: ("invalid_request_error", "invalid_api_key", "Incorrect API key provided."),
    403: ("request_forbidden", "unsupported_country_region_territory", "Region not supported."),
    404: ("invalid_request_error", "model_not_found", "The model does not exist."),
    413: ("invalid_request_error", None, "Request too large."),
    429: ("requests", "rate_limit_exceeded", "Rate limit reached for requests. Try again in 1s."),
    500: ("server_error", None, "The server had an error while processing your request."),
    503: ("server_error", None, _OVERLOADED),
    529: ("server_error", None, _OVERLOADED),
}
_RATE_HEADERS = {
    "retry-after": "1",
    "x-ratelimit-limit-requests": "60",
    "x-ratelimit-remaining-requests": "0",
    "x-ratelimit-reset-requests": "1s",
    "x-ratelimit-limit-tokens": "150000",
    "x-ratelimit-remaining-tokens": "149000",
    "x-ratelimit-reset-tokens": "6m0s",
}


def _headers() -> dict[str, str]:
    return {"x-request-id": f"req_{uuid.uuid4().hex}", "openai-processing-ms": "1"}


def openai_error(
    status: int, message: str | None = None, *, param: str | None = None, code: str | None = None
) -> web.Response:
    """An error response in OpenAI's exact body shape."""
    default_type = "invalid_request_error" if status < 500 else "server_error"
    kind, default_code, default_message = _ERRORS.get(status, (default_type, None, "Error."))
    headers = {**_headers(), **(_RATE_HEADERS if status == 429 else {})}
    body = {
        "error": {
            "message": message or default_message,
            "type": kind,
            "param": param,
            "code": code or default_code,
        }
    }
    return web.json_response(body, status=status, headers=headers)


def _authorized(request: web.Request) -> bool:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return scheme.lower() == "bearer" and bool(token.strip())


def _no_key() -> web.Response:
    return openai_error(
        401,
        "You didn't provide an API key. You need to provide your API key in an Authorization "
        "header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
        code="invalid_api_key",
    )


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(p.get("text", "") for p in content if isinstance(p, dict))
    return ""


def _first_tool(body: dict[str, Any]) -> ToolSpec | None:
    tools = body.get("tools")
    if body.get("tool_choice") == "none" or not isinstance(tools, list) or not tools:
        return None
    function = tools[0].get("function") if isinstance(tools[0], dict) else None
    if not isinstance(function, dict):
        return None
    parameters = function.get("parameters")
    return ToolSpec(str(function.get("name")), parameters if isinstance(parameters, dict) else {})


def _schema(body: dict[str, Any]) -> dict[str, Any] | None:
    response_format = body.get("response_format")
    if not isinstance(response_format, dict) or response_format.get("type") != "json_schema":
        return None
    schema = (response_format.get("json_schema") or {}).get("schema")
    return schema if isinstance(schema, dict) else None


def reply_input(body: dict[str, Any]) -> ReplyInput:
    """The facts of an OpenAI chat request that shape the fake's answer."""
    messages = [m for m in body["messages"] if isinstance(m, dict)]
    users = [_text(m.get("content")) for m in messages if m.get("role") == "user"]
    stop = body.get("stop")
    stops = (stop,) if isinstance(stop, str) else tuple(s for s in stop or () if isinstance(s, str))
    limit = body.get("max_completion_tokens") or body.get("max_tokens")
    return ReplyInput(
        last_user=users[-1] if users else "",
        prompt_words=sum(len(_text(m.get("content")).split()) for m in messages),
        max_tokens=limit if isinstance(limit, int) else None,
        stop=stops,
        tool=_first_tool(body),
        schema=_schema(body),
    )


def _usage(reply: Reply) -> dict[str, Any]:
    return {
        "prompt_tokens": reply.prompt_tokens,
        "completion_tokens": reply.completion_tokens,
        "total_tokens": reply.prompt_tokens + reply.completion_tokens,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0},
    }


def _tool_call(reply: Reply, call_id: str) -> dict[str, Any]:
    arguments = json.dumps(reply.tool_arguments)
    return {
        "id": call_id,
        "type": "function",
        "function": {"name": reply.tool_name, "arguments": arguments},
    }


def completion(model: str, reply: Reply, n: int = 1) -> dict[str, Any]:
    """A ``chat.completion`` object with ``n`` choices (the same answer in each)."""
    message: dict[str, Any] = {"role": "assistant", "content": reply.text, "refusal": None}
    if reply.tool_name is not None:
        message["content"] = None
        message["tool_calls"] = [_tool_call(reply, f"call_{uuid.uuid4().hex[:24]}")]
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": index,
                "message": message,
                "logprobs": None,
                "finish_reason": _FINISH[reply.finish],
            }
            for index in range(n)
        ],
        "usage": _usage(reply),
        "service_tier": "default",
        "system_fingerprint": _FINGERPRINT,
    }


def _deltas(reply: Reply) -> list[dict[str, Any]]:
    """The delta of each content chunk, after the role chunk."""
    if reply.tool_name is None:
        return [{"content": piece} for piece in reply.words()]
    call = _tool_call(reply, f"call_{uuid.uuid4().hex[:24]}")
    arguments = call["function"]["arguments"]
    call["function"]["arguments"] = ""
    first: list[dict[str, Any]] = [{"tool_calls": [{"index": 0, **call}]}]
    pieces = [arguments[i : i + 8] for i in range(0, len(arguments), 8)]
    return first + [{"tool_calls": [{"index": 0, "function": {"arguments": p}}]} for p in pieces]


class _ChunkWriter:
    """Writes ``chat.completion.chunk`` events that share one id."""

    def __init__(self, response: web.StreamResponse, model: str, include_usage: bool):
        self.response = response
        self.base: dict[str, Any] = {
            "id": f"chatcmpl-{uuid.uuid4().hex}",
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": model,
            "system_fingerprint": _FINGERPRINT,
        }
        if include_usage:
            self.base["usage"] = None

    async def raw(self, data: str) -> None:
        await self.response.write(f"data: {data}\n\n".encode())

    async def choice(self, delta: dict[str, Any], finish: str | None = None) -> None:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
        await self.raw(json.dumps({**self.base, "choices": [choice]}))


async def _stream(
    request: web.Request, body: dict[str, Any], reply: Reply, behaviour: Behaviour
) -> web.StreamResponse:
    options = body.get("stream_options")
    include_usage = isinstance(options, dict) and options.get("include_usage") is True
    include_usage = include_usage and behaviour.kind != "no-usage"  # as some servers do
    response = await open_sse(request, _headers())
    if behaviour.kind == "broken-before-first":
        drop_connection(request)
        return response
    out = _ChunkWriter(response, str(body["model"]), include_usage)
    await out.choice({"role": "assistant", "content": "", "refusal": None})
    if behaviour.kind == "invalid-json":
        await out.raw('{"id": "chatcmpl-broken", "choices": [')
    cut = {"broken-stream": 2, "stream-error": 1}.get(behaviour.kind)
    for sent, delta in enumerate(_deltas(reply)):
        if sent == cut:
            break
        if behaviour.kind == "stall" and sent == 1:
            await asyncio.sleep(behaviour.seconds)
        await out.choice(delta)
    if behaviour.kind == "broken-stream":
        drop_connection(request)
        return response
    if behaviour.kind == "stream-error":
        error = {"message": "The server had an error.", "type": behaviour.error_type}
        await out.raw(json.dumps({"error": {**error, "param": None, "code": None}}))
    else:
        if behaviour.kind != "unfinished-stream":  # an interrupted llama.cpp sends no reason
            await out.choice({}, _FINISH[reply.finish])
        if include_usage:
            await out.raw(json.dumps({**out.base, "choices": [], "usage": _usage(reply)}))
        await out.raw("[DONE]")
    await response.write_eof()
    return response


def _invalid(body: Any) -> web.Response | None:
    if not isinstance(body, dict):
        return openai_error(400, "We could not parse the JSON body of your request.")
    if not isinstance(body.get("model"), str):
        return openai_error(400, "you must provide a model parameter", param="model")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        message = "Missing required parameter: 'messages'."
        return openai_error(400, message, param="messages", code="missing_required_parameter")
    return None


def _refused(behaviour: Behaviour, status: int | None, stream: bool) -> web.Response | None:
    """An error status, OpenAI's answer to a prompt longer than the context, a Python server's
    raw 500 or a malformed body: whatever answers instead of a completion."""
    if status is not None:
        return openai_error(status)
    if behaviour.kind == "invalid-json" and not stream:
        return web.Response(
            text='{"id": "chatcmpl-broken", "choices": [', content_type="application/json"
        )
    if behaviour.kind == "context-length":
        message = (
            "This model's maximum context length is 128000 tokens. However, your messages "
            "resulted in 130412 tokens. Please reduce the length of the messages."
        )
        return openai_error(400, message, param="messages", code="context_length_exceeded")
    if behaviour.kind == "traceback-500":
        return web.Response(status=500, text=TRACEBACK, content_type="text/plain")
    return None


async def chat_completions(request: web.Request) -> web.StreamResponse:
    """POST /v1/chat/completions."""
    if not _authorized(request):
        return _no_key()
    body = json_body(await request.read())
    invalid = _invalid(body)
    if invalid is not None:
        return invalid
    model = str(body["model"])
    behaviour = behaviour_for(model)
    status = request.app[STATE].failure_status(behaviour, model, bool(body.get("stream")))
    await pause(behaviour)
    refused = _refused(behaviour, status, bool(body.get("stream")))
    if refused is not None:
        return refused
    reply = plan_reply(behaviour.kind, reply_input(body))
    if body.get("stream"):
        return await _stream(request, body, reply, behaviour)
    n = body.get("n")
    n = n if isinstance(n, int) and 1 <= n <= 128 else 1
    return web.json_response(completion(model, reply, n), headers=_headers())


async def list_models(request: web.Request) -> web.Response:
    """GET /v1/models."""
    if not _authorized(request):
        return _no_key()
    names = ["fake-model", "json-valid", "tool-call", "rate-limit", "error-500"]
    data = [{"id": n, "object": "model", "created": 1700000000, "owned_by": "fake"} for n in names]
    return web.json_response({"object": "list", "data": data}, headers=_headers())


# What OpenAI answers an input it cannot take (an empty string in an array, a wrong type, over
# 2048 inputs): reported in openai/openai-python#576 and aryn-ai/sycamore#943.
_BAD_INPUT = (
    "'$.input' is invalid. Please check the API reference: "
    "https://platform.openai.com/docs/api-reference."
)
# Its answer to an input over the model's context (text-embedding-3-small, pingcap/autoflow#265).
_TOO_LONG = (
    "This model's maximum context length is {limit} tokens, however you requested {tokens} "
    "tokens ({tokens} in your prompt; 0 for the completion). Please reduce your prompt; or "
    "completion length."
)


def _embeddings_refusal(body: dict[str, Any]) -> web.Response | None:
    """OpenAI's 400 for an input it refuses, or None."""
    problem = input_problem(body.get("input"))
    if problem == "invalid":
        return openai_error(400, _BAD_INPUT)
    if isinstance(problem, int):
        return openai_error(400, _TOO_LONG.format(limit=MAX_INPUT_TOKENS, tokens=problem))
    dimensions = body.get("dimensions")
    if dimensions is not None and (type(dimensions) is not int or dimensions < 1):
        return openai_error(400, "Invalid 'dimensions': must be a positive integer.")
    if dimensions is not None and dimensions > MAX_DIMENSIONS:
        return openai_error(
            400, f"This model does not support more than {MAX_DIMENSIONS} dimensions."
        )
    if body.get("encoding_format") not in (None, "float", "base64"):
        return openai_error(
            400,
            f"Invalid value: '{body.get('encoding_format')}'. Supported values are: "
            "'float' and 'base64'.",
            param="encoding_format",
            code="invalid_value",
        )
    return None


async def create_embeddings(request: web.Request) -> web.Response:
    """POST /v1/embeddings: deterministic vectors from hashed words of each input.

    The model name picks failures as for chat (``error-500``, ``rate-limit``, ``flaky-1``…).
    """
    if not _authorized(request):
        return _no_key()
    body = json_body(await request.read())
    if not isinstance(body, dict) or not isinstance(body.get("model"), str):
        return openai_error(400, "you must provide a model parameter", param="model")
    model = str(body["model"])
    behaviour = behaviour_for(model)
    status = request.app[STATE].failure_status(behaviour, model, False)
    await pause(behaviour)
    if status is not None:
        return openai_error(status, _BAD_INPUT if status == 400 else None)
    refusal = _embeddings_refusal(body)
    if refusal is not None:
        return refusal
    answer = embeddings(body)
    if answer is None:
        return openai_error(400, _BAD_INPUT)
    return _embeddings_answer(answer, behaviour)


def _embeddings_answer(answer: dict[str, Any], behaviour: Behaviour) -> web.Response:
    """The answer, or the broken one the model name asks for."""
    if behaviour.kind == "invalid-json":
        return web.Response(text='{"object": "list", "data": [', content_type="application/json")
    if behaviour.kind == "empty":  # fewer vectors than inputs
        answer["data"] = answer["data"][:-1]
    if behaviour.kind == "no-usage":
        del answer["usage"]
    return web.json_response(answer, headers=_headers())


def add_openai_routes(app: web.Application) -> None:
    """Mount OpenAI's endpoints under /v1."""
    app.router.add_post("/v1/chat/completions", chat_completions)
    app.router.add_get("/v1/models", list_models)
    app.router.add_post("/v1/embeddings", create_embeddings)
