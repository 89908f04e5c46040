"""Privacy audit: the data classes the gateway saw, where they went, and what reached a vendor."""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from parity.store.base import RowFilter
from parity.web import ledger_view as view
from parity.web.board import Dashboard
from parity.web.charts import category_chart

__all__ = ["PrivacyAudit"]

ROW_CAP = 20_000
LEAK_LIMIT = 200


class PrivacyAudit:
    """GET /privacy over a time window."""

    def __init__(self, board: Dashboard) -> None:
        self.board = board

    def routes(self) -> list[BaseRoute]:
        return [Route("/privacy", self.page, name="privacy")]

    def _context(self, since: float | None) -> dict[str, Any]:
        found = view.scan(self.board.ledger, RowFilter(since=since), ROW_CAP)
        sensitive = [r for r in found.rows if r.data_classes]
        flows = view.class_flows(sensitive)
        leaks = self.board.ledger.rows(
            RowFilter(since=since, sensitive_to_vendor=True, limit=LEAK_LIMIT + 1)
        )
        enforce = self.board.settings.enforce
        chart = category_chart(
            "bar",
            [f.data_class for f in flows],
            [
                ("stayed on premises", [f.on_prem_only for f in flows]),
                ("reached a vendor", [f.reached_vendor for f in flows]),
                ("refused (sent nowhere)", [f.refused for f in flows]),
            ],
            y_title="requests",
            stacked=True,
            horizontal=True,
        )
        vendors = sorted(m.id for m in self.board.settings.models if m.residency.value == "vendor")
        return {
            "scan": found,
            "requests": len(found.rows),
            "sensitive": len(sensitive),
            "flows": flows,
            "flow_chart": chart,
            "leaks": leaks[:LEAK_LIMIT],
            "leaks_more": len(leaks) > LEAK_LIMIT,
            "leak_limit": LEAK_LIMIT,
            "policy": enforce.sensitive_to_vendor,
            "scan_vendor_requests": enforce.scan_vendor_requests,
            "vendors": vendors,
        }

    async def page(self, request: Request) -> Response:
        window, since = view.window_since(request.query_params.get("window", "7d"))
        context = await run_in_threadpool(self._context, since)
        return self.board.render(
            request, "privacy.html", {"window": window, **context}, active="privacy"
        )
