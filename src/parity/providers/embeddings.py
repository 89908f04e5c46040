"""The embeddings protocol: one deployment's ``/v1/embeddings``, whatever computes the vectors.

An embeddings provider takes the client's OpenAI embeddings body (``input`` already checked by
the door: one string, strings, token ids or arrays of token ids) and gives back one vector per
input, in input order, with the prompt tokens it counted. A vector comes as floats, or as the
base64 of little-endian float32s when the upstream sent that (OpenAI's ``encoding_format:
base64``); the door hands the client the format it asked for. Upstream failures are typed
errors of :mod:`parity.errors`, raised where they enter.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, Union

from parity.catalog.deployment import Deployment

if TYPE_CHECKING:  # numpy is imported by the providers that make arrays, not by the gateway
    import numpy as np
    import numpy.typing as npt

__all__ = [
    "Embeddings",
    "EmbeddingsFactory",
    "EmbeddingsProvider",
    "Vector",
]

Vector = Union[list[float], str, "npt.NDArray[np.float32]"]
"""One embedding: floats, the base64 of little-endian float32s, or a float32 array."""


@dataclass(slots=True)
class Embeddings:
    """One answer: a vector per input, in input order, and the tokens the inputs took."""

    vectors: Sequence[Vector]
    prompt_tokens: int | None
    upstream_model: str | None = None


class EmbeddingsProvider(Protocol):
    """One deployment's embeddings. Built once at start; ``start`` loads what it needs."""

    deployment: Deployment

    async def start(self) -> None:
        """Load the model or open nothing (HTTP pools open on first use)."""
        ...

    async def embed(self, body: dict[str, Any]) -> Embeddings:
        """Embed ``body['input']``; ``body`` is in OpenAI's embeddings format."""
        ...

    async def close(self) -> None:
        """Release the model or the connection pool."""
        ...


EmbeddingsFactory = Callable[[Deployment, Mapping[str, str]], EmbeddingsProvider]
"""Builds an embeddings provider from its deployment and the environment (for API keys)."""
