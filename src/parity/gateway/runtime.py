"""Everything the gateway holds while it runs, built once at start-up and torn down at exit."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine, Mapping
from typing import TYPE_CHECKING, Any

from parity.catalog.deployment import Capability, Deployment, ProviderKind
from parity.config import Settings
from parity.errors import ConfigError
from parity.gateway.auth import Authenticator
from parity.gateway.cache.response_cache import ResponseCache
from parity.gateway.limits import Limits
from parity.guards import GuardSet
from parity.providers.base import Provider
from parity.providers.embeddings import EmbeddingsProvider
from parity.providers.local import LocalModelServer
from parity.providers.local_tokens import CountedProvider
from parity.providers.registry import embedders, registry
from parity.routing.budget import SpendTracker
from parity.routing.conformance import build_conformance
from parity.routing.executor import Executor
from parity.routing.latency import LatencyBoard
from parity.routing.router import PolicyRouter, Router, uses_privacy
from parity.store.base import Ledger
from parity.store.factory import open_ledger
from parity.store.responses import ResponseStore
from parity.store.sqlite import sqlite_path
from parity.store.writer import LedgerWriter
from parity.tracing.provider import TracedProvider
from parity.tracing.spans import Tracing

if TYPE_CHECKING:
    from parity.privacy.detector import PrivacyDetector

__all__ = ["Runtime"]

log = logging.getLogger("parity.gateway")


def _detector(settings: Settings) -> PrivacyDetector | None:
    """The gateway's one privacy detector, when the policy or the ledger needs one."""
    from parity.privacy import build_detector

    if uses_privacy(settings):
        return build_detector(settings.privacy, "the policy")
    if settings.ledger.prompts == "redacted":
        return build_detector(settings.privacy, "ledger.prompts: redacted")
    return None


