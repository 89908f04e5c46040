"""Safety guards: what the route guards decided (blocks, re-routes, flags, errors) in a window."""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from parity.errors import Unavailable
from parity.store.guard_log import GuardLog
from parity.web import ledger_view as view
from parity.web.board import Dashboard

__all__ = ["GuardsPage"]

LIMIT = 200
ACTIONS = ("allow", "flag", "reroute", "block", "fail_open", "fail_closed")


class GuardsPage:
    """GET /guards, read from the ledger's guard_decisions table (migration 009)."""

    def __init__(self, board: Dashboard) -> None:
        self.board = board

    def routes(self) -> list[BaseRoute]:
        return [Route("/guards", self.page, name="guards")]

    def _context(self, since: float | None) -> dict[str, Any]:
        settings = self.board.settings
        guarded = {n: r.guard for n, r in settings.routes.items() if r.guard is not None}
        log = GuardLog(settings.ledger.url)
        try:
            counts = log.counts(since)
            decisions = log.recent(since=since, limit=LIMIT + 1)
        except Unavailable as exc:  # the ledger is down, or older than migration 009
            return {"problem": str(exc), "counts": [], "decisions": [], "guarded": guarded,
                    "more": False, "limit": LIMIT, "guards": settings.guards}  # fmt: skip
        finally:
            log.close()
        table = [
            (stage, [counts.get((stage, action), 0) for action in ACTIONS])
            for stage in ("input", "output")
        ]
        return {
            "problem": None,
            "counts": table,
            "actions": ACTIONS,
            "decisions": decisions[:LIMIT],
            "more": len(decisions) > LIMIT,
            "limit": LIMIT,
            "guarded": guarded,
            "guards": settings.guards,
        }

    async def page(self, request: Request) -> Response:
        window, since = view.window_since(request.query_params.get("window", "7d"))
        context = await run_in_threadpool(self._context, since)
        return self.board.render(
            request, "guards.html", {"window": window, "actions": ACTIONS, **context},
            active="guards",
        )  # fmt: skip
