"""Two replicas on one PostgreSQL and one Redis: shared limits, one ledger, no double count."""

from __future__ import annotations

import signal

import pytest

from tests.conftest import GatewayFactory
from tests.fakes.fixtures import VendorFake
from tests.limits.helpers import ENV, REDIS_URL, Burst, config, exhaust_budget, key_id, query, send

RATE_SECRET = "sk-limits-test-rated"


def test_two_replicas_share_limits_and_write_one_ledger(
    gateway_factory: GatewayFactory, vendor: VendorFake, postgres_url: str, redis_prefix: str
) -> None:
    budget_kid, rate_kid, limit = key_id("shared-budget"), key_id("shared-rate"), 0.03
    settings = config(
        vendor.openai_url,
        {"id": budget_kid, "daily_usd": limit},
        ledger={"url": postgres_url},
        limits={"redis_url": REDIS_URL, "redis_prefix": redis_prefix},
    )
    settings["keys"].append({"id": rate_kid, "key_env": "RATE_KEY", "rpm": 6})
    replicas = [gateway_factory(settings, env={**ENV, "RATE_KEY": RATE_SECRET}) for _ in range(2)]
    urls = [replica.v1 for replica in replicas]

    # Twelve requests at once, six to each replica: the one Redis bucket admits six in all.
    rated = Burst()
    send(urls, 12, rated, secret=RATE_SECRET)
    assert (rated.count(200), rated.count(429)) == (6, 6)

    # Bursts of 40 over both replicas against one $0.03 daily budget.
    spent = exhaust_budget(urls, postgres_url, n=40)
    assert spent.count(200) and spent.count(429)
    for replica in replicas:
        assert replica.stop() in (0, -signal.SIGTERM)  # each flushes its own ledger rows

    responses = rated.responses + spent.responses
    ids = rated.ids() | spent.ids()
    assert len(ids) == len(responses)  # request ids are unique across replicas
    assert len({i[:16] for i in ids}) == 2  # and both replicas answered (per-process prefix)
    rows = query(
        postgres_url,
        "SELECT request_id, key_id, status, cost_usd FROM requests WHERE key_id IN (?, ?)",
        (budget_kid, rate_kid),
    )
    stored = [row[0] for row in rows]
    assert len(stored) == len(set(stored)) and set(stored) == ids  # each exactly once

    costs = [float(row[3]) for row in rows if row[1] == budget_kid and row[2] == 200]
    assert len(costs) == spent.count(200)
    assert limit - 1e-9 <= sum(costs) <= limit + max(costs) + 1e-9
    counted = query(
        postgres_url,
        "SELECT SUM(spent_usd) FROM budget_spend WHERE scope = 'key' AND name = ?",
        (budget_kid,),
    )
    assert float(counted[0][0]) == pytest.approx(sum(costs))  # not counted twice
