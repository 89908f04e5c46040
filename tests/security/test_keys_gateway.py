"""Stored keys in a real gateway: made and revoked with the CLI, used with the openai SDK."""

from __future__ import annotations

import time
from typing import Any

import httpx
import openai
import pytest

from tests.conftest import GatewayFactory
from tests.fakes.fixtures import VendorFake
from tests.security.common import (
    ADMIN_KEY,
    GATEWAY_ENV,
    create_key,
    eventually,
    gateway_config,
    parity,
    unique,
)
from tests.servers import wait_for_rows

HELLO = [{"role": "user", "content": "hello"}]


def _ask(url: str, key: str, model: str = "cheap") -> Any:
    """One chat call with the openai SDK; its raw response (headers and all)."""
    with openai.OpenAI(base_url=url, api_key=key, max_retries=0) as client:
        return client.chat.completions.with_raw_response.create(
            model=model,
            messages=HELLO,  # type: ignore[arg-type]
        )


def _works(url: str, key: str, model: str = "cheap") -> bool:
    try:
        _ask(url, key, model)
    except openai.AuthenticationError:
        return False
    return True


def _refused(url: str, key: str) -> bool:
    return not _works(url, key)


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_a_key_made_with_the_cli_works_and_stops_within_the_refresh_after_revoke(
    backend: str,
    request: pytest.FixtureRequest,
    vendor: VendorFake,
    gateway_factory: GatewayFactory,
) -> None:
    # A database of its own: the keys stored here would close every other test's gateway.
    ledger = request.getfixturevalue("fresh_postgres_url") if backend == "postgres" else None
    gateway = gateway_factory(gateway_config(vendor, ledger), env=GATEWAY_ENV)
    name = unique("alice")
    secret = create_key(gateway.ledger_url, name, "--tenant", "team-a")["key"]
    eventually(lambda: _works(gateway.v1, secret))
    answer = _ask(gateway.v1, secret)
    request_id = answer.headers["x-parity-request-id"]
    row = wait_for_rows(gateway.ledger_url, {request_id})[request_id]
    assert (row.key_id, row.tenant) == (name, "team-a")

    done = parity("keys", "revoke", name, "--ledger", gateway.ledger_url)
    assert done.returncode == 0, done.stderr
    waited = eventually(lambda: _refused(gateway.v1, secret), timeout=5)
    assert waited < 5
    with pytest.raises(openai.AuthenticationError) as refused:
        _ask(gateway.v1, secret)
    assert refused.value.status_code == 401
    assert refused.value.body["code"] == "invalid_api_key"  # type: ignore[index]
    assert _works(gateway.v1, ADMIN_KEY)


def test_an_open_gateway_requires_keys_once_one_is_stored_and_keys_expire(
    vendor: VendorFake, gateway_factory: GatewayFactory
) -> None:
    gateway = gateway_factory(gateway_config(vendor), env={"FAKE_KEY": "sk-fake"})
    assert _works(gateway.v1, "anything")
    secret = create_key(gateway.ledger_url, "short-lived", "--expires", "3s")["key"]
    eventually(lambda: _refused(gateway.v1, "anything"))
    assert _works(gateway.v1, secret)
    eventually(lambda: _refused(gateway.v1, secret), timeout=6)
    status = httpx.post(
        f"{gateway.v1}/chat/completions",
        json={"model": "cheap", "messages": HELLO},
        headers={"authorization": f"Bearer {secret}"},
        trust_env=False,
    )
    assert status.status_code == 401 and "has expired" in status.json()["error"]["message"]
    assert parity("keys", "revoke", "short-lived", "--ledger", gateway.ledger_url).returncode == 0
    eventually(lambda: _refused(gateway.v1, "anything"))  # revoking the last key keeps keys on


def test_revoking_the_last_key_says_how_back_and_deleting_it_opens_the_gateway(
    vendor: VendorFake, gateway_factory: GatewayFactory
) -> None:
    # The README's path: an open gateway, keys create, keys revoke, then the quick start again.
    gateway = gateway_factory(gateway_config(vendor), env={"FAKE_KEY": "sk-fake"})
    url = gateway.ledger_url
    secret = create_key(url, "only-one")["key"]
    eventually(lambda: _refused(gateway.v1, "unused-without-keys"))
    assert _works(gateway.v1, secret)
    revoked = parity("keys", "revoke", "only-one", "--ledger", url)
    assert revoked.returncode == 0, revoked.stderr
    assert "parity keys delete NAME" in revoked.stderr  # the way back, said where it is needed
    eventually(lambda: _refused(gateway.v1, secret))
    assert _refused(gateway.v1, "unused-without-keys")  # a revoke never opens the gateway
    deleted = parity("keys", "delete", "only-one", "--ledger", url)
    assert deleted.returncode == 0, deleted.stderr
    assert "no stored key is left" in deleted.stderr
    waited = eventually(lambda: _works(gateway.v1, "unused-without-keys"), timeout=5)
    assert waited < 5
    assert _works(gateway.v1, secret)  # open: any caller, the deleted key's holder too
    again = parity("keys", "delete", "only-one", "--ledger", url)
    assert again.returncode == 1 and "no API key named 'only-one'" in again.stderr
    assert create_key(url, "only-one")["name"] == "only-one"  # a deleted name may be used again
    eventually(lambda: _refused(gateway.v1, "unused-without-keys"))


