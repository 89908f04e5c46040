"""Real clients (the official openai SDK, sync/async/streaming, and curl) against the real
gateway process in front of the real llama.cpp server on SmolLM2."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import openai
import pytest

from parity.store.base import LedgerRow
from tests.servers import GatewayProcess, start_gateway, wait_for_rows

PRICE_IN, PRICE_OUT = 0.10, 0.20
MESSAGES: list[Any] = [{"role": "user", "content": "Name one colour."}]


@pytest.fixture(scope="module")
def gateway(
    llama_server: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[GatewayProcess]:
    config = {
        "models": [
            {
                "id": "local/smollm2",
                "provider": "openai",
                "base_url": llama_server,
                "upstream_model": "smollm2",
                "residency": "on_prem",
                "context_window": 2048,
                "price": {"input": PRICE_IN, "output": PRICE_OUT},
            }
        ]
    }
    gw = start_gateway(tmp_path_factory.mktemp("gw"), config)
    yield gw
    gw.stop()


@pytest.fixture
def client(gateway: GatewayProcess) -> openai.OpenAI:
    return openai.OpenAI(base_url=gateway.v1, api_key="unused", max_retries=0)


def rows(gateway: GatewayProcess, ids: set[str]) -> dict[str, LedgerRow]:
    return wait_for_rows(gateway.ledger_url, ids)


def test_sync_completion_with_headers_usage_and_ledger_row(
    client: openai.OpenAI, gateway: GatewayProcess
) -> None:
    raw = client.chat.completions.with_raw_response.create(
        model="local/smollm2", messages=MESSAGES, max_tokens=12, temperature=0
    )
    reply = raw.parse()
    assert reply.model == "local/smollm2"
    assert reply.choices[0].message.content
    assert reply.usage is not None and reply.usage.prompt_tokens > 0
    assert raw.headers["x-parity-model"] == "local/smollm2"
    request_id = raw.headers["x-parity-request-id"]
    row = rows(gateway, {request_id})[request_id]
    assert row.status == 200 and row.residency == "on_prem"
    assert row.input_tokens == reply.usage.prompt_tokens
    assert row.output_tokens == reply.usage.completion_tokens
    assert row.cost_usd == pytest.approx(
        (row.input_tokens * PRICE_IN + row.output_tokens * PRICE_OUT) / 1e6
    )
    assert row.ttfb_ms is not None and row.total_ms >= row.ttfb_ms > 0
    assert row.response_text == reply.choices[0].message.content


def test_parity_auto_uses_the_local_model_when_no_default_is_named(
    client: openai.OpenAI,
) -> None:
    raw = client.chat.completions.with_raw_response.create(
        model="parity/auto", messages=MESSAGES, max_tokens=8
    )
    assert raw.parse().model == "local/smollm2"
    assert raw.headers["x-parity-route"] == "default: local/smollm2"


def test_async_client_runs_concurrent_requests(gateway: GatewayProcess) -> None:
    async def run() -> list[str]:
        async with openai.AsyncOpenAI(base_url=gateway.v1, api_key="x", max_retries=0) as aclient:
            replies = await asyncio.gather(
                *(
                    aclient.chat.completions.with_raw_response.create(
                        model="local/smollm2", messages=MESSAGES, max_tokens=6
                    )
                    for _ in range(4)
                )
            )
        for raw in replies:
            assert raw.parse().choices[0].message.content is not None
        return [raw.headers["x-parity-request-id"] for raw in replies]

    ids = asyncio.run(run())
    assert len(set(ids)) == 4
    assert all(r.status == 200 for r in rows(gateway, set(ids)).values())


def test_streaming_with_usage_in_the_final_chunk(
    client: openai.OpenAI, gateway: GatewayProcess
) -> None:
    with client.chat.completions.with_streaming_response.create(
        model="local/smollm2",
        messages=MESSAGES,
        max_tokens=12,
        stream=True,
        stream_options={"include_usage": True},
    ) as response:
        request_id = response.headers["x-parity-request-id"]
        assert response.headers["content-type"].startswith("text/event-stream")
        chunks = list(response.parse())
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text
    assert {c.model for c in chunks} == {"local/smollm2"}
    final = chunks[-1]
    assert final.usage is not None and final.usage.completion_tokens > 0
    # llama.cpp's server reports no stream usage: Parity counts it and says it did
    assert (final.usage.model_extra or {}).get("estimated") is True
    row = rows(gateway, {request_id})[request_id]
    assert row.stream and row.status == 200
    assert row.output_tokens == final.usage.completion_tokens
    assert row.usage_estimated
    assert row.response_text == text
    assert row.ttfb_ms is not None and row.ttfb_ms <= row.total_ms


def test_streaming_without_include_usage_sends_no_usage_chunk(client: openai.OpenAI) -> None:
    chunks = list(
        client.chat.completions.create(
            model="local/smollm2", messages=MESSAGES, max_tokens=6, stream=True
        )
    )
    assert chunks and all(c.choices for c in chunks)
    assert all(c.usage is None for c in chunks)


def _curl(*args: str) -> str:
    done = subprocess.run(
        ["curl", "-sS", "--max-time", "60", *args], capture_output=True, text=True, check=True
    )
    return done.stdout


def test_curl_non_streaming_and_streaming(gateway: GatewayProcess) -> None:
    body = json.dumps({"model": "parity/auto", "messages": MESSAGES, "max_tokens": 8})
    out = _curl(
        "-i", f"{gateway.v1}/chat/completions", "-H", "content-type: application/json", "-d", body
    )
    head, _, payload = out.partition("\n\n")  # text mode turned \r\n into \n
    assert head.startswith("HTTP/1.1 200")
    assert "x-parity-request-id: req_" in head and "x-parity-model: local/smollm2" in head
    assert json.loads(payload)["choices"][0]["message"]["content"]

    stream_body = json.dumps(
        {"model": "local/smollm2", "messages": MESSAGES, "max_tokens": 8, "stream": True}
    )
    out = _curl(
        "-N",
        f"{gateway.v1}/chat/completions",
        "-H",
        "content-type: application/json",
        "-d",
        stream_body,
    )
    events = [line for line in out.splitlines() if line.startswith("data: ")]
    assert events[-1] == "data: [DONE]"
    first = json.loads(events[0].removeprefix("data: "))
    assert first["object"] == "chat.completion.chunk"

    models = json.loads(_curl(f"{gateway.v1}/models"))
    assert [m["id"] for m in models["data"]] == ["local/smollm2", "parity/auto"]


def test_logs_and_usage_commands_read_what_the_gateway_wrote(
    client: openai.OpenAI, gateway: GatewayProcess
) -> None:
    raw = client.chat.completions.with_raw_response.create(
        model="local/smollm2", messages=MESSAGES, max_tokens=4
    )
    request_id = raw.headers["x-parity-request-id"]
    rows(gateway, {request_id})
    parity = [sys.executable, "-m", "parity"]
    logs = subprocess.run(
        [*parity, "logs", "--ledger", gateway.ledger_url, "--json", "-n", "100"],
        capture_output=True,
        text=True,
        check=True,
    )
    listed = {r["request_id"]: r for r in json.loads(logs.stdout)}
    assert listed[request_id]["model_answered"] == "local/smollm2"
    usage = subprocess.run(
        [*parity, "usage", "--ledger", gateway.ledger_url, "--json"],
        capture_output=True,
        text=True,
        check=True,
    )
    [day] = [u for u in json.loads(usage.stdout) if u["model"] == "local/smollm2"]
    assert day["requests"] >= 1 and day["output_tokens"] > 0
