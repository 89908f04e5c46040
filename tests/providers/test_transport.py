"""The upstream HTTP/1.1 client against a real socket server that writes exact bytes.

Each test's server answers with scripted raw HTTP (chunked, gzip, read-until-close, 100
Continue, cut short, silent), so the framing the client must handle is on the wire as written,
not as a library would produce it.
"""

from __future__ import annotations

import asyncio
import gzip
import shutil
import ssl
import subprocess
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from parity.providers.transport import (
    ConnectFailed,
    ConnectTimedOut,
    Disconnected,
    Pool,
    Target,
)
from tests.servers import free_port

Answer = Callable[[bytes], Awaitable[bytes | None]]  # request bytes -> raw response (None: hang)

OK = b'HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 11\r\n\r\n{"ok":true}'


class Server:
    """A TCP server that reads one request at a time and writes what ``answer`` returns."""

    def __init__(self, answer: Answer, close_after: bool = False):
        self.answer = answer
        self.close_after = close_after
        self.connections = 0
        self.open = 0
        self.most_open = 0
        self.requests: list[bytes] = []
        self.server: asyncio.Server | None = None
        self.port = 0

    async def start(self, tls: ssl.SSLContext | None = None) -> Server:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0, ssl=tls)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        assert self.server is not None
        self.server.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.open += 1
        self.most_open = max(self.most_open, self.open)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    name, _, value = line.partition(b":")
                    if name.lower() == b"content-length":
                        length = int(value)
                request = head + await reader.readexactly(length)
                self.requests.append(request)
                raw = await self.answer(request)
                if raw is None:
                    await asyncio.sleep(30)
                    return
                writer.write(raw)
                await writer.drain()
                if self.close_after:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self.open -= 1
            writer.close()


def pool(**kw: float) -> Pool:
    return Pool(
        limit=int(kw.get("limit", 8)),
        connect_timeout_s=kw.get("connect", 2.0),
        total_timeout_s=kw.get("total", 5.0),
    )


def target(port: int, scheme: str = "http", host: str = "127.0.0.1") -> Target:
    return Target(f"{scheme}://{host}:{port}/v1/chat/completions", {"accept": "application/json"})


def constant(raw: bytes) -> Answer:
    async def answer(_request: bytes) -> bytes:
        return raw

    return answer


def test_keep_alive_reuses_one_connection_and_sends_one_head() -> None:
    async def run() -> None:
        server = await Server(constant(OK)).start()
        client = pool()
        for _ in range(5):
            response = await client.post(target(server.port), b'{"a":1}')
            assert response.status == 200
            assert response.headers["content-type"] == "application/json"
            assert await response.read() == b'{"ok":true}'
        assert server.connections == 1
        first = server.requests[0]
        assert first.startswith(b"POST /v1/chat/completions HTTP/1.1\r\n")
        assert b"host: 127.0.0.1:%d\r\n" % server.port in first
        assert b"content-length: 7\r\n" in first and first.endswith(b'\r\n\r\n{"a":1}')
        await client.close()
        await server.stop()

    asyncio.run(run())


def test_extra_headers_replace_the_defaults_of_the_same_name() -> None:
    async def run() -> None:
        server = await Server(constant(OK)).start()
        client = pool()
        response = await client.post(target(server.port), b"{}", {"Accept": "text/event-stream"})
        await response.read()
        sent = server.requests[0].lower()
        assert sent.count(b"accept:") == 1 and b"accept: text/event-stream" in sent
        await client.close()
        await server.stop()

    asyncio.run(run())


def test_chunked_body_comes_out_whole_and_line_by_line() -> None:
    events = b"data: one\n\ndata: two\n\ndata: [DONE]\n\n"
    pieces = [events[i : i + 7] for i in range(0, len(events), 7)]
    chunked = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in pieces) + b"0\r\n\r\n"
    raw = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n" + chunked

    async def run() -> None:
        server = await Server(constant(raw)).start()
        client = pool()
        response = await client.post(target(server.port), b"{}")
        assert await response.read() == events
        response = await client.post(target(server.port), b"{}")
        lines = [line async for line in response.lines()]
        assert lines == [line + b"\n" for line in events.split(b"\n")[:-1]]
        assert server.connections == 1  # both chunked answers ended cleanly: reused
        await client.close()
        await server.stop()

    asyncio.run(run())


