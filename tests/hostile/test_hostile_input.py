"""Hostile input against chat, the admin API and /ui: always a clean 4xx, never a 5xx or a leak.

Targets go over a raw socket so that nothing normalises '..' or percent-escapes on the way.
"""

from __future__ import annotations

import secrets

import httpx
import pytest

from tests.fakes.fixtures import VendorFake
from tests.hostile.conftest import ADMIN_KEY
from tests.hostile.raw import RawAnswer, assert_openai_error, raw_request
from tests.servers import GatewayProcess

_AUTH = {b"authorization": b"Bearer " + ADMIN_KEY.encode()}
_JSON = {**_AUTH, b"content-type": b"application/json"}
_LEAKS = (b"root:", b"[extensions]", b"BEGIN ", b"PRIVATE KEY")

_UI_TARGETS = [
    b"/ui/static/../../../../etc/passwd",
    b"/ui/static/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
    b"/ui/static/%2e%2e%2f%2e%2e%2f%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    b"/ui/static/%252e%252e%252f%252e%252e%252fetc%252fpasswd",
    b"/ui/static/..%2f..%2f..%2f..%2fetc%2fpasswd",
    b"/ui/static/....//....//....//etc/passwd",
    b"/ui/static/..%5c..%5c..%5cetc%5cpasswd",
    b"/ui/static/%c0%ae%c0%ae/%c0%ae%c0%ae/etc/passwd",
    b"/ui/static/%00../../etc/passwd",
    b"/ui/../../../etc/passwd",
    b"/ui/runs/..%2f..%2f..%2fetc%2fpasswd",
]
_KEY_NAMES = [
    b"..%2F..%2Fetc%2Fpasswd",
    b"..%2f..%2f..%2f..%2fetc%2fpasswd",
    b"%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    b"%252e%252e%252fetc%252fpasswd",
    b"../../etc/passwd",
    b"x%00y",
    b"%27%20OR%20%271%27%3D%271",
    b"%27%3B%20DROP%20TABLE%20api_keys%3B--",
    b"a" * 65,
    b"%ff%fe",
    b"%",
    b"",
]


def _no_leak(answer: RawAnswer) -> None:
    assert not any(marker in answer.body for marker in _LEAKS), answer.body[:200]


def _error(answer: RawAnswer) -> dict[str, object]:
    _no_leak(answer)
    return assert_openai_error(answer.status, answer.headers.get("content-type", ""), answer.body)


@pytest.mark.parametrize("target", _UI_TARGETS)
def test_path_traversal_under_ui_reads_no_file(
    hostile_gateway: GatewayProcess, target: bytes
) -> None:
    answer = raw_request(hostile_gateway.url, target, headers=_AUTH)
    _no_leak(answer)
    assert answer.status in (400, 404), (answer.status, answer.body[:200])


@pytest.mark.parametrize("method", [b"GET", b"DELETE"])
@pytest.mark.parametrize("name", _KEY_NAMES)
def test_hostile_key_names_are_clean_4xx(
    hostile_gateway: GatewayProcess, name: bytes, method: bytes
) -> None:
    answer = raw_request(hostile_gateway.url, b"/admin/keys/" + name, method=method, headers=_AUTH)
    assert _error(answer)["code"] in ("invalid_key_name", "key_not_found")


def _create(gateway: GatewayProcess, body: bytes, headers: dict[bytes, bytes]) -> RawAnswer:
    return raw_request(gateway.url, b"/admin/keys", method=b"POST", headers=headers, body=body)


@pytest.mark.parametrize(
    "body",
    [
        b'{"name": "x\'; DROP TABLE api_keys;--"}',
        b'{"name": "x\\u0000y"}',
        b'{"name": "ok-name", "tenant": "a\\u0000b"}',
        b'{"name": "ok-name", "rpm": 1e999}',
        b'{"name": "ok-name", "daily_usd": 1e999}',
        b'{"name": "ok-name", "rpm": 99999999999999999999999999}',
        b'{"name": "ok-name", "models": ["no-such-model"]}',
        b'{"name": "ok-name", "unknown": 1}',
        b'{"name": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
        b'{"name": "\xff\xfe"}',
        b"\xff\xfe\x00",
        b'["name"]',
        b"",
    ],
)
def test_hostile_admin_bodies_are_clean_4xx(hostile_gateway: GatewayProcess, body: bytes) -> None:
    assert _error(_create(hostile_gateway, body, _JSON))["message"]


