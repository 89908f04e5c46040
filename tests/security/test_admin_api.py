"""The admin API through a real gateway: who may use it, what it returns, and hostile input."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.fakes.fixtures import VendorFake
from tests.security.common import ADMIN_KEY, GATEWAY_ENV, gateway_config
from tests.servers import GatewayProcess, start_gateway

HELLO = {"model": "cheap", "messages": [{"role": "user", "content": "hello"}]}


@pytest.fixture(scope="module")
def gateway(
    vendor_fake: VendorFake, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[GatewayProcess]:
    config = gateway_config(vendor_fake, keys=[{"id": "ops", "key_env": "OPS_KEY"}])
    started = start_gateway(
        tmp_path_factory.mktemp("admin"), config, env={**GATEWAY_ENV, "OPS_KEY": "sk-ops-user"}
    )
    yield started
    started.stop()


def _call(
    gateway: GatewayProcess, method: str, path: str, key: str | None = ADMIN_KEY, **kw: Any
) -> httpx.Response:
    headers = {"authorization": f"Bearer {key}"} if key else {}
    headers.update(kw.pop("headers", {}))
    return httpx.request(
        method, gateway.url + path, headers=headers, trust_env=False, timeout=30, **kw
    )


def _error(answer: httpx.Response) -> dict[str, Any]:
    assert answer.headers["content-type"] == "application/json", answer.text
    error: dict[str, Any] = answer.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    return error


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/admin/keys"),
        ("POST", "/admin/keys"),
        ("GET", "/admin/keys/x"),
        ("DELETE", "/admin/keys/x"),
    ],
)
def test_no_key_is_401_and_a_user_key_is_403(
    gateway: GatewayProcess, method: str, path: str
) -> None:
    anonymous = _call(gateway, method, path, key=None, json={"name": "x"})
    assert anonymous.status_code == 401 and _error(anonymous)["type"] == "authentication_error"
    wrong = _call(gateway, method, path, key="pk-wrong", json={"name": "x"})
    assert wrong.status_code == 401
    user = _call(gateway, method, path, key="sk-ops-user", json={"name": "x"})
    assert user.status_code == 403
    assert _error(user)["code"] == "admin_required"


def test_create_read_use_and_revoke_a_key(gateway: GatewayProcess) -> None:
    spec = {
        "name": "api-made",
        "tenant": "t1",
        "models": ["cheap"],
        "routes": ["parity/auto"],
        "daily_usd": 2.5,
        "rpm": 10,
        "expires_in_s": 3600,
    }
    made = _call(gateway, "POST", "/admin/keys", json=spec)
    assert made.status_code == 201, made.text
    info = made.json()
    secret = info.pop("key")
    assert secret.startswith("pk-") and info["status"] == "active"
    assert {k: info[k] for k in spec if k != "expires_in_s"} == {
        k: v for k, v in spec.items() if k != "expires_in_s"
    }
    assert info["expires_at"] is not None
    assert "digest" not in info and info["prefix"] == secret[:11]

    # Made through this replica's admin API: usable at once, no refresh needed.
    chat = httpx.post(
        f"{gateway.v1}/chat/completions",
        json=HELLO,
        trust_env=False,
        headers={"authorization": f"Bearer {secret}"},
        timeout=30,
    )
    assert chat.status_code == 200, chat.text

    one = _call(gateway, "GET", "/admin/keys/api-made")
    assert one.status_code == 200 and one.json() == info
    listing = _call(gateway, "GET", "/admin/keys").json()
    assert listing["object"] == "list"
    assert info in listing["data"]
    assert secret not in str(listing)

    gone = _call(gateway, "DELETE", "/admin/keys/api-made")
    assert gone.status_code == 200 and gone.json()["status"] == "revoked"
    assert _call(gateway, "DELETE", "/admin/keys/api-made").json()["status"] == "revoked"
    refused = httpx.post(
        f"{gateway.v1}/chat/completions",
        json=HELLO,
        trust_env=False,
        headers={"authorization": f"Bearer {secret}"},
        timeout=30,
    )
    assert refused.status_code == 401


def test_a_stored_admin_key_may_use_the_admin_api(gateway: GatewayProcess) -> None:
    made = _call(gateway, "POST", "/admin/keys", json={"name": "second-admin", "admin": True})
    assert made.status_code == 201
    listing = _call(gateway, "GET", "/admin/keys", key=made.json()["key"])
    assert listing.status_code == 200
    assert "second-admin" in {k["name"] for k in listing.json()["data"]}


@pytest.mark.parametrize(
    ("body", "status", "code_or_param"),
    [
        (b'{"name": "dup"}', 409, "key_exists"),
        (b'{"name": "admin"}', 409, "key_exists"),
        (b'{"name": "ops"}', 409, "key_exists"),
        (b'{"name": "x", "colour": "red"}', 400, "colour"),
        (b'{"name": "x", "models": ["nope"]}', 400, "models"),
        (b'{"name": "x", "routes": ["parity/none"]}', 400, "routes"),
        (b'{"name": "x", "rpm": 3000000000}', 400, "rpm"),
        (b'{"name": "x", "rpm": 99999999999999999999999}', 400, None),
        (b'{"name": "x", "daily_usd": 1e999}', 400, None),
        (b'{"name": "x", "expires_in_s": 1e300}', 400, "expires_in_s"),
        (b'{"name": "x", "tenant": "a\\u0000b"}', 400, "tenant"),
        (b'{"name": "../../etc/passwd"}', 400, "invalid_key_name"),
        (b"{\"name\": \"x' OR '1'='1\"}", 400, "invalid_key_name"),
        (b'{"name": 7}', 400, "name"),
        (b'["name"]', 400, None),
        (b'{"name": ', 400, None),
        (b"\xff\xfe", 400, None),
        (b"[" * 5000 + b"]" * 5000, 400, None),
    ],
)
def test_bad_create_bodies_are_clean_4xx_errors(
    gateway: GatewayProcess, body: bytes, status: int, code_or_param: str | None
) -> None:
    _call(gateway, "POST", "/admin/keys", json={"name": "dup"})
    answer = _call(
        gateway, "POST", "/admin/keys", content=body, headers={"content-type": "application/json"}
    )
    assert answer.status_code == status, answer.text
    error = _error(answer)
    if code_or_param is not None:
        assert code_or_param in (error["code"], error["param"])


def test_an_oversized_body_is_413(gateway: GatewayProcess) -> None:
    answer = _call(gateway, "POST", "/admin/keys", content=b'{"name": "' + b"a" * 70_000 + b'"}')
    assert answer.status_code == 413 and _error(answer)["type"] == "invalid_request_error"


PROBES = [
    "/admin/keys/..%2F..%2Fetc%2Fpasswd",
    "/admin/keys/%2e%2e",
    "/admin/keys/%252e%252e%252fetc",
    "/admin/keys/a%00b",
    "/admin/keys/x'%20OR%20'1'='1",
    "/admin/keys/x%3BDROP%20TABLE%20api_keys",
    "/admin/keys/a/b",
    "/admin/keys/",
    "/admin/keys/" + "a" * 65,
    "/admin/keys/%C0%AE%C0%AE",
    "/admin/keys/%ff",
]


@pytest.mark.parametrize("path", PROBES)
@pytest.mark.parametrize("method", ["GET", "DELETE"])
def test_traversal_and_injection_in_names_are_clean_4xx(
    gateway: GatewayProcess, path: str, method: str
) -> None:
    answer = _call(gateway, method, path)
    assert answer.status_code == 400, answer.text
    assert _error(answer)["code"] == "invalid_key_name"
    assert _call(gateway, "GET", "/admin/keys").status_code == 200  # the table is still there


def test_unknown_names_wrong_methods_and_no_admin_key(
    gateway: GatewayProcess, vendor_fake: VendorFake, tmp_path: Path
) -> None:
    missing = _call(gateway, "GET", "/admin/keys/nobody")
    assert missing.status_code == 404 and _error(missing)["code"] == "key_not_found"
    assert _call(gateway, "DELETE", "/admin/keys/nobody").status_code == 404
    assert _call(gateway, "PUT", "/admin/keys/nobody").status_code == 405
    assert _call(gateway, "PATCH", "/admin/keys").status_code == 405

    open_gateway = start_gateway(tmp_path, gateway_config(vendor_fake), env={"FAKE_KEY": "k"})
    try:
        refused = _call(open_gateway, "GET", "/admin/keys", key=None)
        assert refused.status_code == 403
        assert "PARITY_ADMIN_KEY" in _error(refused)["message"]
    finally:
        open_gateway.stop()
