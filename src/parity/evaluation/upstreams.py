"""The providers a gap test calls, built exactly as the gateway builds them.

A ``provider: local`` deployment gets the embedded llama.cpp server started first, and is then
reached through the ordinary OpenAI provider, as in the gateway.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping
from types import TracebackType
from typing import Any

from parity.catalog.deployment import Deployment, ProviderKind
from parity.config import Settings
from parity.errors import ConfigError, UnknownModel
from parity.evaluation.limits import RateLimiter, RetryPolicy, call_with_retries
from parity.providers.base import Provider, registry

__all__ = ["Upstreams"]


class Upstreams:
    """Open providers for some of the config's models; use as ``async with``."""

    def __init__(
        self,
        settings: Settings,
        env: Mapping[str, str],
        model_ids: Iterable[str],
        *,
        retry: RetryPolicy | None = None,
    ):
        self.settings = settings
        self.env = dict(env)
        self.deployments: dict[str, Deployment] = {}
        for model_id in dict.fromkeys(model_ids):
            deployment = settings.deployment(model_id)
            if deployment is None:
                raise UnknownModel(model_id, [m.id for m in settings.models])
            self.deployments[model_id] = deployment
        self.providers: dict[str, Provider] = {}
        self.retry = retry or RetryPolicy()
        self._limiters: dict[str, RateLimiter] = {}
        self._rng = random.Random(0)
        self._local: Any = None

    async def __aenter__(self) -> Upstreams:
        factories = registry()
        try:
            for model_id, listed in list(self.deployments.items()):
                deployment = listed
                if listed.provider is ProviderKind.LOCAL:
                    deployment = await self._start_local(listed)
                    self.deployments[model_id] = deployment
                factory = factories.get(deployment.provider)
                if factory is None:
                    raise ConfigError(f"no provider for '{deployment.provider}' ({model_id})")
                self.providers[model_id] = factory(deployment, self.env)
        except BaseException:
            await self.close()
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    async def _start_local(self, deployment: Deployment) -> Deployment:
        from parity.providers.local import LocalModelServer

        if self._local is None:
            self._local = LocalModelServer(self.settings.local)
            await self._local.start()
        return deployment.model_copy(update={"base_url": self._local.base_url})

    async def close(self) -> None:
        """Close every provider and stop the local model server if this started it."""
        for provider in self.providers.values():
            await provider.close()
        self.providers.clear()
        if self._local is not None:
            await self._local.stop()
            self._local = None

    def provider(self, model_id: str) -> Provider:
        """The open provider of ``model_id``."""
        return self.providers[model_id]

    def residency(self, model: str) -> str:
        """on_prem or vendor."""
        return str(self.deployments[model].residency.value)

    async def call(self, model: str, body: dict[str, Any]) -> str:
        """One chat call with retries, for LLM judges; raises the last error if all fail."""
        provider = self.providers[model]
        limiter = self._limiters.setdefault(model, RateLimiter(None))
        attempt = await call_with_retries(
            lambda: provider.chat(body),
            policy=self.retry,
            limiter=limiter,
            timeout_s=self.deployments[model].timeout_s,
            rng=self._rng,
            label=model,
        )
        if attempt.error is not None:
            raise attempt.error
        assert attempt.value is not None
        return attempt.value.text