class Runtime:
    """The gateway's live parts: ledger writer, local model, providers, router, auth."""

    def __init__(self, settings: Settings, env: Mapping[str, str], ledger: Ledger | None = None):
        self.settings = settings
        self.env = env
        self._ledger = ledger
        self.auth = Authenticator(settings, env)
        self.deployments: dict[str, Deployment] = {m.id: m for m in settings.models}
        self.providers: dict[str, Provider] = {}  # the deployments that serve chat
        self.embedders: dict[str, EmbeddingsProvider] = {}  # those that serve embeddings
        self.tracker = SpendTracker(settings.budgets, ledger)
        self.limits = Limits(settings, self.deployments)
        self.latency = LatencyBoard()
        # One privacy detector for the router, the prompt store and masking (their findings).
        self.detector: PrivacyDetector | None = _detector(settings)
        # Built here, not in start(), so a bad policy is a config error before anything runs.
        self.router: Router = PolicyRouter(
            settings, tracker=self.tracker, latency=self.latency, detector=self.detector
        )
        # Safety guards (docs/guards.md): their clients open connections on first use.
        self.guards = GuardSet(settings, env)
        self.background: set[asyncio.Task[None]] = set()
        self._refresher: asyncio.Task[None] | None = None
        # One llama.cpp server per distinct (gguf, lora) of the local deployments; built here,
        # not in start(), so a missing model file is a config error at once.
        self.local_servers: dict[str, LocalModelServer] = {}
        by_files: dict[tuple[str | None, str | None, bool], LocalModelServer] = {}
        for model in settings.models:
            if model.provider is ProviderKind.LOCAL:
                server = by_files.get(model.local_files)
                if server is None:
                    # Only the first server may take local.port; the others pick free ports.
                    local = settings.local.model_copy(update={"port": 0}) if by_files else None
                    server = LocalModelServer(
                        local or settings.local,
                        alias=model.wire_model,
                        model_path=model.gguf,
                        lora_path=model.lora,
                        embedding=model.can(Capability.EMBEDDINGS),
                    )
                    by_files[model.local_files] = server
                self.local_servers[model.id] = server
        self.local: LocalModelServer | None = next(iter(self.local_servers.values()), None)
        self.writer: LedgerWriter | None = None
        self.responses: ResponseStore | None = None  # stored Responses API state (after start)
        # The response cache (docs/cache.md) when a route or key opts in; it connects lazily.
        self.cache: ResponseCache | None = None
        if settings.cache.enabled:
            url = ledger.url if ledger is not None else settings.ledger.url
            self.cache = ResponseCache.build(settings.cache, url, settings.limits.redis_url)
        # OpenTelemetry spans (docs/observability.md); None: no tracing code runs at all.
        self.tracing: Tracing | None = (
            Tracing(settings.tracing) if settings.tracing.enabled else None
        )
        self._executor: Executor | None = None
        self.ready = False
        self.missing_keys = [
            f"{m.id} ({m.api_key_env})"
            for m in settings.models
            if m.api_key_env and not env.get(m.api_key_env)
        ]

    @property
    def ledger(self) -> Ledger:
        """The open ledger (after start)."""
        if self._ledger is None:
            raise RuntimeError("the runtime has not started")
        return self._ledger

    @property
    def executor(self) -> Executor:
        """The plan executor (after start)."""
        if self._executor is None:
            raise RuntimeError("the runtime has not started")
        return self._executor

    async def start(self) -> None:
        """Open the ledger, start the local model, build one provider per deployment."""
        if self._ledger is None:
            self._ledger = await asyncio.to_thread(open_ledger, self.settings.ledger.url)
        spill = None
        if self.settings.ledger.url.startswith("sqlite:///"):
            spill = sqlite_path(self.settings.ledger.url).parent
        self.writer = LedgerWriter(
            self._ledger,
            batch_size=self.settings.ledger.batch_size,
            flush_interval_s=self.settings.ledger.flush_interval_s,
            spill_dir=spill,
        )
        self.writer.start()
        self.tracker.bind(self._ledger, self.writer)
        self.responses = ResponseStore(self._ledger.url)
        await self.auth.start(self._ledger.url)
        await asyncio.to_thread(self.limits.start, self._ledger.url)
        if self.tracker.active:
            await asyncio.to_thread(self.tracker.refresh)
            self._refresher = asyncio.create_task(self._refresh_budgets())
        for server in dict.fromkeys(self.local_servers.values()):
            await server.start()
        for model_id, server in self.local_servers.items():
            self.deployments[model_id] = self.deployments[model_id].model_copy(
                update={"base_url": server.base_url}
            )
        self._build_providers()
        for embedder in self.embedders.values():
            await embedder.start()
        self._executor = Executor(
            self.deployments,
            self.providers,
            self.settings.retry,
            self.latency,
            build_conformance(self.settings, self.deployments),
        )
        self.ready = True

    def _build_providers(self) -> None:
        """A chat provider for each deployment that chats, an embedder for each that embeds."""
        chat, embedding = registry(), embedders()
        for model_id, deployment in self.deployments.items():
            try:
                if deployment.can(Capability.EMBEDDINGS):
                    self.embedders[model_id] = embedding[deployment.provider](deployment, self.env)
                if not deployment.can(Capability.CHAT):
                    continue
                provider = chat[deployment.provider](deployment, self.env)
            except ValueError as exc:
                raise ConfigError(str(exc)) from exc
            local = self.local_servers.get(model_id)
            if local is not None:  # its streams report no usage: counted with its tokenizer
                provider = CountedProvider(provider, local.tokenizer)
            if self.tracing is not None:
                provider = TracedProvider(provider, self.tracing)
            self.providers[model_id] = provider

    def spawn(self, work: Coroutine[Any, Any, None]) -> None:
        """Run background work (shadow copies, refreshes), keeping a reference until it ends."""
        task = asyncio.create_task(work)
        self.background.add(task)
        task.add_done_callback(self.background.discard)

    async def _refresh_budgets(self) -> None:
        while True:
            await asyncio.sleep(self.settings.budgets.refresh_s)
            try:
                await asyncio.to_thread(self.tracker.refresh)
            except Exception as exc:  # the ledger may be briefly unavailable; keep counting
                log.warning("budget refresh failed: %s", exc)

    async def stop(self) -> None:
        """Finish background work, close providers, flush the ledger, stop the local model."""
        self.ready = False
        if self._refresher is not None:
            self._refresher.cancel()
        await self.auth.stop()
        if self.background:
            _, pending = await asyncio.wait(set(self.background), timeout=10)
            for task in pending:
                task.cancel()
        for provider in self.providers.values():
            await provider.close()
        for embedder in self.embedders.values():
            await embedder.close()
        await self.guards.close()
        await self.limits.stop()
        if self.writer is not None:
            await asyncio.to_thread(self.writer.close)
            log.info("ledger flushed: %d rows written", self.writer.written)
        for server in dict.fromkeys(self.local_servers.values()):
            await server.stop()
        if self.responses is not None:
            self.responses.close()
        if self.cache is not None:
            await self.cache.close()
        if self.tracing is not None:
            await asyncio.to_thread(self.tracing.close)
        if self._ledger is not None:
            self._ledger.close()

    def model_health(self) -> dict[str, str]:
        """'ok' or why not, per deployment (only the local model is checked actively)."""
        health: dict[str, str] = {}
        for model_id, deployment in self.deployments.items():
            if deployment.provider is ProviderKind.LOCAL:
                server = self.local_servers.get(model_id)
                healthy = server is not None and server.healthy
                health[model_id] = "ok" if healthy else "down"
            elif deployment.provider is ProviderKind.MINILM:
                loaded = getattr(self.embedders.get(model_id), "loaded", False)
                health[model_id] = "ok" if loaded else "loading"
            elif deployment.api_key_env and not self.env.get(deployment.api_key_env):
                health[model_id] = f"no key ({deployment.api_key_env} is unset)"
            else:
                health[model_id] = "ok"
        return health
