"""The shape signal: size against context windows, tools, JSON mode, images, max_tokens."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from parity.catalog.deployment import Deployment
from parity.routing.plan import RouteRequest

__all__ = ["ShapeSignal", "estimate_prompt_tokens"]


def estimate_prompt_tokens(body: Mapping[str, Any]) -> int:
    """About four characters a token, plus a few tokens of framing per message."""
    chars = 0
    count = 0
    for message in body.get("messages") or ():
        if not isinstance(message, dict):
            continue
        count += 1
        content = message.get("content")
        if isinstance(content, str):
            chars += len(content)
        elif isinstance(content, list):
            chars += sum(len(p.get("text", "")) for p in content if isinstance(p, dict))
        for call in message.get("tool_calls") or ():
            chars += len(str(call))
    for tool in body.get("tools") or ():
        chars += len(str(tool))
    return (chars + 3) // 4 + 4 * count


def _has_images(body: Mapping[str, Any]) -> bool:
    for message in body.get("messages") or ():
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, list) and any(
            isinstance(p, dict) and p.get("type") in ("image_url", "input_image") for p in content
        ):
            return True
    return False


class ShapeSignal:
    """shape.prompt_tokens, max_tokens, tools, tool_choice, response_format, images, fits."""

    name = "shape"

    def __init__(self, deployments: Mapping[str, Deployment]):
        self._windows = {d.id: d.context_window for d in deployments.values()}

    def compute(self, request: RouteRequest) -> dict[str, Any]:
        """The request's shape and which deployments' context windows it fits."""
        body = request.body
        tokens = estimate_prompt_tokens(body)
        max_tokens = body.get("max_completion_tokens") or body.get("max_tokens")
        need = tokens + (max_tokens if isinstance(max_tokens, int) else 0)
        response_format = body.get("response_format")
        kind = response_format.get("type") if isinstance(response_format, dict) else None
        return {
            "prompt_tokens": tokens,
            "max_tokens": max_tokens,
            "messages": len(body.get("messages") or ()),
            "tools": bool(body.get("tools")),
            "tool_choice": body.get("tool_choice"),
            "response_format": kind,
            "json": kind in ("json_object", "json_schema"),
            "images": _has_images(body),
            "stream": bool(body.get("stream")),
            "fits": sorted(name for name, window in self._windows.items() if window >= need),
        }
