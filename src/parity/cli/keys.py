"""parity keys create | list | revoke | delete: API keys stored in the ledger database."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from parity.cli.ledger_opts import ConfigOpt, LedgerOpt, span_seconds
from parity.cli.output import emit, print_json, table
from parity.config import AUTO_ROUTE, Settings, load_settings
from parity.errors import Conflict, InvalidField
from parity.store.factory import open_ledger
from parity.store.keys import (
    MAX_PER_MINUTE,
    KeyCreate,
    KeyStore,
    StoredKey,
    check_key_name,
    check_rights,
)

__all__ = ["parse_duration", "register"]


_MOST = MAX_PER_MINUTE
JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]


def parse_duration(value: str) -> float:
    """Seconds in '90s', '15m', '12h' or '30d'."""
    seconds = span_seconds(value)
    if seconds is None or seconds <= 0:
        raise InvalidField(f"--expires must look like 90m, 12h or 30d, got {value!r}")
    return seconds


def _names(value: str | None) -> list[str] | None:
    if value is None:
        return None
    return [part.strip() for part in value.split(",") if part.strip()]


def _open(config: Path | None, ledger: str | None) -> tuple[KeyStore, Settings | None]:
    """The key store of the ledger named by --ledger or the config, migrated first."""
    settings = load_settings(config) if config is not None else None
    url = ledger or (settings or load_settings(None)).ledger.url
    open_ledger(url).close()  # applies pending migrations, so the api_keys table exists
    return KeyStore(url), settings


def _check_against(settings: Settings, key: StoredKey) -> None:
    """Refuse names and models the config cannot serve (only when a config was given)."""
    if key.name in {k.id for k in settings.keys}:
        raise Conflict(f"the config already has a key named '{key.name}'", code="key_exists")
    deployments = {m.id for m in settings.models}
    aliases = set(settings.routes) | {AUTO_ROUTE}
    check_rights(key.models, key.routes, deployments=deployments, aliases=aliases, flag="--")


def create(
    name: Annotated[str, typer.Argument(help="The key's name; its key_id in the ledger.")],
    tenant: Annotated[str, typer.Option(help="Tenant that budgets group by.")] = "default",
    models: Annotated[
        str | None, typer.Option(help="Comma-separated deployment ids that may serve it.")
    ] = None,
    routes: Annotated[
        str | None, typer.Option(help="Comma-separated route aliases it may ask for.")
    ] = None,
    daily_usd: Annotated[float | None, typer.Option(min=0, help="USD per UTC day.")] = None,
    monthly_usd: Annotated[float | None, typer.Option(min=0, help="USD per UTC month.")] = None,
    rpm: Annotated[int | None, typer.Option(min=1, max=_MOST, help="Requests/minute.")] = None,
    tpm: Annotated[int | None, typer.Option(min=1, max=_MOST, help="Tokens/minute.")] = None,
    can_override_route: Annotated[
        bool, typer.Option("--can-override-route", help="May use x-parity-route.")
    ] = False,
    admin: Annotated[bool, typer.Option("--admin", help="May use /admin and /ui.")] = False,
    expires: Annotated[str | None, typer.Option(help="Lifetime: 90m, 12h, 30d.")] = None,
    config: ConfigOpt = None,
    ledger: LedgerOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Create a key and print its secret, once: only its SHA-256 is stored."""
    if check_key_name(name) == "admin":
        raise Conflict("the name 'admin' belongs to the admin key", code="key_exists")
    spec = {
        "name": name,
        "tenant": tenant,
        "models": _names(models),
        "routes": _names(routes),
        "daily_usd": daily_usd,
        "monthly_usd": monthly_usd,
        "rpm": rpm,
        "tpm": tpm,
        "can_override_route": can_override_route,
        "admin": admin,
        "expires_in_s": parse_duration(expires) if expires is not None else None,
    }
    key, secret = KeyCreate.of(spec).mint(time.time())
    store, settings = _open(config, ledger)
    try:
        if settings is not None:
            _check_against(settings, key)
        key = store.create(key)
        first = len(store.all()) == 1
    finally:
        store.close()
    if as_json:
        print_json({**key.info(time.time()), "key": secret})
        return
    typer.echo(secret)
    typer.echo(
        f"created key '{name}' (tenant {tenant}); the secret above is shown only now", err=True
    )
    if first:  # the quick start's keyless requests get a 401 from now on: say so here
        typer.echo(
            "this is the first stored key: within auth.keys_refresh_s every request to a gateway "
            "on this ledger needs a key (Authorization: Bearer KEY), and /ui an admin key "
            "(--admin); parity keys delete NAME of every key opens the gateway again",
            err=True,
        )


