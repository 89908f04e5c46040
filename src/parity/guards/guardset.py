"""Every route's guard, built once at start from the settings, closed at exit."""

from __future__ import annotations

from collections.abc import Mapping

from parity.config import Settings
from parity.errors import ConfigError
from parity.guards.check import GuardCheck
from parity.guards.client import GuardClient, build_client

__all__ = ["GuardSet"]


class GuardSet:
    """One client per guard under ``guards:``, one ``GuardCheck`` per route that uses one."""

    def __init__(self, settings: Settings, env: Mapping[str, str]):
        self.clients: dict[str, GuardClient] = {}
        for name, spec in settings.guards.items():
            deployment = settings.deployment(spec.deployment)
            if deployment is None:  # the settings validator refuses this already
                raise ConfigError(f"guard '{name}' uses an unlisted deployment")
            try:
                self.clients[name] = build_client(name, spec, deployment, env)
            except ValueError as exc:
                raise ConfigError(str(exc)) from exc
        self.routes: dict[str, GuardCheck] = {}
        for route_name, route in settings.routes.items():
            if route.guard is not None:
                spec = settings.guards[route.guard.guard]
                client = self.clients[route.guard.guard]
                self.routes[route_name] = GuardCheck(route_name, route.guard, client, spec.format)

    def for_route(self, route: str | None) -> GuardCheck | None:
        """The guard of a route alias, if it has one (requests naming a model have none)."""
        return self.routes.get(route) if route is not None else None

    async def close(self) -> None:
        """Close every guard's connection pool."""
        for client in self.clients.values():
            await client.close()
