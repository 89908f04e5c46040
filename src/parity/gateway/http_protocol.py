"""uvicorn's httptools protocol with the two bounds it lacks: header size and header time.

httptools buffers a request line and headers without limit and waits for them for ever, so one
client could hold gigabytes of memory with an endless header, or keep a connection (and a file
descriptor) open by sending a byte now and then (slowloris). This subclass answers 431 when the
bytes before the end of the headers pass the limit, 408 when the headers take longer than
``server.header_timeout_s``, and turns the parser's own 400 into OpenAI's error body.

The checks run once per read from the socket, not per request, and a request whose headers arrive
in one read (nearly all) never arms a timer. Only ``parity serve`` imports this module.
"""

from __future__ import annotations

import asyncio
from typing import Any, cast

import orjson
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from parity.config.settings import ServerSettings
from parity.errors import BodyTimeout, HeadersTooLarge, InvalidField, ParityError

__all__ = ["REQUEST_LINE_BYTES", "bounded_protocol"]

REQUEST_LINE_BYTES = 8192
"""Room for the request line on top of server.max_header_bytes."""

_REASONS = {400: b"Bad Request", 408: b"Request Timeout", 431: b"Request Header Fields Too Large"}


class _Coalesced:
    """The connection's transport, with the writes of one loop iteration sent as one.

    uvicorn writes a response's status line and headers, then its body, each with a system
    call of its own (and a TCP segment of its own). Joined, a whole answer costs one send.
    The writes go out at the end of the loop iteration that made them, in order; ``close``
    sends what is held first, ``abort`` drops it.
    """

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop):
        self._transport = transport
        self._loop = loop
        self._held: list[bytes] = []

    def write(self, data: bytes) -> None:
        if not self._held:
            self._loop.call_soon(self._flush)
        self._held.append(data)

    def close(self) -> None:
        self._flush()
        self._transport.close()

    def abort(self) -> None:
        self._held.clear()
        self._transport.abort()

    def _flush(self) -> None:
        held = self._held
        if held:
            self._held = []
            if not self._transport.is_closing():
                self._transport.write(held[0] if len(held) == 1 else b"".join(held))

    def __getattr__(self, name: str) -> Any:  # is_closing, get_extra_info, pause_reading...
        return getattr(self._transport, name)


class _Bounded(HttpToolsProtocol):
    """Set ``limit`` (bytes before the headers end) and ``timeout`` (seconds) in a subclass."""

    limit = 16 * 1024 + REQUEST_LINE_BYTES
    timeout = 30.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._in_headers = True  # until the parser reports the end of a request's headers
        self._pending = 0  # bytes read since this request began, while in its headers
        self._begun = False  # a request's first bytes have arrived, its headers have not ended
        self._timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.transport = cast(asyncio.Transport, _Coalesced(transport, self.loop))
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._in_headers:
            self._pending += len(data)
        super().data_received(data)
        if not self._in_headers or self.transport.is_closing():
            return
        if self._pending > self.limit:
            limit = self.limit - REQUEST_LINE_BYTES
            self._refuse(
                HeadersTooLarge(f"the request headers are over the limit of {limit} bytes")
            )
        elif self._timer is None:
            self._arm()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_headers = self._begun = True

    def on_headers_complete(self) -> None:
        self._in_headers = self._begun = False
        self._pending = 0
        self._disarm()
        super().on_headers_complete()

    def send_400_response(self, msg: str) -> None:
        self._refuse(InvalidField(f"invalid HTTP request: {msg}"))

    def _arm(self) -> None:
        self._timer = self.loop.call_later(self.timeout, self._expired)

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _expired(self) -> None:
        self._timer = None
        if self._in_headers and not self.transport.is_closing():
            if self._begun:
                wait = f"{self.timeout:g} s"
                self._refuse(BodyTimeout(f"the request headers did not arrive within {wait}"))
            else:  # an idle connection that never sent a byte: nothing to answer
                self.transport.close()

    def _refuse(self, error: ParityError) -> None:
        """Answer before any ASGI app runs, and close the connection."""
        self._disarm()
        body = orjson.dumps(error.body())
        head = b"HTTP/1.1 %d %s\r\n" % (error.status, _REASONS[error.status])
        head += b"content-type: application/json\r\ncontent-length: %d\r\n" % len(body)
        head += b"connection: close\r\n\r\n"
        self.transport.write(head + body)
        self.transport.close()


def bounded_protocol(server: ServerSettings) -> type[HttpToolsProtocol]:
    """The protocol class for uvicorn.Config(http=...), with ``server``'s limits."""
    attributes = {
        "limit": server.max_header_bytes + REQUEST_LINE_BYTES,
        "timeout": server.header_timeout_s,
        "__doc__": "httptools with Parity's header size and time limits.",
    }
    return type("BoundedHttpToolsProtocol", (_Bounded,), attributes)
