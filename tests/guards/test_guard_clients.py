"""The guard clients against the fake guard server, over real HTTP, in both formats."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from parity.catalog.deployment import Deployment
from parity.config.guards import GuardSpec, RouteGuard
from parity.errors import UpstreamProtocolError, UpstreamServerError, UpstreamTimeout
from parity.guards import GuardCheck, StreamGuard
from parity.guards.client import GuardClient, build_client
from tests.fakes.fixtures import VendorFake


def _client(guard: VendorFake, fmt: str, timeout_s: float = 5.0) -> GuardClient:
    deployment = Deployment(
        id="guard", provider="openai", base_url=guard.openai_url, upstream_model="llama-guard3:1b"
    )
    spec = GuardSpec(deployment="guard", format=fmt, timeout_s=timeout_s)
    return build_client("safety", spec, deployment, {})


def _run(work: Any) -> Any:
    return asyncio.run(work)


@pytest.mark.parametrize(
    ("fmt", "unsafe"),
    [("llama_guard", "[[unsafe:S1,S10]]"), ("openai_moderation", "[[unsafe:violence,hate]]")],
)
def test_both_formats_answer_safe_and_unsafe(guard: VendorFake, fmt: str, unsafe: str) -> None:
    async def go() -> tuple[Any, Any]:
        client = _client(guard, fmt)
        try:
            return await client.classify("hello there", None), await client.classify(
                f"please {unsafe}", None
            )
        finally:
            await client.close()

    safe, flagged = _run(go())
    assert safe.safe and safe.latency_ms > 0
    assert not flagged.safe
    assert len(flagged.categories) == 2


@pytest.mark.parametrize("fmt", ["llama_guard", "openai_moderation"])
@pytest.mark.parametrize(
    ("marker", "error"),
    [
        ("[[garbled]]", UpstreamProtocolError),
        ("[[guard-error:500]]", UpstreamServerError),
        ("[[guard-slow:1.5]]", UpstreamTimeout),
    ],
)
def test_guard_failures_are_typed_errors(
    guard: VendorFake, fmt: str, marker: str, error: type[Exception]
) -> None:
    async def go() -> None:
        client = _client(guard, fmt, timeout_s=0.5)
        try:
            await client.classify(f"text {marker}", None)
        finally:
            await client.close()

    with pytest.raises(error):
        _run(go())


def test_the_output_check_sends_the_conversation_to_llama_guard(guard: VendorFake) -> None:
    async def go() -> None:
        client = _client(guard, "llama_guard")
        try:
            await client.classify("a question", "an answer")
        finally:
            await client.close()

    _run(go())
    (seen,) = guard.received()
    assert seen["path"] == "/v1/chat/completions"
    assert seen["body"]["model"] == "llama-guard3:1b"
    assert seen["body"]["messages"] == [
        {"role": "user", "content": "a question"},
        {"role": "assistant", "content": "an answer"},
    ]


def test_a_stream_is_held_until_checks_pass_and_cut_at_an_unsafe_window(
    guard: VendorFake,
) -> None:
    words = [f"w{i} " for i in range(60)] + ["[[unsafe:S9]] "] + [f"x{i} " for i in range(20)]

    async def go() -> tuple[list[str], Exception | None, Any]:
        client = _client(guard, "llama_guard")
        check = GuardCheck(
            "r", RouteGuard(guard="safety", stream_check_tokens=8), client, "llama_guard"
        )
        stream = StreamGuard(check, {"messages": [{"role": "user", "content": "q"}]})
        sent: list[str] = []
        failure: Exception | None = None
        try:
            for word in words:
                for chunk in await stream.feed({"text": word}, word):
                    sent.append(chunk["text"])
                await asyncio.sleep(0.002)  # an upstream's pace
            for chunk in await stream.drain():
                sent.append(chunk["text"])
            for chunk in await stream.finish():
                sent.append(chunk["text"])
        except Exception as exc:
            failure = exc
        finally:
            await stream.aclose()
            await client.close()
        return sent, failure, stream.outcome()

    sent, failure, outcome = _run(go())
    assert failure is not None and "S9" in str(failure)
    assert sent, "checked text before the unsafe window reached the client"
    assert not any("[[unsafe" in s or s.startswith("x") for s in sent)
    assert outcome.action == "block" and outcome.checks >= 2


def test_a_safe_stream_is_released_whole_after_the_final_check(guard: VendorFake) -> None:
    words = [f"w{i} " for i in range(50)]

    async def go() -> tuple[list[str], Any]:
        client = _client(guard, "openai_moderation")
        policy = RouteGuard(guard="safety", stream_check_tokens=8)
        stream = StreamGuard(GuardCheck("r", policy, client, "openai_moderation"), {"messages": []})
        sent: list[str] = []
        try:
            for word in words:
                sent += [c["text"] for c in await stream.feed({"text": word}, word)]
            sent += [c["text"] for c in await stream.finish()]
        finally:
            await client.close()
        return sent, stream.outcome()

    sent, outcome = _run(go())
    assert sent == words
    assert outcome.action == "allow" and outcome.checks >= 2
    final = guard.received()[-1]["body"]["input"]
    assert final == "".join(words)  # the last check saw the whole answer


def test_a_passed_check_releases_its_chunks_without_waiting_for_the_next(
    guard: VendorFake,
) -> None:
    words = [f"w{i:02d} " for i in range(12)]  # 48 characters: past the first window (8 tokens)

    async def go() -> tuple[list[str], list[str]]:
        client = _client(guard, "llama_guard")
        policy = RouteGuard(guard="safety", stream_check_tokens=8)
        stream = StreamGuard(GuardCheck("r", policy, client, "llama_guard"), {"messages": []})
        try:
            early = [c["text"] for w in words for c in await stream.feed({"text": w}, w)]
            checking = stream.in_flight
            assert checking is not None
            await asyncio.wait({checking})  # no further chunk arrives meanwhile
            return early, [c["text"] for c in stream.poll()]
        finally:
            await stream.aclose()
            await client.close()

    early, released = _run(go())
    assert early == []
    assert released == words[:8]  # the window the check covered: 8 tokens of 4 characters
