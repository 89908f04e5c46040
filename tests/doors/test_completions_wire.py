"""Legacy text completions in <-> chat: requests, refusals, answers and streamed chunks."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from parity.errors import InvalidField, InvalidJSON
from parity.gateway.completions.wire import (
    DEFAULT_MAX_TOKENS,
    completion_chunk,
    completion_object,
    finish_reason,
    parse_completions,
)
from parity.gateway.protocol import ChatCall
from tests.fixtures.openai_schemas import validator


def _parse(**body: Any) -> ChatCall:
    return parse_completions(orjson.dumps({"model": "m", "prompt": "Say hi", **body}))


def _refused(**body: Any) -> InvalidField:
    with pytest.raises(InvalidField) as caught:
        _parse(**body)
    return caught.value


def test_the_prompt_becomes_one_user_message_with_the_sampling_fields() -> None:
    call = _parse(
        prompt=["Once upon a time"],
        max_tokens=7,
        temperature=0.2,
        top_p=0.9,
        stop=["\n"],
        seed=3,
        user="u-1",
        top_k=5,  # not OpenAI's: passed on, as the chat door passes unknown fields
    )
    assert call.model == "m" and call.stream is False and call.include_usage is False
    assert call.body == {
        "model": "m",
        "messages": [{"role": "user", "content": "Once upon a time"}],
        "max_tokens": 7,
        "temperature": 0.2,
        "top_p": 0.9,
        "stop": ["\n"],
        "seed": 3,
        "user": "u-1",
        "top_k": 5,
    }


def test_max_tokens_defaults_to_openais_16_and_defaults_are_not_refusals() -> None:
    call = _parse(n=1, best_of=1, echo=False, suffix=None, logprobs=None)
    assert call.body["max_tokens"] == DEFAULT_MAX_TOKENS == 16
    assert not {"n", "best_of", "echo", "suffix", "logprobs", "prompt"} & set(call.body)


def test_a_stream_always_asks_the_upstream_for_usage() -> None:
    quiet = _parse(stream=True)
    assert quiet.stream and not quiet.include_usage
    assert quiet.body["stream"] is True
    assert quiet.body["stream_options"] == {"include_usage": True}
    asked = _parse(stream=True, stream_options={"include_usage": True})
    assert asked.include_usage
    unstreamed = _parse(stream=False, stream_options={"include_usage": True})
    assert not unstreamed.include_usage and "stream_options" not in unstreamed.body


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("n", 2),
        ("n", True),
        ("best_of", 3),
        ("echo", True),
        ("suffix", "the end"),
        ("logprobs", 0),
        ("logprobs", 5),
    ],
)
def test_unsupported_parameters_are_refused_by_name(field: str, value: Any) -> None:
    error = _refused(**{field: value})
    assert error.param == field and error.code == "unsupported_parameter"
    assert error.status == 400 and field in error.message


@pytest.mark.parametrize(
    ("prompt", "words"),
    [
        (None, "required"),
        (["one", "two"], "2 prompts"),
        ([1, 2, 3], "token ids"),
        ([[1, 2], [3]], "token ids"),
        ([], "array of one string"),
        (42, "array of one string"),
        ({"text": "x"}, "array of one string"),
    ],
)
def test_a_bad_prompt_is_refused_naming_prompt(prompt: Any, words: str) -> None:
    error = _refused(prompt=prompt)
    assert error.param == "prompt" and words in error.message


def test_a_missing_prompt_and_bad_types_name_the_field() -> None:
    with pytest.raises(InvalidField) as caught:
        parse_completions(b'{"model": "m"}')
    assert caught.value.param == "prompt"
    assert _refused(model="").param == "model"
    assert _refused(max_tokens=0).param == "max_tokens"
    assert _refused(temperature="hot").param == "temperature"
    assert _refused(stop=[1]).param == "stop"
    assert _refused(stream="yes").param == "stream"
    assert _refused(messages=[{"role": "user", "content": "x"}]).param == "messages"
    assert _refused(tools=[]).param == "tools"
    with pytest.raises(InvalidJSON):
        parse_completions(b"[1]")


CHAT: dict[str, Any] = {
    "id": "chatcmpl-1",
    "object": "chat.completion",
    "created": 1,
    "model": "upstream",
    "system_fingerprint": "fp_1",
    "choices": [
        {
            "index": 0,
            "message": {"role": "assistant", "content": "Hello"},
            "finish_reason": "length",
        }
    ],
    "usage": {"prompt_tokens": 4, "completion_tokens": 1, "total_tokens": 5},
}


def test_a_chat_completion_becomes_a_text_completion_true_to_openais_document() -> None:
    answer = completion_object(
        CHAT, completion_id="cmpl-1", model="fake/echo", created=9, usage=CHAT["usage"]
    )
    assert answer == {
        "id": "cmpl-1",
        "object": "text_completion",
        "created": 9,
        "model": "fake/echo",
        "choices": [{"text": "Hello", "index": 0, "logprobs": None, "finish_reason": "length"}],
        "system_fingerprint": "fp_1",
        "usage": CHAT["usage"],
    }
    errors = list(validator("CreateCompletionResponse").iter_errors(answer))
    assert not errors, [e.message for e in errors]


def test_finish_reasons_are_the_three_completions_has() -> None:
    assert [finish_reason(r) for r in ("stop", "length", "content_filter")] == [
        "stop",
        "length",
        "content_filter",
    ]
    assert finish_reason("tool_calls") == finish_reason(None) == "stop"


def test_stream_chunks_carry_text_and_the_finish_only() -> None:
    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any] | None:
        choice = {"index": 0, "delta": delta, "finish_reason": finish}
        return completion_chunk({"choices": [choice]}, completion_id="cmpl-1", model="m", created=1)

    assert chunk({"role": "assistant", "content": ""}) is None
    assert (
        completion_chunk({"choices": [], "usage": {}}, completion_id="c", model="m", created=1)
        is None
    )
    text = chunk({"content": "Hel"})
    assert text is not None and text["object"] == "text_completion"
    assert text["choices"] == [{"text": "Hel", "index": 0, "logprobs": None, "finish_reason": None}]
    last = chunk({}, "stop")
    assert last is not None and last["choices"][0] == {
        "text": "",
        "index": 0,
        "logprobs": None,
        "finish_reason": "stop",
    }
    errors = list(validator("CreateCompletionResponse").iter_errors(last))
    assert not errors, [e.message for e in errors]
