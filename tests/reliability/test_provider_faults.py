"""The OpenAI-compatible provider turns every malformed answer into a retryable protocol error.

A 200 whose JSON parses but is not a completion (``choices`` not a list of objects) must be
typed like JSON that does not parse, so the executor retries and falls back instead of failing
the request with an internal error.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from parity.catalog.deployment import Deployment, ProviderKind
from parity.errors import UpstreamProtocolError
from parity.providers.openai_compat import OpenAIProvider
from tests.reliability.chaos_proc import ChaosProcess, start_chaos

BODY = {"messages": [{"role": "user", "content": "hello"}]}


@pytest.fixture(scope="module")
def chaos(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChaosProcess]:
    process = start_chaos(tmp_path_factory.mktemp("chaos"))
    yield process
    process.stop()


def provider(base_url: str) -> OpenAIProvider:
    deployment = Deployment(id="shaky", provider=ProviderKind.OPENAI, base_url=base_url)
    return OpenAIProvider(deployment, {})


async def call(shaky: OpenAIProvider, stream: bool) -> None:
    if stream:
        async for _chunk in shaky.stream(BODY):
            pass
    else:
        await shaky.chat(BODY)


async def messages(chaos: ChaosProcess, fault: str, stream: bool) -> list[str]:
    """The protocol errors of 30 calls that each meet ``fault``."""
    shaky = provider(chaos.force(fault))
    seen = []
    try:
        for _ in range(30):
            with pytest.raises(UpstreamProtocolError) as caught:
                await call(shaky, stream)
            assert caught.value.retryable
            seen.append(caught.value.message)
    finally:
        await shaky.close()
    return seen


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_both_malformed_shapes_are_protocol_errors(chaos: ChaosProcess, stream: bool) -> None:
    fault = "malformed_json@0" if stream else "malformed_json"
    seen = asyncio.run(messages(chaos, fault, stream))
    assert any("invalid JSON" in m for m in seen)  # cut short
    assert any("choices" in m for m in seen)  # parses, but is not a completion
