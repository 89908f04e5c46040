"""The official openai SDK, unchanged, works against the fake: proof it speaks the real wire."""

from __future__ import annotations

import math

import httpx
import openai
import pytest

from tests.fakes.fixtures import VendorFake


def client(fake: VendorFake) -> openai.OpenAI:
    return openai.OpenAI(base_url=fake.openai_url, api_key="x", max_retries=0)


def test_sdk_chat_stream_errors_and_models(vendor: VendorFake) -> None:
    messages: list[openai.types.chat.ChatCompletionMessageParam] = [
        {"role": "user", "content": "name three primes"}
    ]
    with client(vendor) as sdk:
        answer = sdk.chat.completions.create(model="gpt-fake", messages=messages)
        assert answer.choices[0].message.content == "Echo: name three primes"
        assert answer.choices[0].finish_reason == "stop"
        assert answer.usage is not None and answer.usage.prompt_tokens == 3

        chunks = list(
            sdk.chat.completions.create(
                model="gpt-fake",
                messages=messages,
                stream=True,
                stream_options={"include_usage": True},
            )
        )
        text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        assert text == "Echo: name three primes"
        assert chunks[-1].choices == [] and chunks[-1].usage is not None
        assert chunks[-1].usage.completion_tokens == 4

        with pytest.raises(openai.RateLimitError) as limited:
            sdk.chat.completions.create(model="rate-limit", messages=messages)
        assert limited.value.response.headers["retry-after"] == "1"
        assert limited.value.code == "rate_limit_exceeded"
        with pytest.raises(openai.InternalServerError):
            sdk.chat.completions.create(model="error-500", messages=messages)
        with pytest.raises(openai.BadRequestError):
            sdk.chat.completions.create(model="bad-request", messages=messages)
        assert "fake-model" in {m.id for m in sdk.models.list()}

        with pytest.raises(openai.AuthenticationError) as denied:
            sdk.chat.completions.create(model="auth-401", messages=messages)
        assert denied.value.code == "invalid_api_key"


def test_missing_key_gets_openai_exact_error_body(vendor: VendorFake) -> None:
    answer = httpx.post(
        f"{vendor.openai_url}/chat/completions",
        json={"model": "gpt-fake", "messages": [{"role": "user", "content": "hi"}]},
        trust_env=False,
    )
    assert answer.status_code == 401
    error = answer.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert (error["type"], error["param"], error["code"]) == (
        "invalid_request_error",
        None,
        "invalid_api_key",
    )
    assert vendor.received()[0]["body"]["model"] == "gpt-fake"


def test_sdk_tool_call_and_in_stream_error(vendor: VendorFake) -> None:
    tool: openai.types.chat.ChatCompletionToolParam = {
        "type": "function",
        "function": {
            "name": "weather",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
                "required": ["city"],
            },
        },
    }
    with client(vendor) as sdk:
        answer = sdk.chat.completions.create(
            model="tool-call", messages=[{"role": "user", "content": "hi"}], tools=[tool]
        )
        calls = answer.choices[0].message.tool_calls
        assert answer.choices[0].finish_reason == "tool_calls" and calls
        assert calls[0].type == "function"
        assert calls[0].function.name == "weather"
        assert calls[0].function.arguments == '{"city": "example"}'

        stream = sdk.chat.completions.create(
            model="stream-error-overloaded",
            messages=[{"role": "user", "content": "hi there"}],
            stream=True,
        )
        with pytest.raises(openai.APIError):
            list(stream)


def test_sdk_embeddings_are_deterministic_and_similar_for_shared_words(
    vendor: VendorFake,
) -> None:
    with client(vendor) as sdk:
        texts = ["the cat sat", "the cat sat", "a cat sat down", "quantum chromodynamics"]
        vectors = [d.embedding for d in sdk.embeddings.create(model="emb", input=texts).data]

    def cosine(a: list[float], b: list[float]) -> float:
        return sum(x * y for x, y in zip(a, b, strict=True))

    assert len(vectors[0]) == 256
    assert math.isclose(sum(v * v for v in vectors[0]), 1.0, rel_tol=1e-4)
    assert vectors[0] == vectors[1]
    assert cosine(vectors[0], vectors[2]) > 0.3 > abs(cosine(vectors[0], vectors[3]))
