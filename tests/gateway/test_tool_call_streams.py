"""Tool calls and whole answers in OpenAI's exact shape, on every backend, for real clients.

llama.cpp's server streamed a tool call with its id, type and name in every delta (LangChain's
``ChatOpenAI`` then called ``get_weatherget_weather…``), ``role: null`` and ``tool_calls:
null`` around it and a copy in the deprecated ``function_call``; it answered
``tool_choice: "required"`` with text; and no backend but OpenAI's gave ``message.refusal``,
which OpenAI's schema requires. Checked here on the embedded llama.cpp and the fake vendor's
OpenAI and Anthropic wires, with the openai SDK's stream accumulation, LangChain, and OpenAI's
published schemas (tests/fixtures/openai_schemas.json).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import openai
import orjson
import pytest
from langchain_core.messages import AIMessageChunk
from langchain_openai import ChatOpenAI

from tests.fakes.fixtures import VendorFake
from tests.gateway.conformance_setup import (
    GET_TIME,
    GET_WEATHER,
    LOCAL,
    check_schema,
    conformance_gateway,
)
from tests.servers import GatewayProcess

ASK: Any = [{"role": "user", "content": "What is the weather in Paris?"}]
NAMED: Any = {"type": "function", "function": {"name": "get_weather"}}
# (model, tools, tool_choice): every way a backend here is asked for a call
CALLS = [
    pytest.param(LOCAL, [GET_WEATHER], "required", id="llama.cpp-required"),
    pytest.param(LOCAL, [GET_WEATHER, GET_TIME], "required", id="llama.cpp-required-of-two"),
    pytest.param(LOCAL, [GET_WEATHER], NAMED, id="llama.cpp-named"),
    pytest.param("openai/tool-call", [GET_WEATHER], "required", id="openai"),
    pytest.param("anthropic/tool-call", [GET_WEATHER], "required", id="anthropic"),
]
NAMES = {"get_weather", "get_time"}


@pytest.fixture(scope="module")
def gateway(
    vendor_fake: VendorFake, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[GatewayProcess]:
    yield from conformance_gateway(vendor_fake, tmp_path_factory)


@pytest.fixture
def client(gateway: GatewayProcess) -> openai.OpenAI:
    return openai.OpenAI(base_url=gateway.v1, api_key="unused", max_retries=0, timeout=120)


def _raw_chunks(gateway: GatewayProcess, body: dict[str, Any]) -> list[dict[str, Any]]:
    """The stream's chunks as sent, before any SDK reads them."""
    chunks = []
    with httpx.stream(
        "POST", f"{gateway.v1}/chat/completions", json={**body, "stream": True}, timeout=120
    ) as response:
        assert response.status_code == 200, response.read()
        for line in response.iter_lines():
            if line.startswith("data: ") and line != "data: [DONE]":
                chunks.append(orjson.loads(line.removeprefix("data: ")))
    return chunks


@pytest.mark.parametrize(("model", "tools", "choice"), CALLS)
def test_a_streamed_call_names_its_tool_once_and_ends_with_tool_calls(
    gateway: GatewayProcess, model: str, tools: list[Any], choice: Any
) -> None:
    body = {"model": model, "messages": ASK, "tools": tools, "tool_choice": choice}
    chunks = _raw_chunks(gateway, {**body, "max_tokens": 60, "temperature": 0})
    for chunk in chunks:
        check_schema("CreateChatCompletionStreamResponse", chunk)  # no role/tool_calls: null
    deltas = [c["choices"][0]["delta"] for c in chunks if c["choices"]]
    assert all("function_call" not in d for d in deltas)  # no copy in the deprecated field
    calls = [call for d in deltas for call in d.get("tool_calls") or ()]
    assert calls, deltas
    first, rest = calls[0], calls[1:]
    assert first["id"] and first["type"] == "function" and first["function"]["name"] in NAMES
    for later in rest:  # id, type and name come once, in the first delta of the call
        assert {"id", "type"}.isdisjoint(later) and "name" not in later["function"]
    arguments = "".join(call["function"].get("arguments", "") for call in calls)
    assert isinstance(orjson.loads(arguments), dict)
    finishes = [c["choices"][0]["finish_reason"] for c in chunks if c["choices"]]
    assert finishes[-1] == "tool_calls" and set(finishes[:-1]) == {None}


