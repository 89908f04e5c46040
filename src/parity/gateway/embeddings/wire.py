"""OpenAI's embeddings wire: the request checked, the answer framed. Pure, no I/O.

``input`` is one string, an array of strings, an array of token ids (one input) or an array of
token-id arrays, as at OpenAI (CreateEmbeddingRequest in its published OpenAPI document); an
empty string or array anywhere is a 400 naming it, as OpenAI refuses ``["a", ""]``.
``encoding_format`` is ``float`` (the default) or ``base64``, the base64 of the little-endian
float32s, which the official SDK asks for and decodes itself; ``dimensions`` a positive
integer; ``user`` a string. Other fields pass to an OpenAI-compatible upstream unchanged.

The router reads the string inputs as a chat body of one user message each
(``EmbeddingsCall.routing_body``): the same policy, privacy guards and ledger prompt policy
as a chat request, without a second way of reading a request.
"""

from __future__ import annotations

import base64
import sys
from array import array
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from parity.errors import InvalidField, UpstreamProtocolError
from parity.gateway.protocol import check_counts, load_object, model_of
from parity.providers.embeddings import Vector

__all__ = ["ENCODINGS", "MAX_DIMENSIONS", "EmbeddingsCall", "embeddings_bytes", "parse_embeddings"]

ENCODINGS = ("float", "base64")
MAX_DIMENSIONS = 8192
"""The widest vector one may ask for: wider than any embedding model served here (MiniLM 384,
text-embedding-3-large 3072); a larger ``dimensions`` is a mistake, refused before an upstream
has to."""
_TOKEN_MAX = 2**31 - 1
_BIG_ENDIAN = sys.byteorder == "big"


@dataclass(slots=True)
class EmbeddingsCall:
    """A checked embeddings request; ``body`` is the client's, every field kept."""

    body: dict[str, Any]
    model: str
    inputs: list[str] | list[list[int]]
    encoding: str

    @property
    def texts(self) -> list[str]:
        """The inputs that are text (none when they are token ids)."""
        return [i for i in self.inputs if isinstance(i, str)]

    @property
    def estimated_tokens(self) -> int:
        """The inputs' tokens, about four characters one (a token id is one)."""
        return sum((len(i) + 3) // 4 if isinstance(i, str) else len(i) for i in self.inputs)

    def routing_body(self) -> dict[str, Any]:
        """The text inputs as a chat body the router and the ledger read: one user turn each."""
        messages = [{"role": "user", "content": text} for text in self.texts]
        return {"model": self.model, "messages": messages}

    def with_texts(self, texts: Sequence[str]) -> dict[str, Any]:
        """The body with its text inputs replaced (masked), in order and in the same shape."""
        if isinstance(self.body["input"], str):
            return {**self.body, "input": texts[0]}
        return {**self.body, "input": list(texts)}


def _tokens(value: list[Any], param: str) -> list[int] | None:
    """``value`` as token ids, None when it is not a list of integers at all."""
    if not all(type(v) is int for v in value):
        return None
    if not all(0 <= v <= _TOKEN_MAX for v in value):
        raise InvalidField(f"{param} holds a token id out of range", param=param)
    return value


def _inputs(value: Any) -> list[str] | list[list[int]]:
    if isinstance(value, str):
        if not value:
            raise InvalidField("'input' must not be empty", param="input")
        return [value]
    if value is None:
        raise InvalidField("'input' is required: a string or an array of strings", param="input")
    if not isinstance(value, list) or not value:
        raise InvalidField(
            "'input' must be a string, an array of strings, an array of token ids or an array "
            "of token-id arrays, and not empty",
            param="input",
        )
    ids = _tokens(value, "input")
    if ids is not None:
        return [ids]
    if isinstance(value[0], str):
        return _strings(value)
    arrays: list[list[int]] = []
    for index, item in enumerate(value):
        param = f"input[{index}]"
        ids = _tokens(item, param) if isinstance(item, list) and item else None
        if ids is None:
            raise InvalidField(
                f"{param} must be a non-empty array of token ids{_like(index)}", param=param
            )
        arrays.append(ids)
    return arrays


def _like(index: int) -> str:
    return ", as input[0] is" if index else ""


def _strings(value: list[Any]) -> list[str]:
    for index, text in enumerate(value):
        param = f"input[{index}]"
        if not isinstance(text, str):
            raise InvalidField(f"{param} must be a string{_like(index)}", param=param)
        if not text:
            raise InvalidField(f"{param} must not be empty", param=param)
    return value


def parse_embeddings(raw: bytes) -> EmbeddingsCall:
    """Validate a /v1/embeddings body; InvalidField names the field that is wrong."""
    body = load_object(raw)
    model = model_of(body)
    inputs = _inputs(body.get("input"))
    encoding = body.get("encoding_format")
    if encoding is None:
        encoding = "float"
    elif encoding not in ENCODINGS:
        raise InvalidField(
            f"'encoding_format' must be one of {', '.join(ENCODINGS)}, got {encoding!r}",
            param="encoding_format",
        )
    check_counts(body, ("dimensions",))
    dimensions = body.get("dimensions")
    if dimensions is not None and dimensions > MAX_DIMENSIONS:
        raise InvalidField(
            f"'dimensions' is at most {MAX_DIMENSIONS}, got {dimensions}", param="dimensions"
        )
    user = body.get("user")
    if user is not None and not isinstance(user, str):
        raise InvalidField("'user' must be a string", param="user")
    return EmbeddingsCall(body, model, inputs, encoding)


def _floats(vector: Vector, deployment: str) -> Any:
    if isinstance(vector, str):
        values = array("f")
        try:
            values.frombytes(base64.b64decode(vector, validate=True))
        except ValueError as exc:  # binascii.Error, or a length that is not 4 bytes a float
            raise UpstreamProtocolError(
                f"upstream '{deployment}' sent an embedding that is not base64 float32s",
                deployment=deployment,
            ) from exc
        if _BIG_ENDIAN:
            values.byteswap()
        return values.tolist()
    return vector  # a list as the upstream sent it, or an array orjson writes itself


def _base64(vector: Vector, deployment: str) -> str:
    if isinstance(vector, str):
        return vector
    if isinstance(vector, list):
        try:
            packed = array("f", vector)
        except TypeError as exc:
            raise UpstreamProtocolError(
                f"upstream '{deployment}' sent an embedding that is not numbers",
                deployment=deployment,
            ) from exc
        if _BIG_ENDIAN:
            packed.byteswap()
        data = packed.tobytes()
    else:
        data = vector.astype("<f4", copy=False).tobytes()
    return base64.b64encode(data).decode("ascii")


def embeddings_bytes(
    vectors: Sequence[Vector], encoding: str, model: str, prompt_tokens: int
) -> bytes:
    """OpenAI's CreateEmbeddingResponse, each vector in the ``encoding`` the client asked for."""
    encode = _base64 if encoding == "base64" else _floats
    data = [
        {"object": "embedding", "index": index, "embedding": encode(vector, model)}
        for index, vector in enumerate(vectors)
    ]
    answer = {
        "object": "list",
        "data": data,
        "model": model,
        "usage": {"prompt_tokens": prompt_tokens, "total_tokens": prompt_tokens},
    }
    return orjson.dumps(answer, option=orjson.OPT_SERIALIZE_NUMPY)
