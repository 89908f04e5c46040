"""The upstream HTTP/1.1 client: pooled keep-alive connections parsed by httptools.

Every upstream call of the providers goes through here. aiohttp's client, used before, cost
about 200 µs of CPU a call on the benchmark machine against about 30 µs for this one (the same
request, 32 at a time, against the instant mock upstream): a third of the gateway's CPU per
request (docs/benchmarks.md, issue 13). It does only what the providers need: POST a body,
read the status and headers, then the whole body or its lines as they arrive, under one total
deadline per call and a connect timeout per new connection; TLS for https; gzip and deflate.

Failures are the exceptions below and ``TimeoutError``; ``providers/http.py`` types them.
"""

from __future__ import annotations

import asyncio
import base64
import collections
import socket
import ssl
import zlib
from collections.abc import AsyncIterator, Mapping
from typing import cast
from urllib.parse import unquote, urlsplit

import httptools

__all__ = [
    "ConnectFailed",
    "ConnectTimedOut",
    "Disconnected",
    "Pool",
    "Response",
    "Target",
    "TransportError",
]

_READ_HIGH = 256 * 1024  # a stream nobody reads stops the socket past this many bytes buffered
_DECODERS = {"gzip": 16 + zlib.MAX_WBITS, "x-gzip": 16 + zlib.MAX_WBITS, "deflate": zlib.MAX_WBITS}


class TransportError(Exception):
    """A call failed on the client side of HTTP (no status to type it by)."""


class ConnectFailed(TransportError):
    """No connection could be opened (refused, unreachable, name not resolved, TLS refused)."""

    def __init__(self, message: str, os_error: OSError):
        super().__init__(message)
        self.os_error = os_error


class ConnectTimedOut(TransportError, TimeoutError):
    """No connection was opened within the connect timeout."""


class Disconnected(TransportError):
    """The connection broke, or the upstream's HTTP could not be parsed, before the answer ended."""


class Target:
    """One URL, its connection key and the request head shared by every call to it."""

    __slots__ = ("_fields", "_head", "host", "key", "port", "tls")

    def __init__(self, url: str, headers: Mapping[str, str]):
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {url}")
        self.tls = parts.scheme == "https"
        self.host = parts.hostname
        self.port = parts.port or (443 if self.tls else 80)
        self.key = (self.tls, self.host, self.port)
        netloc = parts.netloc.rpartition("@")[2]
        fields = {"host": netloc, "accept-encoding": "gzip, deflate"}
        if parts.username is not None:  # credentials in the URL: basic auth, as browsers do
            user = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
            fields["authorization"] = "Basic " + base64.b64encode(user.encode()).decode()
        fields.update({k.lower(): v for k, v in headers.items()})
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self._fields = fields
        self._head = b"POST %s HTTP/1.1\r\n%s" % (path.encode("latin-1"), _lines(fields))

    def request(self, body: bytes, extra: Mapping[str, str] | None) -> bytes:
        """The bytes of one POST of ``body`` (``extra`` headers replace same-named ones)."""
        head = self._head
        if extra:  # rare on the hot path: streams' accept header, trace headers
            line, _, _ = head.partition(b"\r\n")
            fields = {**self._fields, **{k.lower(): v for k, v in extra.items()}}
            head = b"%s\r\n%s" % (line, _lines(fields))
        return b"%scontent-length: %d\r\n\r\n%s" % (head, len(body), body)


def _lines(fields: Mapping[str, str]) -> bytes:
    out = []
    for name, value in fields.items():
        line = f"{name}: {value}\r\n"
        if any(c in line[:-2] for c in "\r\n\0") or not name:
            raise ValueError(f"header {name!r} holds a line break or NUL")
        out.append(line.encode("latin-1"))
    return b"".join(out)


