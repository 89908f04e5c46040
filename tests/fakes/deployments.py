"""Deployments that point at the fake vendor, and a helper to drain a provider's stream."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from parity.catalog.deployment import Deployment, ProviderKind
from parity.errors import (
    UpstreamAuthError,
    UpstreamBadRequest,
    UpstreamError,
    UpstreamRateLimited,
    UpstreamServerError,
)
from tests.fakes.fixtures import VendorFake

__all__ = [
    "ERROR_MODELS",
    "FAKE_KEY",
    "FAKE_KEY_ENV",
    "collect",
    "fake_deployment",
    "fake_env",
]

FAKE_KEY_ENV = "PARITY_TEST_VENDOR_KEY"
FAKE_KEY = "sk-test-fake-key-1234"

ERROR_MODELS: list[tuple[str, type[UpstreamError], int]] = [
    ("bad-request", UpstreamBadRequest, 400),
    ("auth-401", UpstreamAuthError, 401),
    ("forbidden-403", UpstreamAuthError, 403),
    ("not-found-404", UpstreamBadRequest, 404),
    ("too-large-413", UpstreamBadRequest, 413),
    ("rate-limit", UpstreamRateLimited, 429),
    ("error-500", UpstreamServerError, 500),
    ("error-503", UpstreamServerError, 503),
    ("overloaded-529", UpstreamServerError, 529),
]
"""Each error model of the fake, the Parity error it must become, and the upstream status."""


def fake_env() -> dict[str, str]:
    """The environment that holds the fake's API key."""
    return {FAKE_KEY_ENV: FAKE_KEY}


def fake_deployment(
    fake: VendorFake, provider: ProviderKind, model: str, **fields: Any
) -> Deployment:
    """A deployment on the fake whose upstream model name picks the fake's behaviour."""
    base = fake.anthropic_url if provider is ProviderKind.ANTHROPIC else fake.openai_url
    values: dict[str, Any] = {
        "id": f"{provider.value}/{model}",
        "provider": provider,
        "base_url": base,
        "api_key_env": FAKE_KEY_ENV,
        "upstream_model": model,
    }
    return Deployment(**(values | fields))


async def collect(stream: AsyncIterator[dict[str, Any]], into: list[dict[str, Any]]) -> None:
    """Append every chunk to ``into`` (so a test still sees them when the stream raises)."""
    async for chunk in stream:
        into.append(chunk)
