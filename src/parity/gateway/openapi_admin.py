"""The admin API's part of the OpenAPI document (see docs/keys.md for the same shapes)."""

from __future__ import annotations

from typing import Any

from parity.gateway.openapi_schemas import error_responses, json_content
from parity.store.keys import KEY_NAME, MAX_LIFETIME_S, MAX_PER_MINUTE

__all__ = ["ADMIN_OPERATIONS", "KEY_NAME_PATTERN", "admin_schemas"]

KEY_NAME_PATTERN = f"^{KEY_NAME.pattern}$"

Schema = dict[str, Any]

_ADMIN: list[dict[str, list[str]]] = [{"bearer": []}, {"x-api-key": []}]


def _nullable(schema: Schema) -> Schema:
    return {**schema, "nullable": True}


def _names(known: list[str]) -> Schema:
    items: Schema = {"type": "string", "enum": known} if known else {"type": "string"}
    return _nullable({"type": "array", "items": items, "maxItems": 1000})


def _fields(deployments: list[str], aliases: list[str]) -> dict[str, Schema]:
    return {
        "tenant": {"type": "string", "pattern": "^[^\\x00-\\x1f\\x7f]{1,64}$"},
        "models": _names(deployments),
        "routes": _names(aliases),
        "daily_usd": _nullable({"type": "number", "minimum": 0}),
        "monthly_usd": _nullable({"type": "number", "minimum": 0}),
        "rpm": _nullable({"type": "integer", "minimum": 1, "maximum": MAX_PER_MINUTE}),
        "tpm": _nullable({"type": "integer", "minimum": 1, "maximum": MAX_PER_MINUTE}),
        "can_override_route": {"type": "boolean"},
        "admin": {"type": "boolean"},
    }


def admin_schemas(deployments: list[str], aliases: list[str]) -> dict[str, Schema]:
    """ApiKeyCreate, ApiKeyInfo, ApiKeyCreated and ApiKeyList.

    A new key may only name configured deployments and route aliases (anything else is a 400),
    so ``models`` and ``routes`` are enums of them.
    """
    name = {"type": "string", "pattern": KEY_NAME_PATTERN}
    when = _nullable({"type": "string", "format": "date-time"})
    info = {
        "type": "object",
        "required": ["object", "name", "prefix", "tenant", "status"],
        "properties": {
            "object": {"type": "string", "enum": ["api_key"]},
            "name": name,
            "prefix": {"type": "string"},
            **_fields([], []),
            "created_at": when,
            "expires_at": when,
            "revoked_at": when,
            "status": {"type": "string", "enum": ["active", "revoked", "expired"]},
        },
    }
    created = {"allOf": [info, {"type": "object", "properties": {"key": {"type": "string"}}}]}
    create = {
        "type": "object",
        "required": ["name"],
        "additionalProperties": False,
        "properties": {
            "name": name,
            **_fields(deployments, aliases),
            "expires_in_s": _nullable(
                {
                    "type": "number",
                    "exclusiveMinimum": True,
                    "minimum": 0,
                    "maximum": MAX_LIFETIME_S,
                }
            ),
        },
    }
    listing = {
        "type": "object",
        "required": ["object", "data"],
        "properties": {
            "object": {"type": "string", "enum": ["list"]},
            "data": {"type": "array", "items": {"$ref": "#/components/schemas/ApiKeyInfo"}},
        },
    }
    return {
        "ApiKeyCreate": create,
        "ApiKeyInfo": info,
        "ApiKeyCreated": created,
        "ApiKeyList": listing,
    }


def _operation(operation_id: str, summary: str, ok: tuple[str, str, str], *errs: int) -> Schema:
    status, description, schema = ok
    success = {status: {"description": description, **json_content(schema)}}
    return {
        "operationId": operation_id,
        "summary": summary,
        "tags": ["admin"],
        "security": _ADMIN,
        "responses": success | error_responses(*errs),
    }


def _operations() -> dict[tuple[str, str], Schema]:
    name = {
        "name": "name",
        "in": "path",
        "required": True,
        "schema": {"type": "string", "pattern": KEY_NAME_PATTERN},
    }
    created = ("201", "Created; the secret is shown only here.", "ApiKeyCreated")
    create = _operation("createKey", "Create a key.", created, 400, 401, 403, 409, 413)
    create["requestBody"] = {"required": True, **json_content("ApiKeyCreate")}
    read = _operation("getKey", "One key.", ("200", "The key.", "ApiKeyInfo"), 400, 401, 403, 404)
    revoked = ("200", "The key, revoked.", "ApiKeyInfo")
    revoke = _operation("revokeKey", "Revoke a key.", revoked, 400, 401, 403, 404)
    read["parameters"] = revoke["parameters"] = [name]
    listing = _operation("listKeys", "Every key.", ("200", "The keys.", "ApiKeyList"), 401, 403)
    return {
        ("/admin/keys", "GET"): listing,
        ("/admin/keys", "POST"): create,
        ("/admin/keys/{name}", "GET"): read,
        ("/admin/keys/{name}", "DELETE"): revoke,
    }


ADMIN_OPERATIONS = _operations()
"""The admin operations by (path template, method)."""
