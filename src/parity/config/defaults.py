"""The deployments Parity serves when no config file is given."""

from __future__ import annotations

from collections.abc import Mapping

from parity.catalog.deployment import Deployment, Price, ProviderKind, Residency
from parity.config.settings import LOCAL_MODEL_ID

__all__ = ["frontier_deployments", "local_deployment"]


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


def frontier_deployments(env: Mapping[str, str]) -> list[Deployment]:
    """Frontier models added when their API key is in the environment.

    Prices are USD per 1M tokens: GPT-4o $2.50/$10.00 and Claude 3.5 Sonnet $3.00/$15.00 as
    quoted in the seeds (shared/seeds/001); GPT-4o mini $0.15/$0.60 from OpenAI's pricing page
    (July 2024) and Claude Opus 4 $15/$75 from Anthropic's pricing page (May 2025).
    """
    found: list[Deployment] = []
    if env.get("OPENAI_API_KEY"):
        base = env.get("OPENAI_BASE_URL", "https://api.openai.com/v1")
        for model_id, price, card in (
            ("gpt-4o", Price(input=2.50, output=10.00), "gpt-4o"),
            ("gpt-4o-mini", Price(input=0.15, output=0.60), "gpt-4o-mini"),
        ):
            found.append(
                Deployment(
                    id=model_id,
                    provider=ProviderKind.OPENAI,
                    base_url=base,
                    api_key_env="OPENAI_API_KEY",
                    residency=Residency.VENDOR,
                    context_window=128_000,
                    price=price,
                    card=card,
                )
            )
    if env.get("ANTHROPIC_API_KEY"):
        base = env.get("ANTHROPIC_BASE_URL", "https://api.anthropic.com")
        for model_id, upstream, price, card in (
            (
                "claude-3-5-sonnet",
                "claude-3-5-sonnet-20241022",
                Price(input=3.00, output=15.00),
                "claude-3-5-sonnet",
            ),
            (
                "claude-opus-4",
                "claude-opus-4-20250514",
                Price(input=15.0, output=75.0),
                "claude-opus-4",
            ),
        ):
            found.append(
                Deployment(
                    id=model_id,
                    provider=ProviderKind.ANTHROPIC,
                    base_url=base,
                    api_key_env="ANTHROPIC_API_KEY",
                    upstream_model=upstream,
                    residency=Residency.VENDOR,
                    context_window=200_000,
                    price=price,
                    card=card,
                )
            )
    return found
