"""The providers a gap test calls, built exactly as the gateway builds them.

A ``provider: local`` deployment gets the embedded llama.cpp server started first (one per
run, shared by every local model and LLM judge of the run), and is then reached through the
ordinary OpenAI provider, as in the gateway. With ``via`` (``gaptest run --via URL``) every
model is asked through a running gateway instead, and nothing is started here.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable, Iterable, Mapping
from types import TracebackType
from typing import Any

from parity.catalog.deployment import Deployment, ProviderKind
from parity.config import Settings
from parity.errors import ConfigError, UnknownModel
from parity.evaluation.limits import RateLimiter, RetryPolicy, call_with_retries
from parity.providers.base import Provider
from parity.providers.registry import registry

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
        via: str | None = None,
        via_key_env: str | None = None,
    ):
        self.settings = settings
        self.env = dict(env)
        self.deployments: dict[str, Deployment] = {}
        self.via = via
        self.via_key_env = via_key_env
        self._wanted = list(dict.fromkeys(model_ids))
        for model_id in self._wanted if via is None else []:
            deployment = settings.deployment(model_id)
            if deployment is None:
                raise UnknownModel(model_id, [m.id for m in settings.models])
            self.deployments[model_id] = deployment
        self.providers: dict[str, Provider] = {}
        self.retry = retry or RetryPolicy()
        self._limiters: dict[str, RateLimiter] = {}
        self._rng = random.Random(0)
        self._local: dict[tuple[str | None, str | None, bool], Any] = {}
        self.local_models: dict[str, Deployment] = {}
        """Models served by the embedded llama.cpp servers this started."""

    async def __aenter__(self) -> Upstreams:
        factories = registry()
        if self.via is not None:
            from parity.evaluation.via import DEFAULT_KEY_ENV, gateway_deployments

            self.deployments = await gateway_deployments(
                self.via, self.env, self._wanted, key_env=self.via_key_env or DEFAULT_KEY_ENV
            )
        try:
            for model_id, listed in list(self.deployments.items()):
                deployment = listed
                if listed.provider is ProviderKind.LOCAL:
                    deployment = await self._start_local(listed)
                    self.deployments[model_id] = deployment
                    self.local_models[model_id] = deployment
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

        server = self._local.get(deployment.local_files)
        if server is None:
            local = self.settings.local
            server = LocalModelServer(
                local.model_copy(update={"port": 0}) if self._local else local,
                alias=deployment.wire_model,
                model_path=deployment.gguf,
                lora_path=deployment.lora,
            )
            self._local[deployment.local_files] = server
            await server.start()
        return deployment.model_copy(update={"base_url": server.base_url})

    async def close(self) -> None:
        """Close every provider and stop the local model servers this started."""
        for provider in self.providers.values():
            await provider.close()
        self.providers.clear()
        for server in self._local.values():
            await server.stop()
        self._local.clear()

    def recovery(self, model_id: str) -> Callable[[], Awaitable[bool]] | None:
        """For a model on the embedded server: wait out its restart (see call_with_retries)."""
        deployment = self.local_models.get(model_id)
        local = self._local.get(deployment.local_files) if deployment is not None else None
        if local is None:
            return None
        timeout = self.settings.local.startup_timeout_s + 4 * self.settings.local.health_interval_s

        async def recover() -> bool:
            return bool(await local.wait_until_up(timeout))

        return recover

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
            recover=self.recovery(model),
        )
        if attempt.error is not None:
            raise attempt.error
        assert attempt.value is not None
        return attempt.value.text
