"""The caller signal: API key, tenant, tags, and a requested route override."""

from __future__ import annotations

from typing import Any

from parity.routing.plan import RouteRequest

__all__ = ["CallerSignal", "request_tags"]


def request_tags(request: RouteRequest) -> list[str]:
    """Tags from the x-parity-tags header and the body's metadata.tags, comma-separated."""
    tags: list[str] = []
    header = request.headers.get("x-parity-tags")
    if header:
        tags += [t.strip() for t in header.split(",") if t.strip()]
    metadata = request.body.get("metadata")
    if isinstance(metadata, dict):
        value = metadata.get("tags")
        if isinstance(value, str):
            tags += [t.strip() for t in value.split(",") if t.strip()]
        elif isinstance(value, list):
            tags += [str(t) for t in value]
    return tags


class CallerSignal:
    """caller.key, caller.tenant, caller.tags, caller.metadata, caller.override."""

    name = "caller"

    def compute(self, request: RouteRequest) -> dict[str, Any]:
        """Who is calling and what they asked for in headers and metadata."""
        metadata = request.body.get("metadata")
        return {
            "key": request.caller.key_id,
            "tenant": request.caller.tenant,
            "admin": request.caller.admin,
            "tags": request_tags(request),
            "metadata": metadata if isinstance(metadata, dict) else {},
            "override": request.headers.get("x-parity-route"),
        }