def test_injection_strings_are_stored_as_plain_text(hostile_gateway: GatewayProcess) -> None:
    name = f"probe-{secrets.token_hex(4)}"
    tenant = "t' OR '1'='1; DROP TABLE api_keys;--"
    body = httpx.Client(
        base_url=hostile_gateway.url, headers={"authorization": f"Bearer {ADMIN_KEY}"}
    )
    with body as client:
        created = client.post("/admin/keys", json={"name": name, "tenant": tenant})
        assert created.status_code == 201, created.text
        assert client.get(f"/admin/keys/{name}").json()["tenant"] == tenant
        listed = client.get("/admin/keys").json()["data"]
        assert [k["tenant"] for k in listed if k["name"] == name] == [tenant]
        assert client.delete(f"/admin/keys/{name}").json()["status"] == "revoked"


def test_duplicate_keys_resolve_to_the_last_and_reach_the_upstream_once(
    hostile_gateway: GatewayProcess, vendor: VendorFake
) -> None:
    body = (
        b'{"model": "no-such-model", "model": "gpt-fake", "max_tokens": 3,'
        b' "messages": [{"role": "user", "content": "first"}],'
        b' "messages": [{"role": "user", "content": "second"}]}'
    )
    answer = raw_request(
        hostile_gateway.url, b"/v1/chat/completions", method=b"POST", headers=_JSON, body=body
    )
    assert answer.status == 200, answer.body[:300]
    sent = [r["body"] for r in vendor.received() if r["path"].endswith("/chat/completions")]
    assert len(sent) == 1
    assert sent[0]["messages"] == [{"role": "user", "content": "second"}]


_CHAT_BODIES = [
    b'{"model": "gpt-fake", "messages": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
    b'{"model": "gpt-fake", "messages": [{"role": "user", "content": "\xff\xfe"}]}',
    b'{"model": "gpt-fake", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 1e999}',
    b'{"model": "gpt-fake", "messages": [{"role": "user", "content": "hi"}], "temperature": 1e999}',
    b'{"model": "gpt-fake", "messages": [{"role": "user", "content": "hi"}], "n": -1}',
    b'{"model": "gpt-fake", "messages": [{"role": "us\\u0000er", "content": "hi"}]}',
    b'{"model": "' + b"m" * 60_000 + b'", "messages": [{"role": "user", "content": "hi"}]}',
    b'{"model": "gpt-fake\\u0000", "messages": [{"role": "user", "content": "hi"}]}',
    b'{"model": "../../etc/passwd", "messages": [{"role": "user", "content": "hi"}]}',
    b'{"model": ["gpt-fake"], "messages": [{"role": "user", "content": "hi"}]}',
    b'{"model": "gpt-fake", "messages": [{"role": "user", "content": {"$gt": ""}}]}',
    b'{"model": "gpt-fake", "messages": [], "stream": "yes"}',
    b"model=gpt-fake&messages=hi",
    b"NaN",
    b"\x00" * 32,
]


@pytest.mark.parametrize("body", _CHAT_BODIES)
def test_hostile_chat_bodies_are_clean_4xx(hostile_gateway: GatewayProcess, body: bytes) -> None:
    answer = raw_request(
        hostile_gateway.url, b"/v1/chat/completions", method=b"POST", headers=_JSON, body=body
    )
    _error(answer)


@pytest.mark.parametrize(
    "content_type", [b"text/plain", b"application/x-www-form-urlencoded", b"multipart/form-data"]
)
def test_wrong_content_types_are_never_5xx(
    hostile_gateway: GatewayProcess, content_type: bytes
) -> None:
    headers = {**_AUTH, b"content-type": content_type}
    answer = raw_request(
        hostile_gateway.url, b"/admin/keys", method=b"POST", headers=headers, body=b"name=x"
    )
    _error(answer)
