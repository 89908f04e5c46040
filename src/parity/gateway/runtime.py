"""Everything the gateway holds while it runs, built once at start-up and torn down at exit."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine, Mapping
from typing import Any

from parity.catalog.deployment import Deployment, ProviderKind
from parity.config import Settings
from parity.errors import ConfigError
from parity.gateway.auth import Authenticator
from parity.gateway.limits import Limits
from parity.gateway.observe import RequestObserver
from parity.providers.base import Provider, registry
from parity.providers.local import LocalModelServer
from parity.routing.budget import SpendTracker
from parity.routing.executor import Executor
from parity.routing.latency import LatencyBoard
from parity.routing.router import PolicyRouter, Router
from parity.store.base import Ledger
from parity.store.factory import open_ledger
from parity.store.sqlite import sqlite_path
from parity.store.writer import LedgerWriter

__all__ = ["Runtime"]

log = logging.getLogger("parity.gateway")


class Runtime:
    """The gateway's live parts: ledger writer, local model, providers, router, auth."""

    def __init__(self, settings: Settings, env: Mapping[str, str], ledger: Ledger | None = None):
        self.settings = settings
        self.env = env
        self._ledger = ledger
        self.auth = Authenticator(settings, env)
        self.deployments: dict[str, Deployment] = {m.id: m for m in settings.models}
        self.providers: dict[str, Provider] = {}
        self.tracker = SpendTracker(settings.budgets, ledger)
        self.limits = Limits(settings, self.deployments)
        self.latency = LatencyBoard()
        # Built here, not in start(), so a bad policy is a config error before anything runs.
        self.router: Router = PolicyRouter(settings, tracker=self.tracker, latency=self.latency)
        self.background: set[asyncio.Task[None]] = set()
        self._refresher: asyncio.Task[None] | None = None
        self.local: LocalModelServer | None = None
        local = [m for m in settings.models if m.provider is ProviderKind.LOCAL]
        if local:
            # Built here, not in start(), so a missing model file is a config error at once.
            self.local = LocalModelServer(settings.local, alias=local[0].wire_model)
        self.writer: LedgerWriter | None = None
        self._executor: Executor | None = None
        self.ready = False
        self.observer = RequestObserver.build(self)  # /metrics and the access log; None: off
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
        await self.auth.start(self._ledger.url)
        await asyncio.to_thread(self.limits.start, self._ledger.url)
        if self.tracker.active:
            await asyncio.to_thread(self.tracker.refresh)
            self._refresher = asyncio.create_task(self._refresh_budgets())
        if self.local is not None:
            await self.local.start()
            for model_id, deployment in list(self.deployments.items()):
                if deployment.provider is ProviderKind.LOCAL:
                    self.deployments[model_id] = deployment.model_copy(
                        update={"base_url": self.local.base_url}
                    )
        factories = registry()
        for model_id, deployment in self.deployments.items():
            try:
                self.providers[model_id] = factories[deployment.provider](deployment, self.env)
            except ValueError as exc:
                raise ConfigError(str(exc)) from exc
        self._executor = Executor(
            self.deployments, self.providers, self.settings.retry, self.latency
        )
        self.ready = True

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
        await self.limits.stop()
        if self.writer is not None:
            await asyncio.to_thread(self.writer.close)
            log.info("ledger flushed: %d rows written", self.writer.written)
        if self.local is not None:
            await self.local.stop()
        if self._ledger is not None:
            self._ledger.close()

    def model_health(self) -> dict[str, str]:
        """'ok' or why not, per deployment (only the local model is checked actively)."""
        health: dict[str, str] = {}
        for model_id, deployment in self.deployments.items():
            if deployment.provider is ProviderKind.LOCAL:
                healthy = self.local is not None and self.local.healthy
                health[model_id] = "ok" if healthy else "down"
            elif deployment.api_key_env and not self.env.get(deployment.api_key_env):
                health[model_id] = f"no key ({deployment.api_key_env} is unset)"
            else:
                health[model_id] = "ok"
        return health
