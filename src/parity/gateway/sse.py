"""Named server-sent events, as the Responses and Anthropic Messages streams send them."""

from __future__ import annotations

from typing import Any

import orjson

__all__ = ["sse_event"]


def sse_event(event: dict[str, Any]) -> bytes:
    """``event: TYPE`` and the event as JSON ``data`` (the type is the object's ``type``)."""
    data: bytes = orjson.dumps(event)
    return b"event: " + str(event["type"]).encode() + b"\ndata: " + data + b"\n\n"
