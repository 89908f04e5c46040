"""Usage counterfactuals on ledger rows built by hand."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from rich.console import Console

from parity.catalog.deployment import Price
from parity.economics.tco import Lease, SelfHostPlan, Workload, self_host_cost
from parity.economics.usage import (
    counterfactual_json,
    counterfactual_prices,
    counterfactuals,
    frontier_share,
    render_counterfactuals,
    self_hosted_price,
    total_row,
)
from parity.store.base import LedgerRow, UsageRow

FRONTIER = Price(input=2.50, output=10.00)
LOCAL = Price(input=0.20, output=0.20)
DAY1 = datetime(2026, 11, 20, 23, 59, tzinfo=UTC).timestamp()
DAY2 = datetime(2026, 11, 21, 0, 1, tzinfo=UTC).timestamp()


def _row(ts: float, key: str | None, route: str | None, model: str, tokens: tuple[int, int],
         *, cost: float | None, status: int = 200) -> LedgerRow:  # fmt: skip
    return LedgerRow(
        request_id=f"r{ts}{key}{route}{model}{tokens}",
        ts=ts,
        model_requested=route or model,
        status=status,
        total_ms=10.0,
        key_id=key,
        model_answered=model,
        route=route,
        input_tokens=tokens[0] if status < 400 else None,
        output_tokens=tokens[1] if status < 400 else None,
        cost_usd=cost,
    )


ROWS = [
    # Day 1, key a, parity/auto: one local answer, one frontier answer.
    _row(DAY1, "a", "parity/auto", "local/llama", (1_000_000, 500_000), cost=0.30),
    _row(DAY1, "a", "parity/auto", "gpt-4o", (100_000, 50_000), cost=0.75),
    # Day 2 (a minute later, but after UTC midnight), key a, model named directly.
    _row(DAY2, "a", None, "gpt-4o", (200_000, 100_000), cost=1.50),
    # Day 2, no key, parity/auto: a failure with no tokens.
    _row(DAY2, None, "parity/auto", "gpt-4o", (0, 0), cost=None, status=502),
]


def test_groups_by_utc_day_key_and_route() -> None:
    out = counterfactuals(ROWS, FRONTIER, LOCAL)
    assert [(r.day, r.key_id, r.route) for r in out] == [
        ("2026-11-20", "a", "parity/auto"),
        ("2026-11-21", "(no key)", "parity/auto"),
        ("2026-11-21", "a", "(direct)"),
    ]


def test_spent_all_frontier_all_local_and_saving() -> None:
    first = counterfactuals(ROWS, FRONTIER, LOCAL)[0]
    assert (first.requests, first.input_tokens, first.output_tokens) == (2, 1_100_000, 550_000)
    assert first.spent_usd == pytest.approx(1.05)
    assert first.all_frontier_usd == pytest.approx(1.1 * 2.5 + 0.55 * 10)  # 8.25
    assert first.all_local_usd == pytest.approx(1.65 * 0.2)  # 0.33
    assert first.saving_usd == pytest.approx(8.25 - 1.05)
    assert first.premium_usd == pytest.approx(1.05 - 0.33)


def test_failures_count_without_tokens() -> None:
    failed = counterfactuals(ROWS, FRONTIER, LOCAL)[1]
    assert (failed.requests, failed.errors, failed.spent_usd) == (1, 1, 0.0)
    assert failed.all_frontier_usd == 0


def test_totals_and_json() -> None:
    rows = counterfactuals(ROWS, FRONTIER, LOCAL)
    total = total_row(rows)
    assert total.requests == 4 and total.spent_usd == pytest.approx(2.55)
    doc = counterfactual_json(rows, frontier=("gpt-4o", FRONTIER), local=("local/llama", LOCAL))
    text = json.dumps(doc)  # JSON-ready as it is
    assert json.loads(text)["total"]["saving_usd"] == pytest.approx(total.saving_usd)
    assert doc["frontier"] == {"model": "gpt-4o", "input": 2.5, "output": 10.0}
    assert doc["rows"][0]["route"] == "parity/auto"


def test_render_prints_a_table_with_a_total() -> None:
    buffer = io.StringIO()
    console = Console(file=buffer, width=200, color_system=None)
    render_counterfactuals(counterfactuals(ROWS, FRONTIER, LOCAL), console,
                           frontier_name="gpt-4o", local_name="local/llama")  # fmt: skip
    text = buffer.getvalue()
    assert "all gpt-4o" in text and "total" in text and "(direct)" in text
    empty = io.StringIO()
    render_counterfactuals([], Console(file=empty, width=120, color_system=None))
    assert "Spend vs" in empty.getvalue()


def test_self_hosted_price_amortises_the_yearly_cost() -> None:
    plan = SelfHostPlan("H100", 1_041.67, Lease(2_500), gpus_per_replica=2)
    work = Workload(100_000_000, 0.5)
    price = self_hosted_price(self_host_cost(plan, work), work)
    assert price.input == pytest.approx(60_000 / (150e6 * 365) * 1e6)  # $1.10 per 1M
    with pytest.raises(ValueError, match="no tokens"):
        self_hosted_price(self_host_cost(plan, Workload(0)), Workload(0))


def test_frontier_share_from_usage_rows() -> None:
    usage = [
        UsageRow("2026-11-20", "gpt-4o", 3, 0, 300, 100, 0.1),
        UsageRow("2026-11-20", "local/llama", 5, 0, 1_200, 400, 0.0),
    ]
    assert frontier_share(usage, {"gpt-4o"}) == pytest.approx(400 / 2_000)
    assert frontier_share([], {"gpt-4o"}) is None


def test_counterfactual_prices_default_to_the_config_lanes() -> None:
    from parity.config import frontier_deployments, local_deployment

    deployments = [local_deployment(), *frontier_deployments({"OPENAI_API_KEY": "k"})]
    (top, top_price), (base, base_price) = counterfactual_prices(deployments)
    assert (top, top_price.output) == ("gpt-5.4", 15.0)
    assert (base, base_price.output) == ("local/smollm2", 0.0)
    (named, _), _ = counterfactual_prices(deployments, frontier="gpt-5.4-mini")
    assert named == "gpt-5.4-mini"
    with pytest.raises(ValueError, match="no vendor deployment"):
        counterfactual_prices([local_deployment()])
    with pytest.raises(ValueError, match="no deployment 'x'"):
        counterfactual_prices(deployments, local="x")


def test_a_missing_lane_says_where_to_name_one(tmp_path: Path) -> None:
    from tests.cli.test_core_commands import parity

    config = tmp_path / "parity.yaml"
    config.write_text(
        "models:\n  - {id: gpt, provider: openai, base_url: 'http://x/v1', residency: vendor}\n"
    )
    done = parity("usage", "--counterfactual", "--config", str(config))
    assert done.returncode == 1, done.stdout
    assert "no on_prem deployment is listed: add one to the config's models" in done.stderr
    assert "--local ID" in done.stderr