class Response:
    """One answer: status and headers at once, then the body as it arrives."""

    __slots__ = (
        "_chunks",
        "_conn",
        "_decoder",
        "_done",
        "_error",
        "_size",
        "_timer",
        "_waiter",
        "headers",
        "status",
    )

    def __init__(self, conn: _Connection, timer: asyncio.TimerHandle):
        self._conn: _Connection | None = conn
        self._timer = timer
        self.status = 0
        self.headers: dict[str, str] = {}  # names lower-cased; repeated ones joined by ", "
        self._chunks: collections.deque[bytes] = collections.deque()
        self._size = 0
        self._done = False
        self._error: BaseException | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._decoder: zlib._Decompress | None = None

    async def read(self) -> bytes:
        """The whole body."""
        while not self._done:
            await self._wait()
        if self._error is not None:
            raise self._error
        body = b"".join(self._chunks)
        self._chunks.clear()
        return body

    async def lines(self) -> AsyncIterator[bytes]:
        """The body line by line (each with its b"\\n", the last one perhaps without)."""
        rest = b""
        while True:
            while self._chunks:
                rest += self._take()
                if b"\n" in rest:
                    *whole, rest = rest.split(b"\n")
                    for line in whole:
                        yield line + b"\n"
            if self._done:
                if self._error is not None:
                    raise self._error
                if rest:
                    yield rest
                return
            await self._wait()

    def close(self) -> None:
        """Done with it: a connection whose answer was not read to the end is not reused."""
        self._timer.cancel()
        conn, self._conn = self._conn, None
        if conn is not None and not self._done:
            conn.abort()

    def _take(self) -> bytes:
        chunk = self._chunks.popleft()
        self._size -= len(chunk)
        conn = self._conn
        if conn is not None and conn.paused and self._size < _READ_HIGH // 2:
            conn.resume()
        return chunk

    async def _wait(self) -> None:
        waiter = self._waiter = asyncio.get_running_loop().create_future()
        try:
            await waiter
        finally:
            self._waiter = None

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _body(self, data: bytes) -> None:
        if self._decoder is not None:
            try:
                data = self._decoder.decompress(data)
            except zlib.error as exc:
                raise Disconnected(
                    f"the upstream sent a body that does not decompress: {exc}"
                ) from exc
        if data:
            self._chunks.append(data)
            self._size += len(data)
            self._wake()

    def _finish(self, error: BaseException | None = None) -> None:
        if self._done:
            return
        if error is None and self._decoder is not None:
            tail = self._decoder.flush()
            if tail:
                self._chunks.append(tail)
        self._done, self._error = True, error
        self._timer.cancel()
        self._conn = None
        self._wake()


class _Connection(asyncio.Protocol):
    """One keep-alive connection; it carries one request at a time."""

    def __init__(self, pool: Pool, key: tuple[bool, str, int]):
        self._pool = pool
        self.key = key
        self._parser = httptools.HttpResponseParser(self)
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.paused = False
        self.idle_since = 0.0
        self._response: Response | None = None  # the answer being received
        self._headers: asyncio.Future[Response] | None = None  # resolved when its headers end
        self._until_eof = False  # the body ends when the connection does

    # -- used by the pool and the response --

    def send(self, data: bytes, response: Response) -> asyncio.Future[Response]:
        """Write one request; the future resolves with ``response`` once its headers are in."""
        assert self.transport is not None and self._response is None
        self._response = response
        self._until_eof = False
        self._headers = headers = asyncio.get_running_loop().create_future()
        self.transport.write(data)
        return headers

    def abort(self) -> None:
        """Drop the connection at once (an answer not read to its end, a timeout)."""
        if self.transport is not None:
            self.transport.abort()
        self._lost(Disconnected("the call was abandoned"))

    def resume(self) -> None:
        self.paused = False
        if self.transport is not None and not self.closed:
            self.transport.resume_reading()

    def expire(self) -> None:
        """The call's deadline passed."""
        if self.transport is not None:
            self.transport.abort()
        self._lost(TimeoutError())

    # -- asyncio.Protocol --

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport = cast(asyncio.Transport, transport)  # uvloop's is no subclass
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data: bytes) -> None:
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as exc:
            cause = exc.__context__ if isinstance(exc.__context__, Disconnected) else None
            if self.transport is not None:
                self.transport.abort()
            self._lost(cause or Disconnected(f"the upstream's HTTP could not be parsed: {exc}"))

    def connection_lost(self, exc: Exception | None) -> None:
        response = self._response
        if response is not None and self._until_eof and self._headers is None and exc is None:
            self._response = None
            response._finish()  # a body delimited by the end of the connection
        self._lost(Disconnected(f"the upstream closed the connection{f': {exc}' if exc else ''}"))

    def pause_writing(self) -> None:  # a body larger than the socket buffer: asyncio keeps it
        pass

    def resume_writing(self) -> None:
        pass

    # -- httptools callbacks --

    def on_header(self, name: bytes, value: bytes) -> None:
        response = self._response
        if response is not None:
            key, text = name.decode("latin-1").lower(), value.decode("latin-1")
            old = response.headers.get(key)
            response.headers[key] = text if old is None else f"{old}, {text}"

    def on_headers_complete(self) -> None:
        response, waiter = self._response, self._headers
        if response is None or waiter is None:
            return
        status = self._parser.get_status_code()
        if status < 200:  # 100 Continue and friends: the real answer follows
            response.headers.clear()
            return
        response.status = status
        headers = response.headers
        coding = headers.get("content-encoding", "").strip().lower()
        if coding in _DECODERS:
            response._decoder = zlib.decompressobj(_DECODERS[coding])
        chunked = "chunked" in headers.get("transfer-encoding", "").lower()
        self._until_eof = "content-length" not in headers and not chunked
        self._headers = None
        if not waiter.done():
            waiter.set_result(response)

    def on_body(self, body: bytes) -> None:
        response = self._response
        if response is None:
            return
        response._body(body)
        if response._size > _READ_HIGH and not self.paused and self.transport is not None:
            self.paused = True
            self.transport.pause_reading()

    def on_message_complete(self) -> None:
        response = self._response
        if response is None or self._headers is not None:  # none, or an interim 1xx
            return
        self._response = None
        response._finish()
        if self._parser.should_keep_alive() and not self.closed:
            self._pool.release(self)
        else:
            self.abort()

    # -- internals --

    def _lost(self, error: BaseException) -> None:
        response, waiter = self._response, self._headers
        self._response = self._headers = None
        if waiter is not None and not waiter.done():
            waiter.set_exception(error)
        if response is not None:
            response._finish(error)
        if not self.closed:
            self.closed = True
            self._pool.forget(self)


