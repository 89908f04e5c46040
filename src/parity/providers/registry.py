"""The built-in providers by kind, registered the way a plugin would register one.

Apart from :mod:`parity.providers.base` so that the protocol does not import its own
implementations (which import the protocol): the registry sits above both. ``registry`` builds
a deployment's chat provider, ``embedders`` its embeddings provider.
"""

from __future__ import annotations

from collections.abc import Mapping

from parity.catalog.deployment import Deployment, ProviderKind
from parity.providers.anthropic import AnthropicProvider
from parity.providers.base import Provider, ProviderFactory
from parity.providers.embeddings import EmbeddingsFactory, EmbeddingsProvider
from parity.providers.openai_compat import OpenAIProvider
from parity.providers.openai_embeddings import OpenAIEmbeddings

__all__ = ["embedders", "registry"]


def _openai(deployment: Deployment, env: Mapping[str, str]) -> Provider:
    return OpenAIProvider(deployment, env)


def _anthropic(deployment: Deployment, env: Mapping[str, str]) -> Provider:
    return AnthropicProvider(deployment, env)


def registry() -> dict[ProviderKind, ProviderFactory]:
    """Chat provider factories by the deployment's ``provider``."""
    return {
        ProviderKind.OPENAI: _openai,
        ProviderKind.LOCAL: _openai,  # the embedded llama.cpp server speaks OpenAI's format
        ProviderKind.ANTHROPIC: _anthropic,
    }


def _openai_embeddings(deployment: Deployment, env: Mapping[str, str]) -> EmbeddingsProvider:
    return OpenAIEmbeddings(deployment, env)


def _minilm(deployment: Deployment, env: Mapping[str, str]) -> EmbeddingsProvider:
    from parity.providers.minilm import MiniLMEmbeddings  # numpy and torch only when listed

    return MiniLMEmbeddings(deployment, env)


def embedders() -> dict[ProviderKind, EmbeddingsFactory]:
    """Embeddings provider factories by the deployment's ``provider``."""
    return {
        ProviderKind.OPENAI: _openai_embeddings,
        ProviderKind.LOCAL: _openai_embeddings,  # llama.cpp's server in embedding mode
        ProviderKind.MINILM: _minilm,
    }
