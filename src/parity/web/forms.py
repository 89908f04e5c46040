"""Small form and query helpers: URL-encoded bodies, numbers from query strings, safe redirects.

The dashboard's forms are plain ``application/x-www-form-urlencoded`` posts, parsed here with the
standard library so the dashboard does not need python-multipart.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from urllib.parse import parse_qsl

from starlette.requests import Request

__all__ = ["FormTooLarge", "form_fields", "local_path", "query_float", "query_int"]

MAX_FORM_BYTES = 64 * 1024


class FormTooLarge(ValueError):
    """A form body over ``MAX_FORM_BYTES``: the dashboard's forms are all tiny."""


async def form_fields(request: Request) -> dict[str, str]:
    """The fields of a URL-encoded form post (the last value wins for a repeated name)."""
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise FormTooLarge(f"form body over {MAX_FORM_BYTES} bytes")
    return dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))


def query_float(
    query: Mapping[str, str],
    name: str,
    default: float | None,
    *,
    low: float | None = None,
    high: float | None = None,
) -> float | None:
    """A number from the query string; blank means ``default``; ValueError names the field."""
    raw = query.get(name, "").strip().replace(",", "").replace("_", "")
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{name}: {raw!r} is not a number") from None
    if not math.isfinite(value):
        raise ValueError(f"{name}: must be a finite number")
    if low is not None and value < low:
        raise ValueError(f"{name}: must be at least {low:g}")
    if high is not None and value > high:
        raise ValueError(f"{name}: must be at most {high:g}")
    return value


def query_int(query: Mapping[str, str], name: str, default: int, *, low: int, high: int) -> int:
    """An integer from the query string, clamped to [low, high]; junk means ``default``."""
    try:
        value = int(query.get(name, ""))
    except ValueError:
        return default
    return max(low, min(high, value))


def local_path(target: str, prefix: str, fallback: str) -> str:
    """``target`` when it is a path inside the dashboard, else ``fallback`` (no open redirects)."""
    inside = target == prefix or target.startswith(prefix + "/") or target.startswith(prefix + "?")
    if not inside or target.startswith("//") or "\\" in target or "\r" in target or "\n" in target:
        return fallback
    return target
