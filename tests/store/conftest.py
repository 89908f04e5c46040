"""Ledger fixtures: a SQLite file and a throw-away PostgreSQL database on 127.0.0.1:5432."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from parity.store.base import Ledger
from parity.store.factory import open_ledger

ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/test"


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh database, dropped at the end of the session."""
    name = f"parity_test_{secrets.token_hex(4)}"
    try:
        admin = psycopg.connect(ADMIN_URL, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        pytest.fail(f"PostgreSQL is required on 127.0.0.1:5432 (database 'test'): {exc}")
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        yield f"postgresql://postgres@127.0.0.1:5432/{name}"
        admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgres"])
def ledger(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Ledger]:
    """The same tests run against both ledgers."""
    if request.param == "sqlite":
        store = open_ledger(f"sqlite:///{tmp_path / 'ledger.db'}")
    else:
        url: str = request.getfixturevalue("postgres_url")
        store = open_ledger(url)
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("DELETE FROM requests")
    yield store
    store.close()
