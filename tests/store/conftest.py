"""Ledger fixtures: a SQLite file and a throw-away PostgreSQL database on 127.0.0.1:5432."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from parity.store.base import Ledger
from parity.store.factory import open_ledger


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
