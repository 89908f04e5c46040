"""GET /v1/models and /v1/models/{id}: the deployments and route aliases clients may name."""

from __future__ import annotations

from typing import Any

import orjson

from parity.errors import UnknownModel
from parity.gateway.runtime import Runtime
from parity.routing.plan import Caller

__all__ = ["MODELS_PATH", "ModelList"]

MODELS_PATH = "/v1/models"


class ModelList:
    """The OpenAI model list; with keys, only what the calling key may use.

    The entries are built once at start-up (the config does not change while running); the
    body for each distinct set of rights is serialised once and cached.
    """

    def __init__(self, runtime: Runtime):
        self._deployments: list[dict[str, Any]] = [
            {
                "id": deployment.id,
                "object": "model",
                "created": 0,
                "owned_by": deployment.provider.value,
                "residency": deployment.residency.value,
                "context_window": deployment.context_window,
                "price": {"input": deployment.price.input, "output": deployment.price.output},
            }
            for deployment in runtime.deployments.values()
        ]
        known = set(runtime.deployments)
        self._aliases: list[dict[str, Any]] = [
            {"id": name, "object": "model", "created": 0, "owned_by": "parity"}
            for name in runtime.router.names
            if name not in known
        ]
        self._bodies: dict[tuple[frozenset[str] | None, frozenset[str] | None], bytes] = {}

    def _visible(self, caller: Caller) -> list[dict[str, Any]]:
        """Deployments in the caller's models and aliases in its routes (all without limits)."""
        models, routes = caller.models, caller.routes
        data = [d for d in self._deployments if models is None or d["id"] in models]
        return data + [a for a in self._aliases if routes is None or a["id"] in routes]

    def body(self, caller: Caller) -> bytes:
        """The list as ``caller`` may see it: deployments in its models, aliases in its routes."""
        rights = (caller.models, caller.routes)
        cached = self._bodies.get(rights)
        if cached is None:
            cached = orjson.dumps({"object": "list", "data": self._visible(caller)})
            if len(self._bodies) < 10_000:  # rights come from keys, so this stays small
                self._bodies[rights] = cached
        return cached

    def item(self, caller: Caller, model_id: str) -> dict[str, Any]:
        """One model object the caller may see; UnknownModel (404) for any other id.

        A model the key may not use is answered as one that does not exist, as OpenAI does, so
        a key learns nothing of the others' models.
        """
        visible = self._visible(caller)
        for entry in visible:
            if entry["id"] == model_id:
                return entry
        raise UnknownModel(model_id[:200], [entry["id"] for entry in visible])
