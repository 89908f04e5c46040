"""Raw HTTP/1.1 over a socket: request targets and bytes exactly as written (no normalising)."""

from __future__ import annotations

import http.client
import json
import socket
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

__all__ = ["RawAnswer", "assert_openai_error", "closed_by_peer", "connect", "raw_request"]


@dataclass
class RawAnswer:
    """A response read off the wire."""

    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        """The body as JSON."""
        return json.loads(self.body)


def connect(base_url: str, timeout: float = 10) -> socket.socket:
    """A TCP connection to the gateway at ``base_url``."""
    parts = urlsplit(base_url)
    return socket.create_connection((parts.hostname, parts.port), timeout=timeout)


def closed_by_peer(sock: socket.socket) -> bool:
    """Whether the other end has closed: end of stream, or a reset.

    A server that closes while bytes it never read wait in its buffer makes the kernel send a
    reset instead of an orderly end; what it sent before stays readable here, then the next
    read fails. Both mean closed. A read that returns data means it was still open.
    """
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True


def read_answer(sock: socket.socket, method: str = "GET") -> RawAnswer:
    """Parse one response from ``sock``."""
    response = http.client.HTTPResponse(sock, method=method)
    response.begin()
    body = response.read()
    headers = {k.lower(): v for k, v in response.getheaders()}
    return RawAnswer(response.status, headers, body)


def raw_request(
    base_url: str,
    target: bytes,
    *,
    method: bytes = b"GET",
    headers: dict[bytes, bytes] | None = None,
    body: bytes = b"",
    timeout: float = 10,
) -> RawAnswer:
    """Send one request with ``target`` byte for byte; read the answer."""
    lines = [method + b" " + target + b" HTTP/1.1", b"host: test", b"connection: close"]
    lines += [k + b": " + v for k, v in (headers or {}).items()]
    if body or method in (b"POST", b"PUT", b"PATCH"):
        lines.append(b"content-length: " + str(len(body)).encode())
    with connect(base_url, timeout) as sock:
        sock.sendall(b"\r\n".join(lines) + b"\r\n\r\n" + body)
        return read_answer(sock, method.decode())


def assert_openai_error(status: int, content_type: str, body: bytes) -> dict[str, Any]:
    """Fail unless the answer is a 4xx with OpenAI's JSON error body; return its 'error'."""
    assert 400 <= status < 500, (status, body[:300])
    assert content_type.startswith("application/json"), content_type
    error = json.loads(body)["error"]
    assert isinstance(error["message"], str) and error["message"]
    assert isinstance(error["type"], str) and error["type"]
    assert set(error) == {"message", "type", "param", "code"}
    return dict(error)
