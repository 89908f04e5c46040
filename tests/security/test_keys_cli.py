"""parity keys and parity db as a user runs them, on SQLite and on the real PostgreSQL."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import psycopg

from parity.store.sql import migrations
from tests.security.common import create_key, parity, unique


def _files_bytes(folder: Path) -> bytes:
    """Everything SQLite wrote: the database, its WAL and shared-memory files."""
    return b"".join(path.read_bytes() for path in sorted(folder.iterdir()) if path.is_file())


def test_create_list_revoke_on_sqlite_stores_only_the_digest(tmp_path: Path) -> None:
    folder = tmp_path / "db"
    url = f"sqlite:///{folder / 'ledger.db'}"
    made = create_key(
        url,
        "ci-bot",
        "--tenant",
        "team-a",
        "--routes",
        "parity/auto",
        "--models",
        "cheap,pricey,cheap",
        "--daily-usd",
        "5",
        "--rpm",
        "60",
        "--expires",
        "30d",
    )
    secret = made["key"]
    assert secret.startswith("pk-") and len(secret) == 46
    assert made["prefix"] == secret[:11] and made["status"] == "active"
    assert made["models"] == ["cheap", "pricey"] and made["routes"] == ["parity/auto"]
    assert made["daily_usd"] == 5.0 and made["rpm"] == 60 and made["expires_at"] is not None

    plain = parity("keys", "create", "plain", "--ledger", url)
    assert plain.returncode == 0, plain.stderr
    plain_secret = plain.stdout.strip()
    assert plain_secret.startswith("pk-") and "shown only now" in plain.stderr
    assert "first stored key" not in plain.stderr  # said once, with the first key only

    stored = _files_bytes(folder)
    for value in (secret, plain_secret):
        assert value.encode() not in stored
        assert hashlib.sha256(value.encode()).hexdigest().encode() in stored

    listed = parity("keys", "list", "--ledger", url, "--json")
    assert listed.returncode == 0, listed.stderr
    infos = json.loads(listed.stdout)
    assert [i["name"] for i in infos] == ["ci-bot", "plain"]
    assert all("digest" not in i and "key" not in i for i in infos)
    table = parity("keys", "list", "--ledger", url)
    assert "ci-bot" in table.stdout and secret[:11] in table.stdout
    for value in (secret, plain_secret):
        assert value not in listed.stdout + table.stdout
        assert hashlib.sha256(value.encode()).hexdigest() not in listed.stdout + table.stdout

    revoked = parity("keys", "revoke", "ci-bot", "--ledger", url)
    assert revoked.returncode == 0 and "revoked" in revoked.stdout
    again = json.loads(parity("keys", "list", "--ledger", url, "--json").stdout)
    assert {i["name"]: i["status"] for i in again} == {"ci-bot": "revoked", "plain": "active"}


ERRORS = [
    (["keys", "revoke", "nobody"], "no API key named 'nobody'"),
    (["keys", "create", "plain"], "exists already"),
    (["keys", "create", "admin"], "belongs to the admin key"),
    (["keys", "create", "../etc"], "a key name is"),
    (["keys", "create", "x", "--expires", "soon"], "--expires must look like"),
    (["keys", "revoke", "x'; DROP TABLE api_keys; --"], "a key name is"),
]


def test_the_first_key_says_that_requests_now_need_one(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    empty = parity("keys", "list", "--ledger", url)
    assert empty.returncode == 0 and "no API keys stored" in empty.stdout
    first = parity("keys", "create", "team-a", "--ledger", url)
    assert first.returncode == 0, first.stderr
    said = " ".join(first.stderr.split())
    assert "first stored key" in said and "every request" in said and "keys delete" in said
    listed = parity("keys", "list", "--ledger", url).stdout
    assert "1 API key" in listed and "1 API keys" not in listed


def test_cli_errors_are_one_line_and_a_nonzero_exit(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    assert parity("keys", "create", "plain", "--ledger", url).returncode == 0
    for args, message in ERRORS:
        done = parity(*args, "--ledger", url)
        assert done.returncode == 1, args
        assert done.stderr.count("\n") == 1 and message in done.stderr
        assert done.stderr.startswith("parity: error: ")
    assert len(json.loads(parity("keys", "list", "--ledger", url, "--json").stdout)) == 1


def test_a_bad_ledger_url_is_one_line(tmp_path: Path) -> None:
    for args in (["keys", "list"], ["db", "status"], ["db", "migrate"]):
        done = parity(*args, "--ledger", "mysql://nowhere/db")
        assert done.returncode == 2, done.stderr
        assert done.stderr.count("\n") == 1 and "unsupported ledger URL" in done.stderr


def test_config_keys_and_models_are_checked_when_a_config_is_given(tmp_path: Path) -> None:
    config = tmp_path / "parity.yaml"
    ledger = f"sqlite:///{tmp_path / 'ledger.db'}"
    config.write_text(
        f"ledger: {{url: '{ledger}'}}\n"
        "models:\n  - {id: m1, provider: openai, base_url: 'http://127.0.0.1:9/v1'}\n"
        "keys:\n  - {id: ops, key_env: OPS_KEY}\n"
    )
    unknown = parity("keys", "create", "k", "--config", str(config), "--models", "m2")
    assert unknown.returncode == 1 and "unknown model ids in --models: m2" in unknown.stderr
    route = parity("keys", "create", "k", "--config", str(config), "--routes", "parity/x")
    assert route.returncode == 1 and "unknown route aliases" in route.stderr
    clash = parity("keys", "create", "ops", "--config", str(config))
    assert clash.returncode == 1 and "already has a key named 'ops'" in clash.stderr
    fine = parity("keys", "create", "k", "--config", str(config), "--models", "m1", "--json")
    assert fine.returncode == 0, fine.stderr
    assert json.loads(fine.stdout)["models"] == ["m1"]


def test_db_migrate_and_status_on_a_fresh_postgres_then_keys(fresh_postgres_url: str) -> None:
    shipped = [name for name, _ in migrations()]
    assert "002_api_keys" in shipped
    before = json.loads(parity("db", "status", "--ledger", fresh_postgres_url, "--json").stdout)
    assert before == {"applied": [], "pending": shipped}

    done = parity("db", "migrate", "--ledger", fresh_postgres_url)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "applied: " + ", ".join(shipped)
    after = json.loads(parity("db", "status", "--ledger", fresh_postgres_url, "--json").stdout)
    assert [a["name"] for a in after["applied"]] == shipped and after["pending"] == []
    assert "up to date" in parity("db", "migrate", "--ledger", fresh_postgres_url).stdout
    assert "applied" in parity("db", "status", "--ledger", fresh_postgres_url).stdout

    name = unique("pg")
    secret = create_key(fresh_postgres_url, name, "--admin", "--tpm", "1000")["key"]
    with psycopg.connect(fresh_postgres_url) as conn:
        rows = conn.execute("SELECT * FROM api_keys").fetchall()
    dumped = repr(rows)
    assert secret not in dumped and secret[11:] not in dumped
    assert hashlib.sha256(secret.encode()).hexdigest() in dumped
    listed = json.loads(parity("keys", "list", "--ledger", fresh_postgres_url, "--json").stdout)
    assert [(i["name"], i["admin"], i["tpm"]) for i in listed] == [(name, True, 1000)]
    assert parity("keys", "revoke", name, "--ledger", fresh_postgres_url).returncode == 0
    assert parity("keys", "create", name, "--ledger", fresh_postgres_url).returncode == 1
