"""The routing seam before policies exist: a model id goes to itself, an alias to its default.

The routing-policy layer replaces StaticRouter with a policy-driven router that implements the
same ``Router.plan()``; the gateway only ever calls that one method.
"""

from __future__ import annotations

from typing import Protocol

from parity.config import AUTO_ROUTE, Settings
from parity.errors import UnknownModel
from parity.routing.plan import RoutePlan, RouteRequest

__all__ = ["Router", "StaticRouter"]


class Router(Protocol):
    """Decides which deployment serves a request."""

    def plan(self, request: RouteRequest) -> RoutePlan:
        """A plan for ``request``, or a typed error (unknown model, rejected)."""
        ...


class StaticRouter:
    """Routes by name only."""

    def __init__(self, settings: Settings):
        self._models = {m.id for m in settings.models}
        self._aliases: dict[str, str] = {name: r.default for name, r in settings.routes.items()}
        auto = settings.auto_target
        if auto is not None:
            self._aliases.setdefault(AUTO_ROUTE, auto)
        self._known = sorted(self._models | set(self._aliases))

    @property
    def names(self) -> list[str]:
        """Every model id and alias clients may ask for."""
        return list(self._known)

    def plan(self, request: RouteRequest) -> RoutePlan:
        """The plan for a model id or alias."""
        if request.model in self._models:
            return RoutePlan(
                primary=request.model, rule="explicit", reason="the client named this model"
            )
        target = self._aliases.get(request.model)
        if target is not None:
            return RoutePlan(
                primary=target,
                route=request.model,
                rule="default",
                reason=f"{request.model} sends everything to {target}",
            )
        raise UnknownModel(request.model, self._known)
