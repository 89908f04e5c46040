"""Streamed usage is the real count: the embedded llama.cpp's streams, its count_tokens.

llama-cpp-python's server sends no usage in a stream, so Parity used to estimate it (8 prompt
tokens for "Count to five." against the 34 its chat template makes; 0 completion tokens for a
tool call), and the ledger, costs and budgets read the estimate. Now a ``provider: local``
stream ends with the count of the model's own tokenizer and chat template, equal to what the
same request gets unstreamed, and the ledger row is not marked estimated. An upstream that
reports nothing (the fake vendor's ``no-usage``, or llama.cpp run as a plain OpenAI-compatible
server, whose tokenizer Parity cannot reach) still gets an estimate, marked as one.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import anthropic
import openai
import pytest

from parity.routing.signals.shape import estimate_prompt_tokens
from tests.fakes.deployments import FAKE_KEY, FAKE_KEY_ENV
from tests.fakes.fixtures import VendorFake
from tests.servers import GatewayProcess, start_gateway, wait_for_rows

PRICE_IN, PRICE_OUT = 1.0, 2.0
WEATHER: Any = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The weather in a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}
FORCED: Any = {"type": "function", "function": {"name": "get_weather"}}
CONVERSATIONS: list[Any] = [
    [{"role": "user", "content": "Count to five."}],
    [
        {"role": "system", "content": "Answer in one word."},
        {"role": "user", "content": "Hi there"},
        {"role": "assistant", "content": "Hello!"},
        {"role": "user", "content": "Héllo again: 日本語 🎉, what is 2+2?"},
    ],
]


@pytest.fixture(scope="module")
def gateway(
    llama_server: str, vendor_fake: VendorFake, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[GatewayProcess]:
    price = {"input": PRICE_IN, "output": PRICE_OUT}
    config = {
        "local": {"n_threads": 1, "startup_timeout_s": 120},
        "models": [
            {"id": "local/smollm2", "provider": "local", "residency": "on_prem", "price": price},
            {  # the same model behind a server Parity did not start: no tokenizer at hand
                "id": "external/smollm2",
                "provider": "openai",
                "base_url": llama_server,
                "upstream_model": "smollm2",
                "residency": "on_prem",
                "price": price,
            },
            {
                "id": "uncounted",
                "provider": "openai",
                "base_url": vendor_fake.openai_url,
                "api_key_env": FAKE_KEY_ENV,
                "upstream_model": "no-usage",
                "residency": "vendor",
                "price": price,
            },
        ],
        "ledger": {"flush_interval_s": 0.05},
    }
    gw = start_gateway(tmp_path_factory.mktemp("usage"), config, env={FAKE_KEY_ENV: FAKE_KEY})
    yield gw
    gw.stop()


@pytest.fixture
def client(gateway: GatewayProcess) -> openai.OpenAI:
    return openai.OpenAI(base_url=gateway.v1, api_key="unused", max_retries=0, timeout=120)


def _streamed(client: openai.OpenAI, **request: Any) -> tuple[str, Any, list[Any]]:
    """The request id, the final usage and every chunk of one streamed request."""
    with client.chat.completions.with_streaming_response.create(
        stream=True, stream_options={"include_usage": True}, **request
    ) as response:
        request_id = response.headers["x-parity-request-id"]
        chunks = list(response.parse())
    usage = next((c.usage for c in reversed(chunks) if c.usage is not None), None)
    return request_id, usage, chunks


@pytest.mark.parametrize("messages", CONVERSATIONS, ids=["one-turn", "four-turns"])
def test_streamed_usage_is_the_unstreamed_usage_and_the_ledger_has_it(
    client: openai.OpenAI, gateway: GatewayProcess, messages: list[Any]
) -> None:
    request: dict[str, Any] = {
        "model": "local/smollm2",
        "messages": messages,
        "max_tokens": 16,
        "temperature": 0,
    }
    plain = client.chat.completions.with_raw_response.create(**request)
    whole = plain.parse()
    assert whole.usage is not None
    request_id, usage, chunks = _streamed(client, **request)
    assert usage is not None, "the stream ended without a usage chunk"
    assert usage.prompt_tokens == whole.usage.prompt_tokens
    assert usage.completion_tokens == whole.usage.completion_tokens
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens
    assert "estimated" not in (usage.model_extra or {})
    assert chunks[-1].usage is not None and chunks[-1].choices == []
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == whole.choices[0].message.content
    plain_id = plain.headers["x-parity-request-id"]
    rows = wait_for_rows(gateway.ledger_url, {request_id, plain_id})
    row = rows[request_id]
    assert row.stream and row.status == 200
    assert (row.input_tokens, row.output_tokens) == (usage.prompt_tokens, usage.completion_tokens)
    assert (row.input_tokens, row.output_tokens) == (
        rows[plain_id].input_tokens,
        rows[plain_id].output_tokens,
    )
    assert not row.usage_estimated
    cost = (usage.prompt_tokens * PRICE_IN + usage.completion_tokens * PRICE_OUT) / 1e6
    assert row.cost_usd == pytest.approx(cost)


def test_a_streamed_tool_call_counts_its_completion_tokens(
    client: openai.OpenAI, gateway: GatewayProcess
) -> None:
    request: dict[str, Any] = {
        "model": "local/smollm2",
        "messages": [{"role": "user", "content": "What is the weather in Paris?"}],
        "tools": [WEATHER],
        "tool_choice": FORCED,
        "max_tokens": 24,
        "temperature": 0,
    }
    whole = client.chat.completions.create(**request)
    assert whole.usage is not None and whole.choices[0].message.tool_calls
    request_id, usage, chunks = _streamed(client, **request)
    assert any(c.choices and c.choices[0].delta.tool_calls for c in chunks)
    assert usage is not None and usage.completion_tokens > 0
    assert (usage.prompt_tokens, usage.completion_tokens) == (
        whole.usage.prompt_tokens,
        whole.usage.completion_tokens,
    )
    row = wait_for_rows(gateway.ledger_url, {request_id})[request_id]
    assert row.output_tokens == usage.completion_tokens and not row.usage_estimated


def test_without_include_usage_the_client_gets_no_usage_chunk_but_the_ledger_counts(
    client: openai.OpenAI, gateway: GatewayProcess
) -> None:
    request: dict[str, Any] = {
        "model": "local/smollm2",
        "messages": CONVERSATIONS[0],
        "max_tokens": 8,
        "temperature": 0,
    }
    whole = client.chat.completions.create(**request)
    with client.chat.completions.with_streaming_response.create(stream=True, **request) as raw:
        request_id = raw.headers["x-parity-request-id"]
        chunks = list(raw.parse())
    assert all(c.usage is None for c in chunks) and all(c.choices for c in chunks)
    row = wait_for_rows(gateway.ledger_url, {request_id})[request_id]
    assert whole.usage is not None and not row.usage_estimated
    assert row.input_tokens == whole.usage.prompt_tokens


def test_an_upstream_that_reports_no_usage_gives_a_row_marked_estimated(
    client: openai.OpenAI, gateway: GatewayProcess
) -> None:
    request_id, usage, _ = _streamed(
        client, model="uncounted", messages=CONVERSATIONS[0], max_tokens=8
    )
    assert usage is not None and (usage.model_extra or {}).get("estimated") is True
    row = wait_for_rows(gateway.ledger_url, {request_id})[request_id]
    assert row.usage_estimated
    assert row.input_tokens == estimate_prompt_tokens({"messages": CONVERSATIONS[0]})
    assert (row.input_tokens, row.output_tokens) == (usage.prompt_tokens, usage.completion_tokens)


def test_a_tool_call_stream_with_no_usage_is_estimated_but_not_zero(
    client: openai.OpenAI, gateway: GatewayProcess
) -> None:
    """llama.cpp as a plain OpenAI-compatible server: no usage, no tokenizer Parity can use."""
    request_id, usage, chunks = _streamed(
        client,
        model="external/smollm2",
        messages=[{"role": "user", "content": "What is the weather in Paris?"}],
        tools=[WEATHER],
        tool_choice=FORCED,
        max_tokens=24,
        temperature=0,
    )
    assert any(c.choices and c.choices[0].delta.tool_calls for c in chunks)
    assert usage is not None and (usage.model_extra or {}).get("estimated") is True
    row = wait_for_rows(gateway.ledger_url, {request_id})[request_id]
    assert row.usage_estimated and row.output_tokens == usage.completion_tokens
    assert row.output_tokens is not None and row.output_tokens > 0


@pytest.fixture
def claude(gateway: GatewayProcess) -> Iterator[anthropic.Anthropic]:
    with anthropic.Anthropic(
        base_url=gateway.url, api_key="unused", max_retries=0, timeout=120
    ) as sdk:
        yield sdk


def test_count_tokens_on_the_embedded_model_is_its_tokenizer_and_template(
    claude: anthropic.Anthropic, client: openai.OpenAI, gateway: GatewayProcess
) -> None:
    system, text = "Answer in one word.", "Hi there"
    counted = claude.messages.count_tokens(
        model="local/smollm2", system=system, messages=[{"role": "user", "content": text}]
    )
    whole = client.chat.completions.create(
        model="local/smollm2",
        messages=[{"role": "system", "content": system}, {"role": "user", "content": text}],
        max_tokens=1,
    )
    assert whole.usage is not None and counted.input_tokens == whole.usage.prompt_tokens
    with claude.messages.stream(
        model="local/smollm2",
        system=system,
        max_tokens=12,
        messages=[{"role": "user", "content": text}],
    ) as stream:
        final = stream.get_final_message()
        request_id = stream.response.headers["x-parity-request-id"]
    assert final.usage.input_tokens == counted.input_tokens
    row = wait_for_rows(gateway.ledger_url, {request_id})[request_id]
    assert not row.usage_estimated
    assert (row.input_tokens, row.output_tokens) == (
        final.usage.input_tokens,
        final.usage.output_tokens,
    )


def test_count_tokens_elsewhere_is_the_estimate(claude: anthropic.Anthropic) -> None:
    messages: Any = [{"role": "user", "content": "Hi there"}]
    counted = claude.messages.count_tokens(model="uncounted", messages=messages)
    assert counted.input_tokens == estimate_prompt_tokens({"messages": messages})
