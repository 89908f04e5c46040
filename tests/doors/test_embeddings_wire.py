"""The embeddings wire: what parse_embeddings takes and refuses, and the answer's encodings."""

from __future__ import annotations

import base64
import struct
from typing import Any

import numpy as np
import orjson
import pytest

from parity.errors import InvalidField, InvalidJSON, UpstreamProtocolError
from parity.gateway.embeddings.wire import embeddings_bytes, parse_embeddings
from tests.fixtures.openai_schemas import validator


def _parse(body: dict[str, Any]) -> Any:
    return parse_embeddings(orjson.dumps(body))


@pytest.mark.parametrize(
    ("value", "inputs"),
    [
        ("hello", ["hello"]),
        (["a", "b c"], ["a", "b c"]),
        ([1, 2, 3], [[1, 2, 3]]),
        ([[1, 2], [3]], [[1, 2], [3]]),
    ],
)
def test_every_form_of_input_is_taken(value: Any, inputs: list[Any]) -> None:
    call = _parse({"model": "m", "input": value, "user": "u-1", "extra": {"kept": True}})
    assert call.inputs == inputs
    assert call.encoding == "float"
    assert call.body["extra"] == {"kept": True}  # passes to the upstream unchanged


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"model": "m"}, "input"),
        ({"model": "m", "input": None}, "input"),
        ({"model": "m", "input": ""}, "input"),
        ({"model": "m", "input": []}, "input"),
        ({"model": "m", "input": 5}, "input"),
        ({"model": "m", "input": {"text": "a"}}, "input"),
        ({"model": "m", "input": ["a", ""]}, "input[1]"),
        ({"model": "m", "input": ["a", 1]}, "input[1]"),
        ({"model": "m", "input": [[1], "a"]}, "input[1]"),
        ({"model": "m", "input": [[1], []]}, "input[1]"),
        ({"model": "m", "input": [1, -2]}, "input"),
        ({"model": "m", "input": [True, False]}, "input[0]"),
        ({"model": "m", "input": "a", "encoding_format": "hex"}, "encoding_format"),
        ({"model": "m", "input": "a", "dimensions": 0}, "dimensions"),
        ({"model": "m", "input": "a", "dimensions": 8193}, "dimensions"),
        ({"model": "m", "input": "a", "dimensions": "8"}, "dimensions"),
        ({"model": "m", "input": "a", "user": 7}, "user"),
        ({"input": "a"}, "model"),
        ({"model": "", "input": "a"}, "model"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(body: dict[str, Any], param: str) -> None:
    with pytest.raises(InvalidField) as refused:
        _parse(body)
    assert refused.value.param == param
    assert refused.value.status == 400


def test_a_body_that_is_not_an_object_is_invalid_json() -> None:
    with pytest.raises(InvalidJSON):
        parse_embeddings(b"[1, 2]")


def test_the_router_reads_the_text_inputs_as_user_turns() -> None:
    call = _parse({"model": "m", "input": ["one", "two"]})
    assert call.routing_body() == {
        "model": "m",
        "messages": [{"role": "user", "content": "one"}, {"role": "user", "content": "two"}],
    }
    assert call.with_texts(["<A>", "<B>"])["input"] == ["<A>", "<B>"]
    assert _parse({"model": "m", "input": "x"}).with_texts(["<A>"])["input"] == "<A>"
    assert _parse({"model": "m", "input": [5, 6]}).routing_body()["messages"] == []


def _floats(encoded: str) -> list[float]:
    raw = base64.b64decode(encoded)
    return list(struct.unpack(f"<{len(raw) // 4}f", raw))


def test_each_vector_form_is_answered_in_the_encoding_asked_for() -> None:
    values = [0.5, -0.25, 1.0]
    as_base64 = base64.b64encode(struct.pack("<3f", *values)).decode()
    forms: list[Any] = [values, as_base64, np.asarray(values, dtype=np.float32)]
    floats = orjson.loads(embeddings_bytes(forms, "float", "dep", 7))
    as_text = orjson.loads(embeddings_bytes(forms, "base64", "dep", 7))
    # OpenAI's document describes the float answer; base64 is a string its SDK decodes
    assert list(validator("CreateEmbeddingResponse").iter_errors(floats)) == []
    for answer in (floats, as_text):
        assert answer["usage"] == {"prompt_tokens": 7, "total_tokens": 7}
        assert answer["model"] == "dep"
        assert [d["index"] for d in answer["data"]] == [0, 1, 2]
    assert [d["embedding"] for d in floats["data"]] == [values, values, values]
    assert [_floats(d["embedding"]) for d in as_text["data"]] == [values, values, values]


def test_a_broken_base64_vector_from_upstream_is_a_protocol_error() -> None:
    with pytest.raises(UpstreamProtocolError):
        embeddings_bytes(["not base64!"], "float", "dep", 1)
    with pytest.raises(UpstreamProtocolError):
        embeddings_bytes([["a", "b"]], "base64", "dep", 1)  # type: ignore[list-item]
