"""The licence signal: deployments whose catalog licence forbids the organisation's use."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from parity.catalog.deployment import Deployment
from parity.catalog.license import OrgProfile, check_license
from parity.catalog.registry import Catalog
from parity.routing.plan import RouteRequest

__all__ = ["LicenceSignal"]


class LicenceSignal:
    """licence.denied: {deployment: reason}, computed once (profile and cards are fixed)."""

    name = "licence"

    def __init__(
        self, deployments: Mapping[str, Deployment], profile: OrgProfile | None, catalog: Catalog
    ):
        self.denied: dict[str, str] = {}
        self.unchecked: list[str] = []
        if profile is None:
            return
        for deployment in deployments.values():
            if deployment.card is None:
                self.unchecked.append(deployment.id)
                continue
            verdict = check_license(catalog.card(deployment.card), profile)
            if not verdict.allowed:
                self.denied[deployment.id] = verdict.reason

    def compute(self, request: RouteRequest) -> dict[str, Any]:
        """The fixed verdicts."""
        return {"denied": dict(self.denied), "unchecked": list(self.unchecked)}
