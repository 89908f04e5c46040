"""The built-in providers by kind, registered the way a plugin would register one.

Apart from :mod:`parity.providers.base` so that the protocol does not import its own
implementations (which import the protocol): the registry sits above both.
"""

from __future__ import annotations

from collections.abc import Mapping

from parity.catalog.deployment import Deployment, ProviderKind
from parity.providers.anthropic import AnthropicProvider
from parity.providers.base import Provider, ProviderFactory
from parity.providers.openai_compat import OpenAIProvider

__all__ = ["registry"]


def _openai(deployment: Deployment, env: Mapping[str, str]) -> Provider:
    return OpenAIProvider(deployment, env)


def _anthropic(deployment: Deployment, env: Mapping[str, str]) -> Provider:
    return AnthropicProvider(deployment, env)


def registry() -> dict[ProviderKind, ProviderFactory]:
    """Provider factories by the deployment's ``provider``."""
    return {
        ProviderKind.OPENAI: _openai,
        ProviderKind.LOCAL: _openai,  # the embedded llama.cpp server speaks OpenAI's format
        ProviderKind.ANTHROPIC: _anthropic,
    }
