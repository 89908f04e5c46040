"""What real clients send, through the real gateway, to a real llama.cpp server.

Each of these came back as a 502 carrying llama.cpp's validation errors and traceback, and three
of them opened the circuit breaker for everyone: the ``developer`` role, content-part arrays, the
tool loop's second turn (``content: null`` beside ``tool_calls``), and a ``json_schema``
response format. ``max_completion_tokens`` (LangChain's limit) was ignored.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest
from pydantic import BaseModel

from tests.servers import GatewayProcess, start_gateway, wait_for_rows


@pytest.fixture(scope="module")
def gateway(
    llama_server: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[GatewayProcess]:
    config = {
        "models": [
            {
                "id": "local/smollm2",
                "provider": "openai",
                "engine": "llama.cpp",
                "base_url": llama_server,
                "upstream_model": "smollm2",
                "residency": "on_prem",
                "context_window": 2048,
            }
        ],
        "retry": {"breaker_failures": 3},
    }
    gw = start_gateway(tmp_path_factory.mktemp("adapt"), config)
    yield gw
    gw.stop()


@pytest.fixture
def client(gateway: GatewayProcess) -> openai.OpenAI:
    return openai.OpenAI(base_url=gateway.v1, api_key="unused", max_retries=0, timeout=120)


def _ask(client: openai.OpenAI, messages: list[Any], **extra: Any) -> Any:
    return client.chat.completions.create(
        model="local/smollm2", messages=messages, max_tokens=8, temperature=0, **extra
    )


def test_developer_role_and_text_parts_are_answered(client: openai.OpenAI) -> None:
    reply = _ask(
        client,
        [
            {"role": "developer", "content": "Answer in one word."},
            {"role": "user", "content": [{"type": "text", "text": "Name a colour."}]},
        ],
    )
    assert reply.choices[0].message.content
    assert reply.choices[0].message.refusal is None


def test_the_tool_loops_second_turn_is_answered(client: openai.OpenAI) -> None:
    call = {"id": "call_1", "type": "function", "function": {"name": "weather", "arguments": "{}"}}
    reply = _ask(
        client,
        [
            {"role": "user", "content": "What is the weather?"},
            {"role": "assistant", "content": None, "tool_calls": [call]},
            {"role": "tool", "tool_call_id": "call_1", "content": "Sunny, 21 C."},
        ],
    )
    assert reply.choices[0].message.content


def test_max_completion_tokens_limits_the_answer(client: openai.OpenAI) -> None:
    reply = client.chat.completions.create(
        model="local/smollm2",
        messages=[{"role": "user", "content": "Tell me a long story about a dragon."}],
        max_completion_tokens=3,
        temperature=0,
    )
    assert reply.usage is not None and reply.usage.completion_tokens <= 3
    assert reply.choices[0].finish_reason == "length"


class City(BaseModel):
    name: str
    country: str


def test_json_schema_structured_output_parses_every_time(client: openai.OpenAI) -> None:
    for prompt in ("Name a big city.", "Which city has the Eiffel Tower?", "A city in Japan?"):
        parsed = client.chat.completions.parse(
            model="local/smollm2",
            messages=[{"role": "user", "content": prompt}],
            response_format=City,
            max_tokens=48,
            temperature=0,
        )
        city = parsed.choices[0].message.parsed
        assert isinstance(city, City), parsed.choices[0].message.content


def test_an_image_to_a_text_only_deployment_is_a_400_naming_the_part(
    client: openai.OpenAI,
) -> None:
    image = {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}
    with pytest.raises(openai.BadRequestError) as caught:
        _ask(client, [{"role": "user", "content": [{"type": "text", "text": "What?"}, image]}])
    assert caught.value.param == "messages[0].content[1]"
    assert "does not take images" in caught.value.message


def test_a_schema_the_grammar_cannot_express_is_a_400(client: openai.OpenAI) -> None:
    schema = {"type": "object", "properties": {"code": {"type": "string", "pattern": "[A-Z]+"}}}
    fmt = {"type": "json_schema", "json_schema": {"name": "c", "schema": schema}}
    with pytest.raises(openai.BadRequestError) as caught:
        _ask(client, [{"role": "user", "content": "A code?"}], response_format=fmt)
    assert caught.value.param == "response_format"
    assert "grammar cannot express" in caught.value.message


def test_requests_llama_cpp_refuses_are_400s_and_never_open_the_breaker(
    client: openai.OpenAI, gateway: GatewayProcess
) -> None:
    ids = []
    for _ in range(5):  # more than breaker_failures
        with pytest.raises(openai.BadRequestError) as caught:
            _ask(client, [{"role": "user", "content": "Hi"}], extra_body={"top_k": "many"})
        assert 'File "' not in caught.value.message  # no server traceback reaches the client
        ids.append(caught.value.response.headers["x-parity-request-id"])
    assert _ask(client, [{"role": "user", "content": "Hi"}]).choices[0].message.content
    ready = httpx.get(gateway.url + "/readyz", timeout=10)
    assert ready.status_code == 200, ready.text
    rows = wait_for_rows(gateway.ledger_url, set(ids))
    assert {row.status for row in rows.values()} == {400}
    assert all(json.dumps(row.trace).count('"attempts"') == 1 for row in rows.values())
