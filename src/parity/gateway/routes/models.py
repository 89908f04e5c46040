"""GET /v1/models: every deployment and route alias clients may name."""

from __future__ import annotations

import orjson

from parity.gateway.runtime import Runtime

__all__ = ["models_body"]


def models_body(runtime: Runtime) -> bytes:
    """The OpenAI model list, built once at start-up (the config does not change while running)."""
    data = [
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
    for name in runtime.router.names:
        if name not in known:
            data.append({"id": name, "object": "model", "created": 0, "owned_by": "parity"})
    return orjson.dumps({"object": "list", "data": data})
