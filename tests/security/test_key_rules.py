"""What a key may reach, and how the Authenticator follows the stored keys, without processes."""

from __future__ import annotations

import asyncio
import hashlib
import time
from pathlib import Path
from typing import Any

import pytest

from parity.config import Settings
from parity.errors import AuthError, PermissionDenied
from parity.gateway.auth import Authenticator
from parity.routing.plan import Caller, RouteRequest
from parity.routing.router import PolicyRouter
from parity.store.factory import open_ledger
from parity.store.keys import KeyStore, StoredKey, mint_secret

MODELS = [
    {"id": m, "provider": "openai", "base_url": "http://127.0.0.1:9/v1", "residency": "on_prem"}
    for m in ("a", "b", "c")
]


def _router(**extra: Any) -> PolicyRouter:
    routes = {
        "parity/auto": {"default": {"route": "a", "fallbacks": ["b", "c"]}},
        "parity/b": {
            "default": "b",
            "shadow": {"to": "c", "share": 1.0},
        },
    }
    return PolicyRouter(Settings.model_validate({"models": MODELS, "routes": routes, **extra}))


def _plan(router: PolicyRouter, model: str, caller: Caller, **headers: str) -> Any:
    return router.plan(RouteRequest(model, {"messages": []}, caller, headers))


def test_forbidden_deployments_leave_the_plan_and_nothing_left_is_403() -> None:
    router = _router()
    only_bc = Caller(key_id="k", models=frozenset({"b", "c"}))
    plan = _plan(router, "parity/auto", only_bc)
    assert plan.models == ("b", "c")
    assert plan.trace["excluded"] == {"a": "not allowed for this API key"}
    assert _plan(router, "parity/b", Caller(models=frozenset({"b"}))).shadow is None
    assert _plan(router, "parity/b", Caller()).shadow == "c"
    assert _plan(router, "b", only_bc).primary == "b"
    with pytest.raises(PermissionDenied) as refused:
        _plan(router, "a", only_bc)
    assert refused.value.code == "model_not_allowed" and refused.value.status == 403
    with pytest.raises(PermissionDenied):
        _plan(router, "parity/auto", Caller(models=frozenset()))
    overrider = Caller(can_override_route=True, models=frozenset({"b"}))
    with pytest.raises(PermissionDenied):
        _plan(router, "parity/auto", overrider, **{"x-parity-route": "a"})


def test_routes_limit_which_aliases_a_key_may_ask_for() -> None:
    router = _router()
    auto_only = Caller(routes=frozenset({"parity/auto"}))
    assert _plan(router, "parity/auto", auto_only).primary == "a"
    assert _plan(router, "c", auto_only).primary == "c"  # models, not routes, limit deployments
    with pytest.raises(PermissionDenied) as refused:
        _plan(router, "parity/b", auto_only)
    assert refused.value.code == "route_not_allowed"


def _stored(name: str, **fields: Any) -> tuple[StoredKey, str]:
    secret, digest, prefix = mint_secret()
    return StoredKey(name=name, digest=digest, prefix=prefix, **fields), secret


def test_the_authenticator_swaps_keys_and_forgets_cached_tokens() -> None:
    settings = Settings.model_validate({"models": MODELS})
    auth = Authenticator(settings, {})
    assert not auth.enabled and auth.caller(None).key_id is None
    alice, alice_secret = _stored("alice", models=("a",), rpm=5, daily_usd=1.0)
    bob, bob_secret = _stored("bob", expires_at=time.time() - 1)
    auth.load([alice, bob])
    assert auth.enabled
    caller = auth.caller(b"Bearer " + alice_secret.encode())
    assert (caller.key_id, caller.models, caller.rpm, caller.daily_usd) == (
        "alice",
        frozenset({"a"}),
        5,
        1.0,
    )
    with pytest.raises(AuthError, match="has expired"):
        auth.caller(None, bob_secret.encode())
    revoked = StoredKey(**{**_fields(alice), "revoked_at": time.time()})
    auth.load([revoked, bob])
    with pytest.raises(AuthError, match="invalid API key"):
        auth.caller(b"Bearer " + alice_secret.encode())  # was cached; the cache went with it
    with pytest.raises(AuthError, match="missing API key"):
        auth.caller(None)


def _fields(key: StoredKey) -> dict[str, Any]:
    return {name: getattr(key, name) for name in StoredKey.__slots__}


def test_the_admin_key_comes_from_the_environment() -> None:
    settings = Settings.model_validate({"models": MODELS, "auth": {"admin_key_env": "MY_ADMIN"}})
    auth = Authenticator(settings, {"MY_ADMIN": "a-long-enough-admin-secret"})
    assert auth.enabled
    admin = auth.caller(b"bearer a-long-enough-admin-secret")
    assert admin.admin and admin.key_id == "admin" and admin.can_override_route


def test_the_authenticator_reads_and_refreshes_a_sqlite_store(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    open_ledger(url).close()
    store = KeyStore(url)
    key, secret = _stored("carol", tenant="t")
    store.create(key)
    settings = Settings.model_validate({"models": MODELS, "auth": {"keys_refresh_s": 0.05}})
    auth = Authenticator(settings, {})

    async def scenario() -> None:
        await auth.start(url)
        try:
            assert auth.caller(None, secret.encode()).tenant == "t"
            await asyncio.to_thread(store.revoke, "carol")
            await asyncio.sleep(0.3)
            with pytest.raises(AuthError):
                auth.caller(None, secret.encode())
        finally:
            await auth.stop()

    asyncio.run(scenario())
    store.close()
    assert hashlib.sha256(secret.encode()).hexdigest() == key.digest
