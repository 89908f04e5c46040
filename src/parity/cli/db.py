"""parity db migrate | status: the ledger database's schema."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from parity.cli.ledger_opts import ConfigOpt, LedgerOpt
from parity.cli.output import emit, print_json, table
from parity.config import load_settings
from parity.errors import ConfigError
from parity.store.database import Database, migration_status
from parity.store.factory import open_ledger

__all__ = ["register"]

JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]


def _url(config: Path | None, ledger: str | None) -> str:
    return ledger or load_settings(config).ledger.url


def _ensure_database(url: str, create: bool) -> str | None:
    """Create a missing PostgreSQL database when asked; its name when it was created."""
    if not url.startswith(("postgresql://", "postgres://")):
        return None
    from parity.store.postgres import create_database, create_hint, database_exists

    if database_exists(url) is not False:
        return None  # there, or the server cannot say: connecting reports what is wrong
    if not create:
        raise ConfigError(create_hint(url))
    return create_database(url)


def migrate(
    config: ConfigOpt = None,
    ledger: LedgerOpt = None,
    create: Annotated[
        bool, typer.Option("--create", help="Create the PostgreSQL database if it is missing.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Apply pending migrations to the ledger database and print which were applied."""
    url = _url(config, ledger)
    created = _ensure_database(url, create)
    if created is not None and not as_json:
        typer.echo(f"created database '{created}'")
    store = open_ledger(url, migrate=False)
    try:
        applied = store.migrate()
    finally:
        store.close()
    if as_json:
        print_json({"applied": applied, "created": created})
    elif applied:
        typer.echo("applied: " + ", ".join(applied))
    else:
        typer.echo("nothing to apply: the schema is up to date")


def status(config: ConfigOpt = None, ledger: LedgerOpt = None, as_json: JsonOpt = False) -> None:
    """Show which migrations the ledger database has applied and which are pending."""
    db = Database(_url(config, ledger))
    try:
        found = migration_status(db)
    finally:
        db.close()
    data: dict[str, Any] = {
        "applied": [
            {"name": name, "applied_at": datetime.fromtimestamp(at, UTC).isoformat()}
            for name, at in found.applied
        ],
        "pending": found.pending,
    }

    def render(console: Console) -> None:
        rows = [[d["name"], "applied", d["applied_at"]] for d in data["applied"]]
        rows += [[name, "pending", ""] for name in found.pending]
        title = f"{len(found.applied)} applied, {len(found.pending)} pending"
        console.print(table(title, ["migration", "state", "applied at (UTC)"], rows))

    emit(data, as_json, render)


def register(app: typer.Typer) -> None:
    """Add ``parity db``."""
    db_app = typer.Typer(help="The ledger database's schema.", no_args_is_help=True)
    db_app.command("migrate")(migrate)
    db_app.command("status")(status)
    app.add_typer(db_app, name="db")
