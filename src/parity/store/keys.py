"""API keys stored in the ledger database: only a SHA-256 digest and a display prefix per secret."""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from collections.abc import Collection
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from parity.errors import Conflict, InvalidField, NotFound
from parity.store.database import Database, Duplicate

__all__ = [
    "KEY_NAME",
    "MAX_LIFETIME_S",
    "MAX_PER_MINUTE",
    "KeyCreate",
    "KeyStore",
    "StoredKey",
    "check_key_name",
    "check_rights",
    "mint_secret",
]

KEY_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_PREFIX_CHARS = 11  # "pk-" and 8 of the 43 random characters: 48 bits shown, 208 kept secret
MAX_PER_MINUTE = 2**31 - 1  # rpm and tpm are stored as a 32-bit integer
MAX_LIFETIME_S = 100 * 366 * 86400

_COLUMNS = (
    "name, digest, prefix, tenant, models, routes, daily_usd, monthly_usd, rpm, tpm, "
    "can_override_route, admin, created_at, expires_at, revoked_at"
)


def check_key_name(name: str) -> str:
    """``name`` when it is a valid key name; InvalidField otherwise."""
    if not KEY_NAME.fullmatch(name):
        raise InvalidField(
            "a key name is 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit",
            param="name",
            code="invalid_key_name",
        )
    return name


def check_rights(
    models: Collection[str] | None,
    routes: Collection[str] | None,
    *,
    deployments: Collection[str],
    aliases: Collection[str],
    flag: str = "",
) -> None:
    """Refuse models or route aliases that nothing serves; ``flag`` prefixes the field name."""
    for field, wanted, known, what in (
        ("models", models, deployments, "model ids"),
        ("routes", routes, aliases, "route aliases"),
    ):
        unknown = sorted(set(wanted or ()) - set(known))
        if unknown:
            raise InvalidField(
                f"unknown {what} in {flag}{field}: {', '.join(unknown)}", param=field
            )


def mint_secret() -> tuple[str, str, str]:
    """A new secret, its SHA-256 hex digest and its display prefix."""
    secret = "pk-" + secrets.token_urlsafe(32)
    return secret, hashlib.sha256(secret.encode()).hexdigest(), secret[:_PREFIX_CHARS]


def _iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _names(value: str | None) -> tuple[str, ...] | None:
    return None if value is None else tuple(orjson.loads(value))


@dataclass(slots=True, frozen=True)
class StoredKey:
    """One row of ``api_keys``: what a key may do, never the secret."""

    name: str
    digest: str
    prefix: str
    tenant: str = "default"
    models: tuple[str, ...] | None = None
    routes: tuple[str, ...] | None = None
    daily_usd: float | None = None
    monthly_usd: float | None = None
    rpm: int | None = None
    tpm: int | None = None
    can_override_route: bool = False
    admin: bool = False
    created_at: float = 0.0
    expires_at: float | None = None
    revoked_at: float | None = None

    def status(self, now: float) -> str:
        """'active', 'revoked' or 'expired'."""
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= now:
            return "expired"
        return "active"

    def info(self, now: float) -> dict[str, Any]:
        """The public view (CLI --json, admin API): everything but the digest."""
        return {
            "object": "api_key",
            "name": self.name,
            "prefix": self.prefix,
            "tenant": self.tenant,
            "models": None if self.models is None else list(self.models),
            "routes": None if self.routes is None else list(self.routes),
            "daily_usd": self.daily_usd,
            "monthly_usd": self.monthly_usd,
            "rpm": self.rpm,
            "tpm": self.tpm,
            "can_override_route": self.can_override_route,
            "admin": self.admin,
            "created_at": _iso(self.created_at),
            "expires_at": _iso(self.expires_at),
            "revoked_at": _iso(self.revoked_at),
            "status": self.status(now),
        }

    def _params(self) -> tuple[Any, ...]:
        return (
            self.name,
            self.digest,
            self.prefix,
            self.tenant,
            None if self.models is None else orjson.dumps(list(self.models)).decode(),
            None if self.routes is None else orjson.dumps(list(self.routes)).decode(),
            self.daily_usd,
            self.monthly_usd,
            self.rpm,
            self.tpm,
            int(self.can_override_route),
            int(self.admin),
            self.created_at,
            self.expires_at,
            self.revoked_at,
        )

    @classmethod
    def _from_row(cls, row: tuple[Any, ...]) -> StoredKey:
        (name, digest, prefix, tenant, models, routes, daily, monthly, rpm, tpm) = row[:10]
        override, admin, created, expires, revoked = row[10:]
        return cls(
            name=name,
            digest=digest,
            prefix=prefix,
            tenant=tenant,
            models=_names(models),
            routes=_names(routes),
            daily_usd=daily,
            monthly_usd=monthly,
            rpm=rpm,
            tpm=tpm,
            can_override_route=bool(override),
            admin=bool(admin),
            created_at=float(created),
            expires_at=expires,
            revoked_at=revoked,
        )