def test_deleting_one_of_two_keys_keeps_keys_required(
    vendor: VendorFake, gateway_factory: GatewayFactory
) -> None:
    gateway = gateway_factory(gateway_config(vendor), env={"FAKE_KEY": "sk-fake"})
    first = create_key(gateway.ledger_url, "first")["key"]
    create_key(gateway.ledger_url, "second")
    eventually(lambda: _works(gateway.v1, first))
    deleted = parity("keys", "delete", "second", "--ledger", gateway.ledger_url, "--json")
    assert deleted.returncode == 0, deleted.stderr
    assert '"stored_keys_left": 1' in deleted.stdout
    time.sleep(0.5)  # over two refreshes (auth.keys_refresh_s is 0.2 s here)
    assert _refused(gateway.v1, "unused-without-keys") and _works(gateway.v1, first)


def _chat(url: str, key: str, model: str) -> httpx.Response:
    return httpx.post(
        f"{url}/v1/chat/completions",
        json={"model": model, "messages": HELLO},
        headers={"authorization": f"Bearer {key}"},
        trust_env=False,
        timeout=30,
    )


def _error(answer: httpx.Response) -> dict[str, Any]:
    assert answer.headers["content-type"] == "application/json"
    error: dict[str, Any] = answer.json()["error"]
    return error


def test_allowed_models_and_routes_are_enforced(
    vendor: VendorFake, gateway_factory: GatewayFactory
) -> None:
    gateway = gateway_factory(gateway_config(vendor), env=GATEWAY_ENV)
    cheap_only = create_key(gateway.ledger_url, "cheap-only", "--models", "cheap")["key"]
    pricey_only = create_key(gateway.ledger_url, "pricey-only", "--models", "pricey")["key"]
    auto_only = create_key(gateway.ledger_url, "auto-only", "--routes", "parity/auto")["key"]
    eventually(lambda: _chat(gateway.url, auto_only, "cheap").status_code == 200)

    assert _chat(gateway.url, cheap_only, "cheap").status_code == 200
    forbidden = _chat(gateway.url, cheap_only, "pricey")
    assert forbidden.status_code == 403
    assert _error(forbidden)["code"] == "model_not_allowed"
    assert _error(forbidden)["type"] == "permission_error"
    # parity/auto tries cheap, then pricey: each key keeps only what it may use.
    auto = _chat(gateway.url, cheap_only, "parity/auto")
    assert auto.status_code == 200 and auto.headers["x-parity-route"] == "default: cheap"
    auto = _chat(gateway.url, pricey_only, "parity/auto")
    assert auto.status_code == 200 and auto.headers["x-parity-model"] == "pricey"
    assert auto.headers["x-parity-route"] == "default: pricey"
    # parity/pricey reaches only pricey: nothing is left for cheap-only.
    nothing = _chat(gateway.url, cheap_only, "parity/pricey")
    assert nothing.status_code == 403 and _error(nothing)["code"] == "model_not_allowed"

    # The model list shows each key what it may name, with the openai SDK as a user would.
    def listed(key: str) -> set[str]:
        with openai.OpenAI(base_url=gateway.v1, api_key=key, max_retries=0) as client:
            return {model.id for model in client.models.list()}

    assert listed(cheap_only) == {"cheap", "parity/auto", "parity/pricey"}
    assert listed(auto_only) == {"cheap", "pricey", "parity/auto"}
    assert listed(ADMIN_KEY) == {"cheap", "pricey", "parity/auto", "parity/pricey"}
    with pytest.raises(openai.AuthenticationError):
        listed("pk-nobody")
    anonymous = httpx.get(f"{gateway.v1}/models", trust_env=False)
    assert anonymous.status_code == 401 and _error(anonymous)["code"] == "invalid_api_key"

    assert _chat(gateway.url, auto_only, "parity/auto").status_code == 200
    route = _chat(gateway.url, auto_only, "parity/pricey")
    assert route.status_code == 403 and _error(route)["code"] == "route_not_allowed"
    with pytest.raises(openai.PermissionDeniedError):
        _ask(gateway.v1, auto_only, "parity/pricey")


def test_config_keys_carry_the_same_limits(
    vendor: VendorFake, gateway_factory: GatewayFactory
) -> None:
    keys = [{"id": "yaml-cheap", "key_env": "YAML_KEY", "models": ["cheap"], "rpm": 5}]
    config = gateway_config(vendor, keys=keys)
    gateway = gateway_factory(config, env={**GATEWAY_ENV, "YAML_KEY": "sk-yaml-cheap"})
    assert _chat(gateway.url, "sk-yaml-cheap", "cheap").status_code == 200
    refused = _chat(gateway.url, "sk-yaml-cheap", "pricey")
    assert refused.status_code == 403 and _error(refused)["code"] == "model_not_allowed"


def test_the_dashboard_takes_the_admin_key_and_stored_admin_keys(
    vendor: VendorFake, gateway_factory: GatewayFactory
) -> None:
    gateway = gateway_factory(gateway_config(vendor), env=GATEWAY_ENV)
    user = create_key(gateway.ledger_url, "ui-user")["key"]
    admin = create_key(gateway.ledger_url, "ui-admin", "--admin")["key"]

    def page(key: str) -> int:
        headers = {"authorization": f"Bearer {key}"}
        return httpx.get(f"{gateway.url}/ui/", headers=headers, trust_env=False).status_code

    eventually(lambda: page(admin) == 200)
    assert page(ADMIN_KEY) == 200
    assert page(user) == 403
    assert page("pk-nobody") == 401
    assert parity("keys", "revoke", "ui-admin", "--ledger", gateway.ledger_url).returncode == 0
    eventually(lambda: page(admin) == 401, timeout=5)
