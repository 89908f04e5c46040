"""Overview: requests, route mix, spend and saving against all-frontier, errors, latency."""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from parity.catalog.deployment import Price
from parity.economics.usage import counterfactual_prices, counterfactuals, total_row
from parity.store.base import RowFilter
from parity.web import ledger_view as view
from parity.web.board import Dashboard
from parity.web.charts import category_chart

__all__ = ["Overview"]

ROW_CAP = 20_000


class Overview:
    """GET / : the state of the gateway over a time window."""

    def __init__(self, board: Dashboard) -> None:
        self.board = board

    def routes(self) -> list[BaseRoute]:
        return [Route("/", self.page, name="overview")]

    async def page(self, request: Request) -> Response:
        window, since = view.window_since(request.query_params.get("window", "7d"))
        context = await run_in_threadpool(self._context, since)
        return self.board.render(
            request, "overview.html", {"window": window, **context}, active="overview"
        )

    def _prices(self) -> tuple[tuple[str, Price] | None, tuple[str, Price] | None, str]:
        try:
            frontier, local = counterfactual_prices(self.board.settings.models)
        except ValueError as exc:
            source = self.board.settings.source or "parity.yaml (serve --config)"
            where = f"{exc} in {source}; the saving compares with the priciest vendor model"
            return None, None, f"{where} and the cheapest on_prem one"
        return frontier, local, ""

    def _context(self, since: float | None) -> dict[str, Any]:
        found = view.scan(self.board.ledger, RowFilter(since=since), ROW_CAP)
        rows = found.rows
        frontier, local, price_problem = self._prices()
        size = view.bucket_size(rows)
        timeline = view.buckets(rows, size, frontier[1] if frontier else None)
        labels = [b.label for b in timeline]
        traffic = category_chart(
            "bar",
            labels,
            [
                ("answered on premises", [b.on_prem for b in timeline]),
                ("answered by a vendor", [b.vendor for b in timeline]),
                ("failed", [b.errors for b in timeline]),
            ],
            y_title="requests",
            stacked=True,
        )
        # Running totals at each bucket's end, from zero at the first one's start.
        spent = all_frontier = 0.0
        cumulative: list[tuple[float, float]] = [(0.0, 0.0)] if timeline else []
        ends = [timeline[0].label] if timeline else []
        for b in timeline:
            spent += b.spent_usd
            all_frontier += b.all_frontier_usd
            cumulative.append((spent, all_frontier))
            ends.append(view.Bucket(b.start + b.size, b.size).label)
        money_sets = [("spent (cumulative)", [c[0] for c in cumulative])]
        if frontier is not None:
            money_sets.append((f"all {frontier[0]} (cumulative)", [c[1] for c in cumulative]))
        money = category_chart("line", ends, money_sets, y_title="USD", y_format="usd")
        mix = view.route_mix(rows)
        savings = []
        total = None
        if frontier is not None and local is not None:
            savings = counterfactuals(rows, frontier[1], local[1])
            total = total_row(savings)
        return {
            "scan": found,
            "bucket": {view.MINUTES: "5 minutes", view.HOUR: "hour"}.get(size, "day"),
            "requests": len(rows),
            "errors": sum(r.status >= 400 for r in rows),
            "estimated_requests": sum(r.usage_estimated for r in rows),
            "traffic_chart": traffic,
            "money_chart": money,
            "mix": mix,
            "mix_chart": category_chart(
                "bar",
                [s.label for s in mix["model"]],
                [("requests", [s.count for s in mix["model"]])],
                y_title="requests",
                horizontal=True,
            ),
            "latency": view.latency_table(rows),
            "error_counts": view.error_counts(rows),
            "recent_errors": [r for r in rows if r.status >= 400][:10],
            "frontier": frontier,
            "local": local,
            "price_problem": price_problem,
            "savings": savings,
            "total": total,
        }
