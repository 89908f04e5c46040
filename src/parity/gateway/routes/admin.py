"""The admin API for stored keys: GET/POST /admin/keys, GET/DELETE /admin/keys/{name}.

Only admin callers get in (401 without a key, 403 with a key that is not an admin). Names in
paths are checked against one pattern before anything else reads them, and every statement is
parameterised; every failure is an OpenAI-style error body. See docs/keys.md for the shapes.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import orjson

from parity.errors import (
    Conflict,
    InvalidField,
    InvalidJSON,
    NotFound,
    PermissionDenied,
)
from parity.gateway.asgi import Receive, Scope, Send, read_body
from parity.gateway.runtime import Runtime
from parity.gateway.serving.replies import answer
from parity.routing.plan import Caller
from parity.store.keys import KeyCreate, KeyStore, StoredKey, check_key_name, check_rights

__all__ = ["KEYS_PATH", "AdminKeys", "KeyCreate"]

KEYS_PATH = "/admin/keys"
_BODY_LIMIT = 64 * 1024


def _parse(raw: bytes) -> KeyCreate:
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidJSON(f"the body is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise InvalidField("the body must be a JSON object")
    return KeyCreate.of(data)


class AdminKeys:
    """Handlers for the key endpoints; one instance per gateway."""

    def __init__(self, runtime: Runtime):
        self.rt = runtime

    def _admin(self, scope: Scope) -> Caller:
        caller = self.rt.auth.caller_for(dict(scope["headers"]))
        if not caller.admin:
            who = f"the key '{caller.key_id}' is not an admin key"
            if caller.key_id is None:
                env = self.rt.settings.auth.admin_key_env
                who = f"none is configured: set {env}, or run 'parity keys create NAME --admin'"
            raise PermissionDenied(
                f"the admin API needs an admin key; {who}", code="admin_required"
            )
        return caller

    def _store(self) -> KeyStore:
        store = self.rt.auth.store
        if store is None:
            raise NotFound(
                "stored keys are off here (auth.stored_keys is false, or the ledger is not a "
                "database)",
                code="stored_keys_off",
            )
        return store

    async def collection(
        self, scope: Scope, receive: Receive, send: Send, request_id: str, started: float
    ) -> None:
        """GET and POST /admin/keys."""
        await answer(send, request_id, self._collection(scope, receive))

    async def item(
        self, scope: Scope, receive: Receive, send: Send, request_id: str, started: float
    ) -> None:
        """GET and DELETE /admin/keys/{name}."""
        await answer(send, request_id, self._item(scope))

    async def _collection(self, scope: Scope, receive: Receive) -> tuple[int, Any]:
        self._admin(scope)
        store = self._store()
        if scope["method"] == "GET":
            keys = await asyncio.to_thread(store.all)
            now = time.time()
            return 200, {"object": "list", "data": [key.info(now) for key in keys]}
        headers: dict[bytes, bytes] = dict(scope["headers"])
        timeout = self.rt.settings.server.body_timeout_s
        spec = _parse(await read_body(receive, headers, _BODY_LIMIT, timeout))
        key, secret = await asyncio.to_thread(self._create, store, spec)
        await self.rt.auth.refresh()
        return 201, {**key.info(time.time()), "key": secret}

    async def _item(self, scope: Scope) -> tuple[int, Any]:
        self._admin(scope)
        name = check_key_name(scope["path"][len(KEYS_PATH) + 1 :])
        store = self._store()
        if scope["method"] == "GET":
            key = await asyncio.to_thread(store.get, name)
        else:
            key = await asyncio.to_thread(store.revoke, name)
            await self.rt.auth.refresh()
        return 200, key.info(time.time())

    def _create(self, store: KeyStore, spec: KeyCreate) -> tuple[StoredKey, str]:
        key, secret = spec.mint(time.time())
        self._check_names(key.name, spec)
        return store.create(key), secret

    def _check_names(self, name: str, spec: KeyCreate) -> None:
        taken = {k.id for k in self.rt.settings.keys} | {"admin"}
        if name in taken:
            raise Conflict(
                f"the name '{name}' is taken by a config key or the admin key",
                param="name",
                code="key_exists",
            )
        aliases = set(self.rt.router.names) - set(self.rt.deployments)
        check_rights(spec.models, spec.routes, deployments=self.rt.deployments, aliases=aliases)
