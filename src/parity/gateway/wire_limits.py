"""The header-size check of the ASGI app, whatever server runs it.

``parity serve`` also bounds headers while they are parsed (gateway/http_protocol.py), so that an
endless header never reaches memory; this exact check gives the same 431 under any ASGI server.
The body's limits (size, time) are enforced while it is read (gateway/asgi.py read_body).
"""

from __future__ import annotations

__all__ = ["header_bytes"]


def header_bytes(headers: list[tuple[bytes, bytes]]) -> int:
    """The size of the request headers: every name and value, as received."""
    size = 0
    for name, value in headers:
        size += len(name) + len(value)
    return size