def test_gzip_body_is_decoded() -> None:
    body = b'{"text":"' + b"x" * 5000 + b'"}'
    packed = gzip.compress(body)
    raw = b"HTTP/1.1 200 OK\r\ncontent-encoding: gzip\r\ncontent-length: %d\r\n\r\n%s" % (
        len(packed),
        packed,
    )

    async def run() -> None:
        server = await Server(constant(raw)).start()
        client = pool()
        response = await client.post(target(server.port), b"{}")
        assert await response.read() == body
        assert b"accept-encoding: gzip, deflate" in server.requests[0]
        await client.close()
        await server.stop()

    asyncio.run(run())


def test_body_ended_by_closing_the_connection() -> None:
    raw = b"HTTP/1.1 200 OK\r\nconnection: close\r\n\r\n" + b'{"until":"eof"}'

    async def run() -> None:
        server = await Server(constant(raw), close_after=True).start()
        client = pool()
        for _ in range(2):
            response = await client.post(target(server.port), b"{}")
            assert await response.read() == b'{"until":"eof"}'
        assert server.connections == 2  # a body read to the close cannot be followed by more
        await client.close()
        await server.stop()

    asyncio.run(run())


def test_interim_100_continue_is_skipped() -> None:
    raw = b"HTTP/1.1 100 Continue\r\n\r\n" + OK

    async def run() -> None:
        server = await Server(constant(raw)).start()
        client = pool()
        response = await client.post(target(server.port), b"{}")
        assert (response.status, await response.read()) == (200, b'{"ok":true}')
        await client.close()
        await server.stop()

    asyncio.run(run())


def test_the_pool_never_opens_more_than_its_limit() -> None:
    async def slow(_request: bytes) -> bytes:
        await asyncio.sleep(0.05)
        return OK

    async def run() -> None:
        server = await Server(slow).start()
        client = pool(limit=2)

        async def one() -> bytes:
            response = await client.post(target(server.port), b"{}")
            return await response.read()

        answers = await asyncio.gather(*[one() for _ in range(7)])
        assert answers == [b'{"ok":true}'] * 7
        assert server.most_open == 2 and server.connections == 2
        await client.close()
        await server.stop()

    asyncio.run(run())


def test_a_body_cut_short_is_a_disconnect_and_the_next_call_reconnects() -> None:
    calls = 0

    async def cut_once(_request: bytes) -> bytes:
        nonlocal calls
        calls += 1
        if calls == 1:
            return b'HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n{"partial'
        return OK

    async def run() -> None:
        server = await Server(cut_once, close_after=True).start()
        client = pool()
        response = await client.post(target(server.port), b"{}")
        with pytest.raises(Disconnected):
            await response.read()
        response = await client.post(target(server.port), b"{}")
        assert await response.read() == b'{"ok":true}'
        await client.close()
        await server.stop()

    asyncio.run(run())


def test_garbage_instead_of_http_is_a_disconnect() -> None:
    async def run() -> None:
        server = await Server(constant(b"SMTP ready\r\n\r\n")).start()
        client = pool()
        with pytest.raises(Disconnected, match="could not be parsed"):
            await client.post(target(server.port), b"{}")
        await client.close()
        await server.stop()

    asyncio.run(run())


def test_silence_past_the_total_deadline_is_a_timeout() -> None:
    async def hang(_request: bytes) -> None:
        return None

    async def run() -> None:
        server = await Server(hang).start()
        client = pool(total=0.3)
        loop = asyncio.get_running_loop()
        started = loop.time()
        with pytest.raises(TimeoutError) as caught:
            await client.post(target(server.port), b"{}")
        assert not isinstance(caught.value, ConnectTimedOut)
        assert 0.25 < loop.time() - started < 2
        await client.close()
        await server.stop()

    asyncio.run(run())


