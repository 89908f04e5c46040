"""Concurrent streams on the embedded llama.cpp (provider: local), through the real gateway.

llama_cpp.server's default ``interrupt_requests=True`` cancels the running completion when the
next request arrives, so two streams at once each came back with a role chunk, a usage chunk,
no content and no ``finish_reason``, and the ledger called them successes with 0 output tokens.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import openai
import pytest

from tests.servers import GatewayProcess, start_gateway, wait_for_rows


@pytest.fixture(scope="module")
def embedded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayProcess]:
    config = {
        "local": {"n_threads": 1, "startup_timeout_s": 120},
        "models": [{"id": "local/smollm2", "provider": "local", "residency": "on_prem"}],
    }
    gw = start_gateway(tmp_path_factory.mktemp("embedded"), config)
    yield gw
    gw.stop()


async def _stream(client: openai.AsyncOpenAI, delay: float, prompt: str) -> dict[str, Any]:
    await asyncio.sleep(delay)
    raw = await client.chat.completions.with_raw_response.create(
        model="local/smollm2",
        messages=[{"role": "user", "content": prompt}],
        max_tokens=16,
        temperature=0,
        stream=True,
        stream_options={"include_usage": True},
    )
    text: list[str] = []
    finish: list[str] = []
    usage = None
    async for chunk in raw.parse():
        for choice in chunk.choices:
            text.append(choice.delta.content or "")
            if choice.finish_reason:
                finish.append(choice.finish_reason)
        if chunk.usage is not None:
            usage = chunk.usage
    return {
        "id": raw.headers["x-parity-request-id"],
        "text": "".join(text),
        "finish": finish,
        "usage": usage,
    }


def test_concurrent_and_overlapping_streams_all_finish_with_content(
    embedded: GatewayProcess,
) -> None:
    async def main() -> list[dict[str, Any]]:
        async with openai.AsyncOpenAI(
            base_url=embedded.v1, api_key="unused", max_retries=0, timeout=240
        ) as client:
            jobs = [
                _stream(client, 0.0, "Name a colour."),
                _stream(client, 0.0, "Name a fruit."),
                _stream(client, 0.0, "Name an animal."),
                _stream(client, 0.3, "Name a city."),  # starts while the others run
            ]
            return list(await asyncio.gather(*jobs))

    results = asyncio.run(main())
    for result in results:
        assert result["text"].strip(), result
        assert result["finish"] in (["stop"], ["length"]), result
        assert result["usage"] is not None and result["usage"].completion_tokens > 0, result
    rows = wait_for_rows(embedded.ledger_url, {r["id"] for r in results})
    for result in results:
        row = rows[result["id"]]
        assert row.status == 200 and (row.output_tokens or 0) > 0, row
