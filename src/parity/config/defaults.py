"""The deployments Parity serves when no config file is given."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from parity.catalog.deployment import Deployment, Price, ProviderKind, Residency
from parity.catalog.registry import default_catalog
from parity.config.settings import LOCAL_MODEL_ID

__all__ = ["ANTHROPIC_DEFAULTS", "OPENAI_DEFAULTS", "frontier_deployments", "local_deployment"]

OPENAI_DEFAULTS = ("gpt-5.4", "gpt-5.4-mini")
"""Catalog cards served when OPENAI_API_KEY is set (a test keeps them unretired)."""
ANTHROPIC_DEFAULTS = ("claude-sonnet-4-6", "claude-opus-4-7")
"""Catalog cards served when ANTHROPIC_API_KEY is set (a test keeps them unretired)."""


def local_deployment() -> Deployment:
    """The embedded SmolLM2 deployment used when no config is given."""
    return Deployment(
        id=LOCAL_MODEL_ID,
        provider=ProviderKind.LOCAL,
        residency=Residency.ON_PREM,
        context_window=2048,
        price=Price(input=0.0, output=0.0),
        card="smollm2-135m-instruct",
    )


def _from_card(card_id: str, provider: ProviderKind, base_url: str, key_env: str) -> Deployment:
    """A vendor deployment whose price and context window are the catalog card's, as of today."""
    card = default_catalog().card(card_id)
    price = card.price_on(datetime.now(UTC).date())
    return Deployment(
        id=card.id,
        provider=provider,
        base_url=base_url,
        api_key_env=key_env,
        residency=Residency.VENDOR,
        context_window=card.context_tokens or 128_000,
        price=Price(input=price.input, output=price.output) if price else Price(),
        card=card.id,
    )


def frontier_deployments(env: Mapping[str, str]) -> list[Deployment]:
    """Frontier models added when their API key is in the environment.

    The models are current catalog cards (``OPENAI_DEFAULTS``, ``ANTHROPIC_DEFAULTS``); price and
    context window come from those cards, so each figure keeps the card's public source.
    """
    found: list[Deployment] = []
    if env.get("OPENAI_API_KEY"):
        base = env.get("OPENAI_BASE_URL", "https://api.openai.com/v1")
        found += [
            _from_card(c, ProviderKind.OPENAI, base, "OPENAI_API_KEY") for c in OPENAI_DEFAULTS
        ]
    if env.get("ANTHROPIC_API_KEY"):
        base = env.get("ANTHROPIC_BASE_URL", "https://api.anthropic.com")
        found += [
            _from_card(c, ProviderKind.ANTHROPIC, base, "ANTHROPIC_API_KEY")
            for c in ANTHROPIC_DEFAULTS
        ]
    return found
