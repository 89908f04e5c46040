"""Size and time limits at the HTTP level: headers (431), bodies (413), dripped bodies (408),
and slowloris-style connections that must not starve other clients."""

from __future__ import annotations

import contextlib
import socket
from concurrent.futures import ThreadPoolExecutor

import httpx
import openai

from tests.conftest import GatewayFactory
from tests.fakes.fixtures import VendorFake
from tests.hostile.conftest import ADMIN_KEY, MAX_BODY, hostile_config
from tests.hostile.raw import (
    assert_openai_error,
    closed_by_peer,
    connect,
    raw_request,
    read_answer,
)
from tests.servers import GatewayProcess

_AUTH = {b"authorization": b"Bearer " + ADMIN_KEY.encode()}
_REQUEST = b"POST /v1/chat/completions HTTP/1.1\r\nhost: t\r\nauthorization: Bearer %s\r\n" % (
    ADMIN_KEY.encode()
)


def _answered(gateway: GatewayProcess, n: int) -> list[str]:
    """``n`` chat calls at once through the OpenAI SDK; the answers' texts."""

    def one(i: int) -> str:
        with openai.OpenAI(base_url=gateway.v1, api_key=ADMIN_KEY, max_retries=0) as client:
            answer = client.chat.completions.create(
                model="gpt-fake", messages=[{"role": "user", "content": f"call {i}"}], timeout=30
            )
        return answer.choices[0].message.content or ""

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(one, range(n)))


def test_headers_over_the_limit_get_431(hostile_gateway: GatewayProcess) -> None:
    url = f"{hostile_gateway.url}/v1/models"
    one_big = {"x-big": "a" * 20_000}
    many = {f"x-h{i}": "b" * 100 for i in range(200)}
    for headers in (one_big, many):
        answer = httpx.get(url, headers=headers, timeout=5)
        assert answer.status_code == 431
        assert answer.headers["connection"] == "close"
        assert_openai_error(answer.status_code, answer.headers["content-type"], answer.content)
    fine = {"x-fine": "a" * 8_000, "authorization": f"Bearer {ADMIN_KEY}"}
    assert httpx.get(url, headers=fine, timeout=5).status_code == 200


def test_a_megabyte_of_headers_is_refused_and_the_gateway_lives_on(
    hostile_gateway: GatewayProcess,
) -> None:
    with connect(hostile_gateway.url) as sock:
        sock.sendall(
            b"GET /healthz HTTP/1.1\r\nhost: t\r\nx-big: " + b"a" * (1 << 20) + b"\r\n\r\n"
        )
        answer = read_answer(sock)
    assert answer.status == 431
    assert httpx.get(f"{hostile_gateway.url}/healthz", timeout=5).status_code == 200


def test_a_declared_body_over_the_limit_is_413(hostile_gateway: GatewayProcess) -> None:
    body = b'{"model": "gpt-fake", "pad": "' + b"x" * MAX_BODY + b'"}'
    answer = raw_request(
        hostile_gateway.url, b"/v1/chat/completions", method=b"POST", headers=_AUTH, body=body
    )
    assert answer.status == 413
    assert_openai_error(answer.status, answer.headers["content-type"], answer.body)


def test_a_chunked_body_over_the_limit_is_413_and_the_connection_closes(
    hostile_gateway: GatewayProcess,
) -> None:
    chunk = b"x" * 8192
    with connect(hostile_gateway.url) as sock:
        sock.sendall(_REQUEST + b"transfer-encoding: chunked\r\n\r\n")
        with contextlib.suppress(OSError):  # the gateway may stop reading once it has answered
            for _ in range(MAX_BODY // len(chunk) + 2):
                sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            sock.sendall(b"0\r\n\r\n")
        answer = read_answer(sock, "POST")
        assert answer.status == 413
        assert answer.headers["connection"] == "close"
        assert_openai_error(answer.status, answer.headers["content-type"], answer.body)
        assert closed_by_peer(sock)  # the rest of the body is not read


def test_a_dripped_body_times_out_with_408_while_others_are_served(
    hostile_gateway: GatewayProcess,
) -> None:
    with connect(hostile_gateway.url, timeout=30) as sock:
        sock.sendall(_REQUEST + b"content-length: 1000\r\n\r\n" + b'{"model": ')
        assert len(_answered(hostile_gateway, 5)) == 5
        answer = read_answer(sock, "POST")
    assert answer.status == 408
    error = assert_openai_error(answer.status, answer.headers["content-type"], answer.body)
    assert error["type"] == "timeout_error"


def test_slowloris_connections_do_not_starve_normal_clients(
    hostile_gateway: GatewayProcess,
) -> None:
    held: list[socket.socket] = []
    try:
        for i in range(200):
            sock = connect(hostile_gateway.url)
            sock.sendall(_REQUEST + b"x-slow: %d\r\n" % i)  # the headers never end
            held.append(sock)
        for sock in held:
            sock.sendall(b"x-still-slow: 1\r\n")
        answers = _answered(hostile_gateway, 20)
        assert len(answers) == 20
        assert all(text for text in answers)
        for sock in held:  # every slow connection is still open, not refused
            sock.sendall(b"x-still-slow: 2\r\n")
    finally:
        for sock in held:
            sock.close()


def test_headers_that_never_end_get_408_and_a_silent_connection_is_closed(
    vendor_fake: VendorFake, gateway_factory: GatewayFactory
) -> None:
    config = hostile_config(vendor_fake)
    config["server"]["header_timeout_s"] = 0.5
    gateway = gateway_factory(config, env={"FAKE_KEY": "sk-fake", "PARITY_ADMIN_KEY": ADMIN_KEY})
    with connect(gateway.url) as slow, connect(gateway.url) as silent:
        slow.sendall(_REQUEST + b"x-slow: 1\r\n")
        answer = read_answer(slow, "POST")
        assert silent.recv(1) == b""  # closed without a word: it never began a request
    assert answer.status == 408
    assert answer.headers["connection"] == "close"
    assert_openai_error(answer.status, answer.headers["content-type"], answer.body)
    assert httpx.get(f"{gateway.url}/healthz", timeout=5).status_code == 200
