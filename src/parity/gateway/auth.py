"""Who is calling: keys from the config, the admin key and stored keys, checked by their SHA-256.

Stored keys (``parity keys create``) are re-read every ``auth.keys_refresh_s`` in a worker thread
and swapped in whole on the event loop, so a key revoked on any replica is refused by all of them
within one refresh. The token cache is dropped whenever the set of keys changes.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import time
from collections.abc import Mapping, Sequence

from parity.config import ApiKey, Settings
from parity.errors import AuthError, ParityError
from parity.routing.plan import Caller
from parity.store.keys import KeyStore, StoredKey

__all__ = ["ADMIN_KEY_ID", "Authenticator"]

log = logging.getLogger("parity.gateway")

ADMIN_KEY_ID = "admin"
_ANONYMOUS = Caller()
_CACHE_SIZE = 10_000
_MIN_ADMIN_KEY = 20

# A key: who it is, and when it expires (Unix time; None: never).
_Entry = tuple[Caller, float | None]


def _frozen(names: Sequence[str] | None) -> frozenset[str] | None:
    return None if names is None else frozenset(names)


def _caller(key_id: str, key: ApiKey | StoredKey) -> Caller:
    """The Caller a key makes: config and stored keys carry the same rights and limits."""
    return Caller(
        key_id=key_id,
        tenant=key.tenant,
        admin=key.admin,
        can_override_route=key.can_override_route,
        models=_frozen(key.models),
        routes=_frozen(key.routes),
        rpm=key.rpm,
        tpm=key.tpm,
        daily_usd=key.daily_usd,
        monthly_usd=key.monthly_usd,
    )


def _stored_entry(key: StoredKey) -> _Entry:
    return _caller(key.name, key), key.expires_at


def _config_entries(settings: Settings, env: Mapping[str, str]) -> dict[str, _Entry]:
    """Keys from parity.yaml, and the admin key from the environment, by digest."""
    entries: dict[str, _Entry] = {}
    for key in settings.keys:
        digest = key.digest(env)
        if digest is not None:
            entries[digest] = (_caller(key.id, key), None)
    admin_key = env.get(settings.auth.admin_key_env)
    if admin_key:
        if len(admin_key) < _MIN_ADMIN_KEY:
            log.warning(
                "the admin key in %s is shorter than %d characters; use a long random one",
                settings.auth.admin_key_env,
                _MIN_ADMIN_KEY,
            )
        admin = Caller(
            key_id=ADMIN_KEY_ID, tenant=ADMIN_KEY_ID, admin=True, can_override_route=True
        )
        entries[hashlib.sha256(admin_key.encode()).hexdigest()] = (admin, None)
    return entries


class Authenticator:
    """Maps a bearer token to a Caller. With no key anywhere, everyone is anonymous."""

    def __init__(self, settings: Settings, env: Mapping[str, str]):
        self._settings = settings.auth
        self._static = _config_entries(settings, env)
        self._fixed_enabled = bool(settings.keys) or bool(self._static)
        self._by_digest: dict[str, _Entry] = dict(self._static)
        self._cache: dict[bytes, _Entry] = {}
        self.enabled = self._fixed_enabled
        self.store: KeyStore | None = None
        self._watcher: asyncio.Task[None] | None = None

    def caller_for(self, headers: Mapping[bytes, bytes]) -> Caller:
        """The caller named by a request's Authorization or x-api-key header."""
        return self.caller(headers.get(b"authorization"), headers.get(b"x-api-key"))

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
        entry = self._cache.get(token)
        if entry is None:
            # A dict lookup by digest, not hmac.compare_digest: timing could at most reveal a
            # prefix of a SHA-256 digest, which does not help anyone find a token matching it.
            entry = self._by_digest.get(hashlib.sha256(token).hexdigest())
            if entry is None:
                raise AuthError("invalid API key", code="invalid_api_key")
            if len(self._cache) < _CACHE_SIZE:
                self._cache[token] = entry
        caller, expires_at = entry
        if expires_at is not None and expires_at <= time.time():
            raise AuthError(f"the API key '{caller.key_id}' has expired", code="invalid_api_key")
        return caller

    def load(self, keys: Sequence[StoredKey]) -> None:
        """Swap in the stored keys just read; call on the event loop, never mid-request."""
        table = dict(self._static)
        for key in keys:
            if key.revoked_at is None and key.digest not in table:
                table[key.digest] = _stored_entry(key)
        if table != self._by_digest:
            self._by_digest = table
            self._cache = {}
        # Any stored row, even a revoked one, keeps keys required: revoking the last key
        # must not open the gateway to everyone.
        self.enabled = self._fixed_enabled or bool(keys)

    async def refresh(self) -> None:
        """Re-read the stored keys now (in a thread) and apply them."""
        if self.store is not None:
            self.load(await asyncio.to_thread(self.store.all))

    async def start(self, ledger_url: str) -> None:
        """Read the stored keys of the ledger's database and keep re-reading them."""
        if not self._settings.stored_keys:
            return
        if not ledger_url.startswith(("sqlite:///", "postgresql://", "postgres://")):
            log.warning("stored API keys are off: the ledger %s is not a database", ledger_url)
            return
        self.store = KeyStore(ledger_url)
        await self.refresh()
        self._watcher = asyncio.create_task(self._watch())

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(self._settings.keys_refresh_s)
            try:
                await self.refresh()
            except ParityError as exc:  # keep the keys last read; the database may come back
                log.warning("re-reading the API keys failed: %s", exc.message)

    async def stop(self) -> None:
        """Stop re-reading and release the database connection."""
        if self._watcher is not None:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watcher
        if self.store is not None:
            await asyncio.to_thread(self.store.close)