def _limits(info: dict[str, Any]) -> str:
    parts = [
        f"{label} {info[field]:g}"
        for field, label in (("daily_usd", "$/day"), ("monthly_usd", "$/month"))
        if info[field] is not None
    ]
    parts += [f"{field} {info[field]}" for field in ("rpm", "tpm") if info[field] is not None]
    return ", ".join(parts) or "-"


def _access(info: dict[str, Any]) -> str:
    parts = ["admin"] if info["admin"] else []
    parts += ["override"] if info["can_override_route"] else []
    for field in ("models", "routes"):
        if info[field] is not None:
            parts.append(f"{field}: {','.join(info[field])}")
    return "; ".join(parts) or "all"


def list_keys(config: ConfigOpt = None, ledger: LedgerOpt = None, as_json: JsonOpt = False) -> None:
    """List stored keys (never their secrets or digests)."""
    store, _ = _open(config, ledger)
    try:
        keys = store.all()
    finally:
        store.close()
    now = time.time()
    infos = [key.info(now) for key in keys]

    def render(console: Console) -> None:
        rows = [
            [
                i["name"],
                i["prefix"],
                i["tenant"],
                i["status"],
                _access(i),
                _limits(i),
                (i["expires_at"] or "never")[:10],
            ]
            for i in infos
        ]
        columns = ["name", "prefix", "tenant", "status", "may use", "limits", "expires"]
        title = {0: "no API keys stored", 1: "1 API key"}.get(len(infos), f"{len(infos)} API keys")
        console.print(table(title, columns, rows))

    emit(infos, as_json, render)


def revoke(
    name: Annotated[str, typer.Argument(help="The key to revoke.")],
    config: ConfigOpt = None,
    ledger: LedgerOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Revoke a key: every gateway refuses it within auth.keys_refresh_s."""
    check_key_name(name)
    store, _ = _open(config, ledger)
    try:
        key = store.revoke(name)
        now = time.time()
        active = [k for k in store.all() if k.status(now) == "active"]
    finally:
        store.close()
    if as_json:
        print_json(key.info(now))
        return
    typer.echo(f"revoked key '{name}'")
    if not active:
        typer.echo(
            "no stored key is active now, and revoked keys still keep keys required: the "
            "gateway refuses every caller (401) but the admin key (PARITY_ADMIN_KEY) and "
            "config keys. Create a key (parity keys create NAME), or delete the revoked ones "
            "(parity keys delete NAME) to open the gateway to everyone again.",
            err=True,
        )


def delete(
    name: Annotated[str, typer.Argument(help="The key to delete.")],
    config: ConfigOpt = None,
    ledger: LedgerOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Delete a key's row for good; when no stored key is left, the gateway opens again.

    Revoked keys keep keys required; deleting every stored key (with no key in parity.yaml
    and no admin key) is how an open gateway comes back. The name may then be used again.
    """
    check_key_name(name)
    store, _ = _open(config, ledger)
    try:
        key = store.delete(name)
        left = len(store.all())
    finally:
        store.close()
    if as_json:
        print_json({**key.info(time.time()), "deleted": True, "stored_keys_left": left})
        return
    typer.echo(f"deleted key '{name}'")
    if left:
        typer.echo(f"{left} stored key(s) left: keys stay required", err=True)
    else:
        typer.echo(
            "no stored key is left: within auth.keys_refresh_s a gateway with no key in "
            "parity.yaml and no admin key (PARITY_ADMIN_KEY) is open to every caller again",
            err=True,
        )


def register(app: typer.Typer) -> None:
    """Add ``parity keys``."""
    keys_app = typer.Typer(help="API keys stored in the ledger database.", no_args_is_help=True)
    keys_app.command("create")(create)
    keys_app.command("list")(list_keys)
    keys_app.command("revoke")(revoke)
    keys_app.command("delete")(delete)
    app.add_typer(keys_app, name="keys")
