"""Any OpenAI-compatible ``/v1/embeddings``: OpenAI, vLLM, Ollama, TEI, llama.cpp's server.

The client's body goes on as it came (unknown fields too), with the deployment's model name.
llama.cpp's server (llama-cpp-python 0.3.36) takes ``input`` as text only and knows neither
``encoding_format`` nor ``dimensions``: it is asked for floats, and a request for token ids or
fewer dimensions is refused here with a 400 naming the field, before anything is sent. For a
model without pooling (SmolLM2 and most chat models) it answers a vector per token, which is
mean-pooled here. An answer that is not one vector per input is a typed, retryable protocol
error.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from parity.catalog.deployment import Deployment, Engine
from parity.errors import InvalidField, UpstreamProtocolError
from parity.providers.embeddings import Embeddings, Vector
from parity.providers.http import PoolHolder, fetch, loads_object, openai_headers
from parity.providers.openai_adapt import engine_of

__all__ = ["OpenAIEmbeddings", "input_count"]


def input_count(value: Any) -> int:
    """How many vectors ``input`` asks for: a string or one token array is one."""
    if isinstance(value, list) and value and not isinstance(value[0], int):
        return len(value)
    return 1


class OpenAIEmbeddings:
    """Speaks OpenAI's embeddings wire format over one pooled session."""

    def __init__(self, deployment: Deployment, env: Mapping[str, str]):
        if not deployment.base_url:
            raise ValueError(f"deployment '{deployment.id}' has no base_url")
        self.deployment = deployment
        self._url = deployment.base_url.rstrip("/") + "/embeddings"
        headers = openai_headers(deployment, env)
        self._llama_cpp = engine_of(deployment) is Engine.LLAMA_CPP
        self._holder = PoolHolder(deployment, headers)

    async def start(self) -> None:
        """Nothing to load: the pool opens on the first call."""

    def _request(self, body: dict[str, Any]) -> dict[str, Any]:
        request = {**body, "model": self.deployment.wire_model}
        if not self._llama_cpp:
            return request
        name = self.deployment.id
        if body.get("dimensions") is not None:
            raise InvalidField(
                f"'{name}' (llama.cpp) cannot shorten its embeddings; leave 'dimensions' out",
                param="dimensions",
            )
        value = body.get("input")
        texts = [value] if isinstance(value, str) else value
        if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
            raise InvalidField(f"'{name}' (llama.cpp) takes text only", param="input")
        request.pop("encoding_format", None)  # it answers floats; the door encodes them
        return request

    async def embed(self, body: dict[str, Any]) -> Embeddings:
        """One call; the vectors in input order."""
        name = self.deployment.id
        payload = orjson.dumps(self._request(body))
        data = loads_object(await fetch(self._holder, name, self._url, payload), name)
        vectors = _vectors(data.get("data"), input_count(body.get("input")), name, self._llama_cpp)
        usage = data.get("usage")
        tokens = usage.get("prompt_tokens") if isinstance(usage, dict) else None
        upstream = data.get("model")
        return Embeddings(
            vectors,
            tokens if isinstance(tokens, int) and not isinstance(tokens, bool) else None,
            upstream if isinstance(upstream, str) else None,
        )

    async def close(self) -> None:
        """Close the connection pool."""
        await self._holder.close()


def _pooled(tokens: list[Any], name: str) -> list[float]:
    """llama.cpp's vector per token (a model without pooling), mean-pooled to unit length.

    As llama.cpp's own ``--pooling mean``; llama-cpp-python's server has no such setting.
    """
    import numpy as np

    try:
        matrix = np.asarray(tokens, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise UpstreamProtocolError(
            f"upstream '{name}' sent a bad embedding", deployment=name
        ) from exc
    if matrix.ndim != 2 or not matrix.shape[0]:
        raise UpstreamProtocolError(f"upstream '{name}' sent a bad embedding", deployment=name)
    mean = matrix.mean(axis=0)
    norm = float(np.linalg.norm(mean))
    pooled: list[float] = (mean / norm if norm else mean).tolist()
    return pooled


def _vector(item: Any, name: str, pool: bool) -> Vector:
    vector = item.get("embedding") if isinstance(item, dict) else None
    if isinstance(vector, str) or (
        isinstance(vector, list) and (not vector or isinstance(vector[0], int | float))
    ):
        return vector
    if pool and isinstance(vector, list) and isinstance(vector[0], list):
        return _pooled(vector, name)
    raise UpstreamProtocolError(f"upstream '{name}' sent a bad embedding", deployment=name)


def _vectors(data: Any, expected: int, name: str, pool: bool) -> list[Vector]:
    """One vector per input, ordered by ``index``; anything else is a protocol error.

    ``pool``: llama.cpp's vectors per token become one (see ``_pooled``).
    """
    if not isinstance(data, list) or len(data) != expected:
        got = len(data) if isinstance(data, list) else "no list"
        raise UpstreamProtocolError(
            f"upstream '{name}' answered {got} embeddings for {expected} inputs", deployment=name
        )
    by_index: dict[int, Vector] = {}
    for position, item in enumerate(data):
        vector = _vector(item, name, pool)
        index = item.get("index", position)
        if not isinstance(index, int):
            raise UpstreamProtocolError(f"upstream '{name}' sent a bad index", deployment=name)
        by_index[index] = vector
    if sorted(by_index) != list(range(expected)):
        raise UpstreamProtocolError(
            f"upstream '{name}' sent embeddings with wrong indexes", deployment=name
        )
    return [by_index[i] for i in range(expected)]
