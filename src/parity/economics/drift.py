"""Price drift: what each deployment really cost per token, against the catalog's list price.

The ledger's cost is what the request was charged when it ran (the upstream's reported cost, or
its usage times the configured price). Each UTC day's tokens are priced at the catalog price in
force *on that day* (``ModelCard.price_on``), so a new list price never applies backwards and
past spend is compared with the price of its own day. Days before any dated catalog price are
counted as unpriced, not compared.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

from rich.console import Console
from rich.table import Table

from parity.catalog.deployment import Deployment
from parity.catalog.registry import Catalog
from parity.store.base import UsageRow

__all__ = ["DEFAULT_THRESHOLD", "PriceDrift", "price_drift", "render_drift"]

DEFAULT_THRESHOLD = 0.10
"""Flag a deployment whose real cost is more than 10% off the catalog price, either way."""


@dataclass(frozen=True, slots=True)
class PriceDrift:
    """One deployment's recorded spend against the same tokens at the catalog's prices."""

    deployment: str
    card: str
    first_day: str
    last_day: str
    requests: int
    input_tokens: int
    output_tokens: int
    spent_usd: float
    catalog_usd: float
    unpriced_days: int
    drift: float | None
    flagged: bool

    def to_json(self) -> dict[str, Any]:
        """For --json."""
        return asdict(self)

    @property
    def words(self) -> str:
        """'20.0% over the catalog price', or why there is no figure."""
        if self.drift is None:
            return "no catalog price for these days"
        side = "over" if self.drift >= 0 else "under"
        return f"{abs(self.drift):.1%} {side} the catalog price"


@dataclass(slots=True)
class _Acc:
    first: str = "9999-12-31"
    last: str = ""
    requests: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    spent: float = 0.0
    catalog: float = 0.0
    priced_spent: float = 0.0
    unpriced_days: int = 0


def price_drift(
    usage: Iterable[UsageRow],
    deployments: Sequence[Deployment],
    catalog: Catalog,
    *,
    threshold: float = DEFAULT_THRESHOLD,
) -> list[PriceDrift]:
    """Per deployment with a priced catalog card: spent vs catalog cost, flagged past threshold."""
    cards = {}
    for deployment in deployments:
        match = catalog.card_for(deployment)
        if match is not None and match[0].price is not None:
            cards[deployment.id] = match[0]
    groups: dict[str, _Acc] = {}
    for row in usage:
        card = cards.get(row.model)
        if card is None:
            continue
        acc = groups.setdefault(row.model, _Acc())
        acc.first, acc.last = min(acc.first, row.day), max(acc.last, row.day)
        acc.requests += row.requests
        acc.input_tokens += row.input_tokens
        acc.output_tokens += row.output_tokens
        acc.spent += row.cost_usd
        price = card.price_on(date.fromisoformat(row.day))
        if price is None:
            acc.unpriced_days += 1
            continue
        acc.catalog += price.cost(row.input_tokens, row.output_tokens)
        acc.priced_spent += row.cost_usd
    out: list[PriceDrift] = []
    for model, acc in sorted(groups.items()):
        drift = acc.priced_spent / acc.catalog - 1 if acc.catalog > 0 else None
        out.append(
            PriceDrift(
                deployment=model,
                card=cards[model].id,
                first_day=acc.first,
                last_day=acc.last,
                requests=acc.requests,
                input_tokens=acc.input_tokens,
                output_tokens=acc.output_tokens,
                spent_usd=acc.spent,
                catalog_usd=acc.catalog,
                unpriced_days=acc.unpriced_days,
                drift=drift,
                flagged=drift is not None and abs(drift) > threshold,
            )
        )
    return out


def render_drift(rows: list[PriceDrift], console: Console, threshold: float) -> None:
    """A table of real cost against catalog cost, with the flagged deployments named."""
    table = Table(title=f"Real cost vs catalog price (flagged beyond ±{threshold:.0%})")
    for column in ("deployment", "card", "days", "requests", "spent", "at catalog price", "drift"):
        table.add_column(column, justify="left" if column in {"deployment", "card"} else "right")
    for r in rows:
        days = f"{r.first_day}..{r.last_day}" + (
            f" ({r.unpriced_days} unpriced)" * bool(r.unpriced_days)
        )
        drift = "-" if r.drift is None else f"{r.drift:+.1%}" + (" FLAGGED" if r.flagged else "")
        table.add_row(
            r.deployment, r.card, days, f"{r.requests:,}", f"${r.spent_usd:,.4f}",
            f"${r.catalog_usd:,.4f}", drift,
        )  # fmt: skip
    console.print(table)
    for r in rows:
        if r.flagged:
            console.print(
                f"price drift: {r.deployment} cost {r.words} ({r.card})",
                highlight=False,
                soft_wrap=True,
            )
