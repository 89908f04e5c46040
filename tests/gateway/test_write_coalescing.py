"""The server's transport wrapper: a response's header and body writes leave as one send.

A real event loop and a real socket pair: the wrapped transport's writes are recorded on the way
to the real one, so the test sees how many sends the kernel was asked for, and what arrives.
"""

from __future__ import annotations

import asyncio
import socket
from typing import Any

from parity.gateway.http_protocol import _Coalesced


class _Counting:
    """A real transport that counts the writes it is given."""

    def __init__(self, transport: asyncio.Transport):
        self.transport = transport
        self.writes: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.writes.append(data)
        self.transport.write(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.transport, name)


async def _pair() -> tuple[_Counting, _Coalesced, socket.socket]:
    ours, theirs = socket.socketpair()
    loop = asyncio.get_running_loop()
    transport, _ = await loop.connect_accepted_socket(asyncio.Protocol, ours)
    counting = _Counting(transport)
    return counting, _Coalesced(counting, loop), theirs  # type: ignore[arg-type]


def _read(sock: socket.socket, size: int) -> bytes:
    sock.settimeout(2)
    data = b""
    while len(data) < size:
        data += sock.recv(size - len(data))
    return data


def test_writes_of_one_iteration_go_out_as_one_send() -> None:
    async def run() -> None:
        counting, coalesced, theirs = await _pair()
        coalesced.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n")
        coalesced.write(b"{}")
        assert counting.writes == []  # held until the iteration ends
        await asyncio.sleep(0)
        assert counting.writes == [b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}"]
        coalesced.write(b"next")  # a later iteration: a send of its own
        await asyncio.sleep(0)
        assert counting.writes[1:] == [b"next"]
        assert _read(theirs, 44) == b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}next"
        coalesced.close()
        theirs.close()

    asyncio.run(run())


def test_close_sends_what_is_held_and_abort_drops_it() -> None:
    async def run() -> None:
        counting, coalesced, theirs = await _pair()
        coalesced.write(b"last words")
        coalesced.close()
        assert counting.writes == [b"last words"]
        assert coalesced.is_closing()  # the rest is the real transport's
        assert _read(theirs, 10) == b"last words"
        theirs.close()
        counting, coalesced, theirs = await _pair()
        coalesced.write(b"never sent")
        coalesced.abort()
        await asyncio.sleep(0)
        assert counting.writes == []
        theirs.close()

    asyncio.run(run())
