"""The Provider protocol: one deployment's wire, speaking OpenAI chat-completions to Parity.

Every provider takes an OpenAI-style chat request body and gives back an OpenAI-style
completion (or a stream of chunk objects), whatever the upstream speaks. Upstream failures are
raised as the typed errors of :mod:`parity.errors` at the point where they enter.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from parity.catalog.deployment import Deployment

__all__ = [
    "Completion",
    "Provider",
    "ProviderFactory",
    "Usage",
    "completion_text",
    "usage_from",
]


@dataclass(slots=True, frozen=True)
class Usage:
    """Token counts of one call; ``estimated`` when the upstream gave none and Parity counted."""

    input_tokens: int
    output_tokens: int
    estimated: bool = False


@dataclass(slots=True)
class Completion:
    """A finished, non-streamed answer as an OpenAI ``chat.completion`` object."""

    body: dict[str, Any]
    usage: Usage | None
    upstream_model: str | None = None
    """The model the upstream says answered (its ``model`` field, before Parity's rename)."""

    @property
    def text(self) -> str:
        """The first choice's text content ('' when it has none, e.g. only tool calls)."""
        return completion_text(self.body)


class Provider(Protocol):
    """One deployment's upstream. Built once at start; its connections are pooled."""

    deployment: Deployment

    async def chat(self, body: dict[str, Any]) -> Completion:
        """Send a non-streaming chat request; ``body`` is in OpenAI's format."""
        ...

    def stream(self, body: dict[str, Any]) -> AsyncGenerator[dict[str, Any], None]:
        """Send a streaming chat request; yields OpenAI ``chat.completion.chunk`` objects.

        A chunk carrying ``usage`` comes last when the upstream reports usage. Errors before
        the first chunk and in mid-stream are raised as typed upstream errors.
        """
        ...

    async def close(self) -> None:
        """Close pooled connections."""
        ...


class ProviderWrapper:
    """A provider around ``inner`` (tracing, counting): whatever it does not override is inner's."""

    def __init__(self, inner: Provider):
        self.inner = inner
        self.deployment: Deployment = inner.deployment

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


ProviderFactory = Callable[[Deployment, Mapping[str, str]], Provider]
"""Builds a provider from its deployment and the environment (for API keys)."""


def completion_text(body: dict[str, Any]) -> str:
    """The first choice's message content of a chat.completion body."""
    choices = body.get("choices") or []
    if not choices:
        return ""
    message = choices[0].get("message") or {}
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return ""


def usage_from(data: Any) -> Usage | None:
    """Usage from an OpenAI ``usage`` object, or None when absent or not an object."""
    if not isinstance(data, dict):
        return None
    prompt = data.get("prompt_tokens")
    completion = data.get("completion_tokens")
    if not isinstance(prompt, int) or not isinstance(completion, int):
        return None
    return Usage(prompt, completion)