def test_a_stream_that_stalls_times_out_mid_body() -> None:
    head = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n"

    async def run() -> None:
        server = await Server(constant(head)).start()  # then nothing: the chunk never ends
        client = pool(total=0.3)
        response = await client.post(target(server.port), b"{}")
        with pytest.raises(TimeoutError):
            async for _line in response.lines():
                pass
        await client.close()
        await server.stop()

    asyncio.run(run())


def test_an_abandoned_stream_closes_its_connection() -> None:
    half = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n6\r\nline1\n\r\n"
    calls = 0

    async def answer(_request: bytes) -> bytes | None:
        nonlocal calls
        calls += 1
        return half if calls == 1 else OK

    async def run() -> None:
        server = await Server(answer).start()
        client = pool()
        response = await client.post(target(server.port), b"{}")
        async for line in response.lines():
            assert line == b"line1\n"
            break
        response.close()  # the rest never read: this connection must not carry another call
        response = await client.post(target(server.port), b"{}")
        assert await response.read() == b'{"ok":true}'
        assert server.connections == 2
        await client.close()
        await server.stop()

    asyncio.run(run())


def test_refused_connection_is_connect_failed() -> None:
    async def run() -> None:
        client = pool()
        with pytest.raises(ConnectFailed) as caught:
            await client.post(target(free_port()), b"{}")
        assert isinstance(caught.value.os_error, OSError)

    asyncio.run(run())


def test_header_with_a_line_break_is_refused() -> None:
    with pytest.raises(ValueError, match="line break"):
        Target("http://127.0.0.1:1/x", {"authorization": "Bearer a\r\nx-evil: 1"})
    with pytest.raises(ValueError, match="not an http"):
        Target("ftp://127.0.0.1/x", {})


def test_credentials_in_the_url_become_basic_auth() -> None:
    async def run() -> None:
        server = await Server(constant(OK)).start()
        client = pool()
        url = f"http://us%40er:p%3Ass@127.0.0.1:{server.port}/v1/x?a=1"
        response = await client.post(Target(url, {}), b"{}")
        await response.read()
        sent = server.requests[0]
        assert sent.startswith(b"POST /v1/x?a=1 HTTP/1.1\r\n")
        assert b"authorization: Basic dXNAZXI6cDpzcw==\r\n" in sent  # us@er:p:ss
        assert b"host: 127.0.0.1:%d\r\n" % server.port in sent  # no credentials in host
        await client.close()
        await server.stop()

    asyncio.run(run())


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
def test_https_verifies_the_certificate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost"),
            *("-keyout", str(key), "-out", str(cert)),
        ],
        check=True,
        capture_output=True,
    )
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(cert, key)

    async def run() -> None:
        server = await Server(constant(OK)).start(tls)
        untrusting = pool()
        with pytest.raises(ConnectFailed):  # a certificate nobody vouches for is refused
            await untrusting.post(target(server.port, "https", "localhost"), b"{}")
        monkeypatch.setenv("SSL_CERT_FILE", str(cert))
        trusting = pool()
        response = await trusting.post(target(server.port, "https", "localhost"), b"{}")
        assert await response.read() == b'{"ok":true}'
        await trusting.close()
        await server.stop()

    asyncio.run(run())


def test_connection_close_in_the_answer_is_honoured() -> None:
    raw = b'HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: 11\r\n\r\n{"ok":true}'

    async def run() -> None:
        server = await Server(constant(raw)).start()  # says close, but leaves the socket open
        client = pool()
        for _ in range(2):
            response = await client.post(target(server.port), b"{}")
            assert await response.read() == b'{"ok":true}'
        assert server.connections == 2
        await client.close()
        await server.stop()

    asyncio.run(run())
