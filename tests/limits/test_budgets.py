"""Budgets against a real gateway: parallel bursts overspend by at most one request's cost."""

from __future__ import annotations

import signal
import sqlite3
import time
from pathlib import Path

import httpx
import pytest

from parity.store.budgets import period_end
from parity.store.sqlite import sqlite_path
from tests.conftest import GatewayFactory
from tests.fakes.fixtures import VendorFake
from tests.limits.helpers import (
    CLIENT_SECRET,
    ENV,
    REQUEST,
    config,
    drain_holds,
    exhaust_budget,
    key_id,
    query,
)

AUTH = {"authorization": f"Bearer {CLIENT_SECRET}"}


@pytest.fixture(params=["sqlite", "postgres"])
def ledger_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each budget test runs once on a SQLite ledger and once on the PostgreSQL one."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'ledger.db'}"
    return str(request.getfixturevalue("postgres_url"))


def _spent(ledger_url: str, column: str, name: str) -> list[float]:
    rows = query(ledger_url, f"SELECT cost_usd FROM requests WHERE {column} = ?", (name,))
    return [float(r[0]) for r in rows if r[0] is not None]


def _counter(ledger_url: str, scope: str, name: str, period: str) -> float:
    found = query(
        ledger_url,
        "SELECT spent_usd FROM budget_spend WHERE scope = ? AND name = ? AND period = ?",
        (scope, name, period),
    )
    assert len(found) == 1, found
    return float(found[0][0])


def test_parallel_bursts_overspend_by_at_most_one_request(
    gateway_factory: GatewayFactory, vendor: VendorFake, ledger_url: str
) -> None:
    kid, limit = key_id("burst"), 0.03
    settings = config(
        vendor.openai_url, {"id": kid, "daily_usd": limit}, ledger={"url": ledger_url}
    )
    gateway = gateway_factory(settings, env=ENV)
    burst = exhaust_budget([gateway.v1], ledger_url, n=40)
    refusals = [r for r in burst.responses if r.status_code == 429]
    refused = [r.json()["error"] for r in refusals]
    # Held by requests in flight: try again in a second; spent: when the UTC day ends.
    waits = {int(r.headers["retry-after"]) for r in refusals}
    # Refused during the bursts, so each wait was at most the test's duration longer than now.
    until_midnight = int(period_end("day", time.time()) - time.time())
    assert waits <= {1} | set(range(until_midnight - 1, until_midnight + 301)), waits
    assert max(waits) > 1, "the last burst, refused on settled spend, waits for the next day"
    assert burst.count(200) + len(refused) == len(burst.responses)
    assert refused, "a burst of 40 against a $0.03 budget must be refused in part"
    assert all(e["code"] == "budget_exceeded" for e in refused)
    assert all(e["type"] == "insufficient_quota" for e in refused)
    assert f"key '{kid}' has a daily budget of $0.03" in refused[-1]["message"]
    assert gateway.stop() in (0, -signal.SIGTERM)  # clean: every ledger row is flushed
    costs = _spent(ledger_url, "key_id", kid)
    assert len(costs) == burst.count(200)
    one_request = max(costs)
    assert limit - 1e-9 <= sum(costs) <= limit + one_request + 1e-9
    assert _counter(ledger_url, "key", kid, "day") == pytest.approx(sum(costs))
    assert query(ledger_url, "SELECT COUNT(*) FROM budget_holds")[0][0] == 0


def test_shadow_copies_count_toward_the_tenant_budget_but_are_never_refused(
    gateway_factory: GatewayFactory, vendor: VendorFake, tmp_path: Path
) -> None:
    tenant, url = key_id("tenant"), f"sqlite:///{tmp_path / 'ledger.db'}"
    settings = config(
        vendor.openai_url,
        {"id": key_id("shadowed"), "tenant": tenant},
        upstream="gpt-4o",
        ledger={"url": url},
        limits={"tenants": {tenant: {"monthly_usd": 0.005}}},
        routes={"parity/auto": {"default": "fake", "shadow": {"to": "copy", "share": 1.0}}},
    )
    settings["models"].append({**settings["models"][0], "id": "copy"})
    gateway = gateway_factory(settings, env=ENV)
    body = {**REQUEST, "model": "parity/auto"}
    first = httpx.post(f"{gateway.v1}/chat/completions", json=body, headers=AUTH)
    assert first.status_code == 200
    # The answer ($0.003) and its shadow copy ($0.003), sent after it, spend the $0.005.
    deadline = time.monotonic() + 10
    while query(url, "SELECT COALESCE(SUM(spent_usd), 0) FROM budget_spend")[0][0] < 0.0059:
        assert time.monotonic() < deadline, "the shadow copy was never charged"
        time.sleep(0.05)
    second = httpx.post(f"{gateway.v1}/chat/completions", json=body, headers=AUTH)
    assert second.status_code == 429
    assert "tenant" in second.json()["error"]["message"]
    assert gateway.stop() in (0, -signal.SIGTERM)
    rows = query(url, "SELECT route, status, cost_usd FROM requests WHERE tenant = ?", (tenant,))
    assert sorted(r[0] or "" for r in rows if r[1] == 200) == ["parity/auto", "shadow"]
    assert _counter(url, "tenant", tenant, "month") == pytest.approx(0.006)
    assert sum(_spent(url, "tenant", tenant)) == pytest.approx(0.006)


@pytest.mark.parametrize("choice", ["allow", "refuse"])
def test_budget_store_failure_follows_on_store_error(
    gateway_factory: GatewayFactory, vendor: VendorFake, tmp_path: Path, choice: str
) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    settings = config(
        vendor.openai_url,
        {"id": key_id("store"), "daily_usd": 1.0},
        upstream="gpt-4o",
        ledger={"url": url},
        limits={"on_store_error": choice},
    )
    gateway = gateway_factory(settings, env=ENV)

    def post() -> httpx.Response:
        return httpx.post(f"{gateway.v1}/chat/completions", json=REQUEST, headers=AUTH)

    assert post().status_code == 200
    drain_holds(url)
    with sqlite3.connect(sqlite_path(url)) as conn:
        conn.execute("DROP TABLE budget_holds")  # the budget tables break under the gateway
    answer = post()
    if choice == "allow":
        assert answer.status_code == 200
        assert "admitted without a budget check" in gateway.output()
    else:
        assert answer.status_code == 503
        assert answer.json()["error"]["type"] == "service_unavailable"
        assert "budget store is unavailable" in answer.json()["error"]["message"]