class KeyCreate(BaseModel):
    """A key to create: the body of POST /admin/keys, and what ``parity keys create`` builds."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    name: str = Field(max_length=64, description="The key's name (its ledger key_id).")
    tenant: str = Field("default", pattern=r"^[^\x00-\x1f\x7f]{1,64}$", description="Tenant.")
    models: list[str] | None = Field(None, max_length=1000, description="Allowed deployments.")
    routes: list[str] | None = Field(None, max_length=1000, description="Allowed route aliases.")
    daily_usd: float | None = Field(None, ge=0, description="Spend limit per UTC day.")
    monthly_usd: float | None = Field(None, ge=0, description="Spend limit per UTC month.")
    rpm: int | None = Field(None, ge=1, le=MAX_PER_MINUTE, description="Requests per minute.")
    tpm: int | None = Field(None, ge=1, le=MAX_PER_MINUTE, description="Tokens per minute.")
    can_override_route: bool = Field(False, description="May use x-parity-route.")
    admin: bool = Field(False, description="May use the admin API and the dashboard.")
    expires_in_s: float | None = Field(
        None, gt=0, le=MAX_LIFETIME_S, description="Seconds until the key expires."
    )

    @classmethod
    def of(cls, data: dict[str, Any]) -> KeyCreate:
        """Validate ``data``; the first problem becomes an InvalidField naming its field."""
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(part) for part in first["loc"]) or None
            raise InvalidField(f"{where}: {first['msg']}", param=where) from exc

    def mint(self, now: float) -> tuple[StoredKey, str]:
        """The key to store, its name checked, and its secret: shown once, never stored."""
        secret, digest, prefix = mint_secret()
        key = StoredKey(
            name=check_key_name(self.name),
            digest=digest,
            prefix=prefix,
            tenant=self.tenant,
            models=None if self.models is None else tuple(dict.fromkeys(self.models)),
            routes=None if self.routes is None else tuple(dict.fromkeys(self.routes)),
            daily_usd=self.daily_usd,
            monthly_usd=self.monthly_usd,
            rpm=self.rpm,
            tpm=self.tpm,
            can_override_route=self.can_override_route,
            admin=self.admin,
            expires_at=now + self.expires_in_s if self.expires_in_s else None,
        )
        return key, secret


class KeyStore:
    """Create, read and revoke stored keys. Blocking: call it from a thread, not the event loop."""

    def __init__(self, url: str):
        self.url = url
        self._db = Database(url)

    def create(self, key: StoredKey) -> StoredKey:
        """Insert ``key`` (its created_at set now); Conflict when the name is taken."""
        key = replace(key, name=check_key_name(key.name), created_at=time.time())
        placeholders = ", ".join("?" for _ in key._params())
        try:
            self._db.run(
                f"INSERT INTO api_keys ({_COLUMNS}) VALUES ({placeholders})", key._params()
            )
        except Duplicate as exc:
            raise Conflict(
                f"a key named '{key.name}' exists already (names are never reused)",
                param="name",
                code="key_exists",
            ) from exc
        return key

    def get(self, name: str) -> StoredKey:
        """The key called ``name``; NotFound when there is none."""
        rows = self._db.run(f"SELECT {_COLUMNS} FROM api_keys WHERE name = ?", (name,))
        if not rows:
            raise NotFound(f"no API key named '{name}'", param="name", code="key_not_found")
        return StoredKey._from_row(rows[0])

    def all(self) -> list[StoredKey]:
        """Every key, revoked and expired ones included, oldest first."""
        rows = self._db.run(f"SELECT {_COLUMNS} FROM api_keys ORDER BY created_at, name")
        return [StoredKey._from_row(row) for row in rows]

    def revoke(self, name: str) -> StoredKey:
        """Mark the key revoked (a second revoke keeps the first time); NotFound if unknown."""
        self._db.run(
            "UPDATE api_keys SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL",
            (time.time(), name),
        )
        return self.get(name)

    def delete(self, name: str) -> StoredKey:
        """Remove the key's row for good (the key as it was); NotFound if unknown.

        A revoked row keeps the gateway closed; deleting the last row (with no config key
        and no admin key) opens it again. The ledger's rows keep the name as their key_id.
        """
        key = self.get(name)
        self._db.run("DELETE FROM api_keys WHERE name = ?", (name,))
        return key

    def close(self) -> None:
        """Release the connection."""
        self._db.close()
