"""Usage counterfactuals from the ledger: what was spent, and what all-frontier or all-local
would have cost, per UTC day x key x route.

``counterfactuals()`` is pure: ledger rows and two prices in, rows out. The counterfactuals price
each request's own recorded tokens at the other deployment's price; they do not model that another
model would have answered with a different number of tokens, or retried. The local price should
carry its amortised cost per token (``self_hosted_price()``), not $0, or "all-local" reads as free.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from rich.console import Console
from rich.table import Table

from parity.catalog.deployment import Deployment, Price, Residency
from parity.economics.tco import DAYS_PER_YEAR, SelfHostCost, Workload
from parity.store.base import LedgerRow, UsageRow

ESTIMATED_NOTE = (
    "~ estimated: the upstream reported no token usage for some of these requests, so Parity "
    "counted their tokens itself (about 4 characters a token, a streamed chunk a token); "
    "their tokens and cost are estimates"
)

__all__ = [
    "ESTIMATED_NOTE",
    "CounterfactualRow",
    "counterfactual_json",
    "counterfactual_prices",
    "counterfactuals",
    "frontier_share",
    "render_counterfactuals",
    "self_hosted_price",
    "total_row",
]

NO_KEY = "(no key)"
DIRECT = "(direct)"


@dataclass(frozen=True, slots=True)
class CounterfactualRow:
    """One day x key x route: tokens, spend, and the two all-or-nothing alternatives."""

    day: str
    key_id: str
    route: str
    requests: int
    errors: int
    estimated: int
    input_tokens: int
    output_tokens: int
    spent_usd: float
    all_frontier_usd: float
    all_local_usd: float

    @property
    def saving_usd(self) -> float:
        """What the actual mix saved against sending everything to the frontier model."""
        return self.all_frontier_usd - self.spent_usd

    @property
    def premium_usd(self) -> float:
        """What the actual mix cost above sending everything to the local model."""
        return self.spent_usd - self.all_local_usd

    def to_json(self) -> dict[str, Any]:
        return {
            "day": self.day,
            "key_id": self.key_id,
            "route": self.route,
            "requests": self.requests,
            "errors": self.errors,
            "usage_estimated": self.estimated,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "spent_usd": self.spent_usd,
            "all_frontier_usd": self.all_frontier_usd,
            "all_local_usd": self.all_local_usd,
            "saving_usd": self.saving_usd,
            "premium_usd": self.premium_usd,
        }


@dataclass(slots=True)
class _Acc:
    requests: int = 0
    errors: int = 0
    estimated: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    spent: float = 0.0


def _day(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d")


def counterfactuals(
    rows: Iterable[LedgerRow], frontier: Price, local: Price
) -> list[CounterfactualRow]:
    """Per UTC day, key and route: spent vs all-``frontier`` vs all-``local``, sorted."""
    groups: dict[tuple[str, str, str], _Acc] = {}
    for row in rows:
        key = (_day(row.ts), row.key_id or NO_KEY, row.route or DIRECT)
        acc = groups.setdefault(key, _Acc())
        acc.requests += 1
        acc.errors += row.status >= 400
        acc.estimated += row.usage_estimated
        acc.input_tokens += row.input_tokens or 0
        acc.output_tokens += row.output_tokens or 0
        acc.spent += row.cost_usd or 0.0
    out = []
    for (day, key_id, route), acc in sorted(groups.items()):
        out.append(
            CounterfactualRow(
                day=day,
                key_id=key_id,
                route=route,
                requests=acc.requests,
                errors=acc.errors,
                estimated=acc.estimated,
                input_tokens=acc.input_tokens,
                output_tokens=acc.output_tokens,
                spent_usd=acc.spent,
                all_frontier_usd=frontier.cost(acc.input_tokens, acc.output_tokens),
                all_local_usd=local.cost(acc.input_tokens, acc.output_tokens),
            )
        )
    return out


def total_row(rows: Iterable[CounterfactualRow]) -> CounterfactualRow:
    """All rows summed into one (day, key and route read 'total')."""
    items = list(rows)
    return CounterfactualRow(
        day="total",
        key_id="",
        route="",
        requests=sum(r.requests for r in items),
        errors=sum(r.errors for r in items),
        estimated=sum(r.estimated for r in items),
        input_tokens=sum(r.input_tokens for r in items),
        output_tokens=sum(r.output_tokens for r in items),
        spent_usd=sum(r.spent_usd for r in items),
        all_frontier_usd=sum(r.all_frontier_usd for r in items),
        all_local_usd=sum(r.all_local_usd for r in items),
    )


def counterfactual_json(
    rows: list[CounterfactualRow], *, frontier: tuple[str, Price], local: tuple[str, Price]
) -> dict[str, Any]:
    """A JSON-ready document: the prices used, every row, and the total."""
    return {
        "frontier": {"model": frontier[0], **frontier[1].model_dump()},
        "local": {"model": local[0], **local[1].model_dump()},
        "rows": [r.to_json() for r in rows],
        "total": total_row(rows).to_json(),
    }


def render_counterfactuals(
    rows: list[CounterfactualRow],
    console: Console,
    *,
    frontier_name: str = "frontier",
    local_name: str = "local",
) -> None:
    """A rich table with one line per day x key x route and a total line."""
    table = Table(title=f"Spend vs all-{frontier_name} vs all-{local_name} (UTC days)")
    for column in (
        "day",
        "key",
        "route",
        "requests",
        "tokens in/out",
        "spent",
        f"all {frontier_name}",
        f"all {local_name}",
        "saving",
    ):
        table.add_column(
            column, justify="right" if column not in {"day", "key", "route"} else "left"
        )
    for r in [*rows, total_row(rows)] if rows else []:
        table.add_row(
            r.day,
            r.key_id,
            r.route,
            f"{r.requests:,}" + (f" ({r.errors} err)" if r.errors else ""),
            f"{r.input_tokens:,}/{r.output_tokens:,}" + ("~" if r.estimated else ""),
            f"${r.spent_usd:,.4f}" + ("~" if r.estimated else ""),
            f"${r.all_frontier_usd:,.4f}",
            f"${r.all_local_usd:,.4f}",
            f"${r.saving_usd:,.4f}",
            end_section=r.day == rows[-1].day and r is rows[-1],
        )
    console.print(table)
    if any(r.estimated for r in rows):
        console.print(ESTIMATED_NOTE)


def self_hosted_price(cost: SelfHostCost, workload: Workload) -> Price:
    """The all-in USD per 1M tokens of self-hosting at a volume (the same for input and output)."""
    tokens_per_year = workload.total_tokens_per_day * DAYS_PER_YEAR
    if tokens_per_year <= 0:
        raise ValueError("the workload has no tokens")
    per_m = cost.total / tokens_per_year * 1e6
    return Price(input=per_m, output=per_m)


def frontier_share(usage: Iterable[UsageRow], frontier_models: set[str]) -> float | None:
    """The share of recorded tokens that ``frontier_models`` answered (None when no tokens).

    The hybrid lane split the ledger actually shows (``parity cost --share-from-ledger``).
    """
    total = frontier = 0
    for row in usage:
        tokens = row.input_tokens + row.output_tokens
        total += tokens
        if row.model in frontier_models:
            frontier += tokens
    return frontier / total if total else None


def counterfactual_prices(
    deployments: Iterable[Deployment], frontier: str | None = None, local: str | None = None
) -> tuple[tuple[str, Price], tuple[str, Price]]:
    """The (id, price) pairs to compare against: named ones, or the config's defaults.

    Defaults: the frontier is the vendor deployment with the highest output price, the local model
    the on-prem deployment with the lowest. Raises ValueError when a lane has no deployment.
    """
    listed = list(deployments)
    by_id = {d.id: d for d in listed}

    def pick(name: str | None, residency: Residency, highest: bool) -> Deployment:
        if name is not None:
            if name not in by_id:
                raise ValueError(f"no deployment '{name}'; listed: {', '.join(sorted(by_id))}")
            return by_id[name]
        lane = [d for d in listed if d.residency is residency]
        if not lane:
            raise ValueError(
                f"no {residency.value} deployment is listed: add one to the config's models "
                f"(with residency: {residency.value} and its price)"
            )
        return sorted(lane, key=lambda d: (d.price.output, d.price.input), reverse=highest)[0]

    top = pick(frontier, Residency.VENDOR, highest=True)
    base = pick(local, Residency.ON_PREM, highest=False)
    return (top.id, top.price), (base.id, base.price)