class Pool:
    """Keep-alive connections to any number of origins, at most ``limit`` open at once."""

    def __init__(
        self,
        *,
        limit: int,
        connect_timeout_s: float,
        total_timeout_s: float,
        keepalive_s: float = 30.0,
    ):
        self.limit = limit
        self.connect_timeout_s = connect_timeout_s
        self.total_timeout_s = total_timeout_s
        self._keepalive_s = keepalive_s
        self._idle: dict[tuple[bool, str, int], list[_Connection]] = {}
        self._open = 0
        self._waiters: collections.deque[asyncio.Future[None]] = collections.deque()
        self._tls: ssl.SSLContext | None = None
        self._loop = asyncio.get_running_loop()
        self.closed = False

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The event loop its connections belong to."""
        return self._loop

    async def post(
        self, target: Target, body: bytes, headers: Mapping[str, str] | None = None
    ) -> Response:
        """Send one POST; returns once the answer's status and headers are in.

        The total deadline covers the whole call, the body included: read it, or ``close()``
        the response, before the deadline to keep the connection.
        """
        loop = self._loop
        deadline = loop.time() + self.total_timeout_s
        data = target.request(body, headers)
        conn = await self._acquire(target, deadline)
        timer = loop.call_at(deadline, conn.expire)
        response = Response(conn, timer)
        try:
            return await conn.send(data, response)
        except BaseException:
            response.close()
            raise

    async def close(self) -> None:
        """Close every idle connection (those in use close when their answers end)."""
        self.closed = True
        for conns in self._idle.values():
            for conn in list(conns):
                conn.abort()
        self._idle.clear()

    # -- used by connections --

    def release(self, conn: _Connection) -> None:
        if self.closed:
            conn.abort()
            return
        conn.idle_since = self._loop.time()
        self._idle.setdefault(conn.key, []).append(conn)
        self._wake_one()

    def forget(self, conn: _Connection) -> None:
        self._open -= 1
        idle = self._idle.get(conn.key)
        if idle and conn in idle:
            idle.remove(conn)
        self._wake_one()

    # -- internals --

    def _wake_one(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    async def _acquire(self, target: Target, deadline: float) -> _Connection:
        loop = self._loop
        while True:
            idle = self._idle.get(target.key)
            while idle:
                conn = idle.pop()
                if not conn.closed and loop.time() - conn.idle_since < self._keepalive_s:
                    return conn
                conn.abort()
            if self._open < self.limit:
                return await self._connect(target, deadline)
            waiter = loop.create_future()
            self._waiters.append(waiter)
            await asyncio.wait_for(waiter, max(0.0, deadline - loop.time()))

    async def _connect(self, target: Target, deadline: float) -> _Connection:
        self._open += 1
        tls = self._context() if target.tls else None
        within = min(self.connect_timeout_s, max(0.0, deadline - self._loop.time()))
        try:
            connecting = self._loop.create_connection(
                lambda: _Connection(self, target.key),
                target.host,
                target.port,
                ssl=tls,
                server_hostname=target.host if tls else None,
            )
            _, conn = await asyncio.wait_for(connecting, within)
        except TimeoutError:
            self._failed()
            raise ConnectTimedOut(f"no connection within {within:g} s") from None
        except OSError as exc:
            self._failed()
            raise ConnectFailed(str(exc), exc) from exc
        except BaseException:
            self._failed()
            raise
        return conn

    def _failed(self) -> None:
        self._open -= 1
        self._wake_one()

    def _context(self) -> ssl.SSLContext:
        if self._tls is None:
            self._tls = ssl.create_default_context()
        return self._tls
