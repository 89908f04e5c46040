"""`parity db migrate` on a PostgreSQL database that does not exist: says how, or creates it."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator

import psycopg
import pytest

from tests.cli.test_core_commands import parity
from tests.conftest import ADMIN_URL


@pytest.fixture
def missing_url() -> Iterator[str]:
    name = f"parity_missing_{secrets.token_hex(4)}"
    yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    with psycopg.connect(ADMIN_URL, autocommit=True, connect_timeout=5) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_migrate_says_how_to_create_a_missing_database(missing_url: str) -> None:
    name = missing_url.rsplit("/", 1)[1]
    done = parity("db", "migrate", "--ledger", missing_url)
    assert done.returncode == 2
    assert f"the database '{name}' does not exist" in done.stderr
    assert f"createdb -h 127.0.0.1 -p 5432 -U postgres {name}" in done.stderr
    assert "parity db migrate --create" in done.stderr
    # any other command on that ledger gives the same hint after the driver's own words
    listed = parity("keys", "list", "--ledger", missing_url)
    assert listed.returncode == 2 and "parity db migrate --create" in listed.stderr


def test_migrate_create_makes_the_database_then_migrates_it(missing_url: str) -> None:
    name = missing_url.rsplit("/", 1)[1]
    done = parity("db", "migrate", "--create", "--ledger", missing_url, "--json")
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert answer["created"] == name and "001_requests" in answer["applied"]
    again = parity("db", "migrate", "--create", "--ledger", missing_url, "--json")
    assert json.loads(again.stdout) == {"applied": [], "created": None}
