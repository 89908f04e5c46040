"""Open the ledger a URL names."""

from __future__ import annotations

from parity.errors import ConfigError
from parity.store.base import Ledger

__all__ = ["open_ledger"]


def open_ledger(url: str, *, migrate: bool = True) -> Ledger:
    """A SQLite or PostgreSQL ledger for ``url``, migrated to the newest schema."""
    ledger: Ledger
    if url.startswith("sqlite:///"):
        from parity.store.sqlite import SqliteLedger

        ledger = SqliteLedger(url)
    elif url.startswith(("postgresql://", "postgres://")):
        from parity.store.postgres import PostgresLedger

        ledger = PostgresLedger(url)
    else:
        raise ConfigError(f"unsupported ledger URL (use sqlite:///PATH or postgresql://...): {url}")
    if migrate:
        ledger.migrate()
    return ledger