@pytest.mark.parametrize(("model", "tools", "choice"), CALLS)
def test_the_openai_sdks_stream_accumulates_one_call(
    client: openai.OpenAI, model: str, tools: list[Any], choice: Any
) -> None:
    with client.chat.completions.stream(
        model=model, messages=ASK, tools=tools, tool_choice=choice, max_tokens=60, temperature=0
    ) as stream:
        final = stream.get_final_completion()
    choice_ = final.choices[0]
    assert choice_.finish_reason == "tool_calls"
    calls = choice_.message.tool_calls or []
    assert len(calls) == 1 and calls[0].function.name in NAMES
    assert isinstance(orjson.loads(calls[0].function.arguments), dict)


@pytest.mark.parametrize(("model", "tools", "choice"), CALLS)
def test_a_whole_answer_is_the_call_in_openais_schema(
    client: openai.OpenAI, model: str, tools: list[Any], choice: Any
) -> None:
    reply = client.chat.completions.with_raw_response.create(
        model=model, messages=ASK, tools=tools, tool_choice=choice, max_tokens=60, temperature=0
    )
    body = reply.http_response.json()
    check_schema("CreateChatCompletionResponse", body)
    message = body["choices"][0]["message"]
    assert message["refusal"] is None and "function_call" not in message
    assert body["choices"][0]["finish_reason"] == "tool_calls"
    assert [c["function"]["name"] in NAMES for c in message["tool_calls"]] == [True]


@pytest.mark.parametrize(("model", "tools", "choice"), CALLS)
def test_langchain_streams_the_tool_name_exactly(
    gateway: GatewayProcess, model: str, tools: list[Any], choice: Any
) -> None:
    merged: AIMessageChunk | None = None
    with httpx.Client(timeout=120) as http:  # closed here, not left to LangChain's cache
        chat = ChatOpenAI(
            model=model,
            base_url=gateway.v1,
            api_key="unused",
            max_retries=0,
            temperature=0,
            http_client=http,
        )
        bound = chat.bind_tools(tools, tool_choice=choice)
        for piece in bound.stream("What is the weather in Paris?", max_tokens=60):
            assert isinstance(piece, AIMessageChunk)
            merged = piece if merged is None else merged + piece
    assert merged is not None
    assert len(merged.tool_calls) == 1, merged.tool_call_chunks
    call = merged.tool_calls[0]
    assert call["name"] in NAMES  # not get_weatherget_weather…
    assert isinstance(call["args"], dict) and call["id"]


@pytest.mark.parametrize("model", [LOCAL, "openai/fake-model", "anthropic/fake-model"])
def test_every_backends_answer_has_refusal_null(client: openai.OpenAI, model: str) -> None:
    raw = client.chat.completions.with_raw_response.create(
        model=model, messages=ASK, max_tokens=8, temperature=0
    )
    body = raw.http_response.json()
    check_schema("CreateChatCompletionResponse", body)
    assert body["choices"][0]["message"]["refusal"] is None


def test_a_cached_answer_has_refusal_null_too(client: openai.OpenAI) -> None:
    ask: Any = [{"role": "user", "content": "A cached question."}]
    first = client.chat.completions.with_raw_response.create(
        model="anthropic/fake-model", messages=ask, max_tokens=8
    )
    again = client.chat.completions.with_raw_response.create(
        model="anthropic/fake-model", messages=ask, max_tokens=8
    )
    assert first.headers["x-parity-cache"] == "miss" and again.headers["x-parity-cache"] == "hit"
    body = again.http_response.json()
    check_schema("CreateChatCompletionResponse", body)
    assert body["choices"][0]["message"]["refusal"] is None


@pytest.mark.parametrize("model", [LOCAL, "openai/fake-model", "anthropic/fake-model"])
def test_every_backends_text_stream_is_in_openais_schema(
    gateway: GatewayProcess, model: str
) -> None:
    body = {"model": model, "messages": ASK, "max_tokens": 8, "temperature": 0}
    chunks = _raw_chunks(gateway, {**body, "stream_options": {"include_usage": True}})
    for chunk in chunks:
        check_schema("CreateChatCompletionStreamResponse", chunk)
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["completion_tokens"] > 0
