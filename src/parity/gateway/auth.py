"""Who is calling: API keys from the config, checked by their SHA-256."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

from parity.config import Settings
from parity.errors import AuthError
from parity.routing.plan import Caller

__all__ = ["Authenticator"]

_ANONYMOUS = Caller()


class Authenticator:
    """Maps a bearer token to a Caller. With no keys configured, everyone is anonymous."""

    def __init__(self, settings: Settings, env: Mapping[str, str]):
        self._by_digest: dict[str, Caller] = {}
        for key in settings.keys:
            digest = key.digest(env)
            if digest is None:
                continue
            self._by_digest[digest] = Caller(
                key_id=key.id,
                tenant=key.tenant,
                admin=key.admin,
                can_override_route=key.can_override_route,
            )
        self.enabled = bool(settings.keys)
        self._cache: dict[bytes, Caller] = {}

    def caller(self, authorization: bytes | None, api_key: bytes | None = None) -> Caller:
        """The caller for an Authorization (or x-api-key) header; AuthError when refused."""
        if not self.enabled:
            return _ANONYMOUS
        token = None
        if authorization and authorization[:7].lower() == b"bearer ":
            token = authorization[7:].strip()
        elif api_key:
            token = api_key.strip()
        if not token:
            raise AuthError(
                "missing API key: send 'Authorization: Bearer KEY'", code="invalid_api_key"
            )
        cached = self._cache.get(token)
        if cached is not None:
            return cached
        found = self._by_digest.get(hashlib.sha256(token).hexdigest())
        if found is None:
            raise AuthError("invalid API key", code="invalid_api_key")
        if len(self._cache) < 10_000:
            self._cache[token] = found
        return found
