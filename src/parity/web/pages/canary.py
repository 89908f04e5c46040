"""Canary: the newest behaviour-canary verdict of every deployment, and the runs before it."""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from parity.errors import Unavailable
from parity.store.canary import CanaryResults
from parity.web.board import Dashboard

__all__ = ["CanaryPage"]

HISTORY = 50


class CanaryPage:
    """GET /canary, read from the ledger's canary_results table (parity canary writes it)."""

    def __init__(self, board: Dashboard) -> None:
        self.board = board

    def routes(self) -> list[BaseRoute]:
        return [Route("/canary", self.page, name="canary")]

    def _context(self) -> dict[str, Any]:
        store = CanaryResults(self.board.settings.ledger.url)
        try:
            latest, history = store.latest(), store.history(limit=HISTORY)
        except Unavailable as exc:  # the ledger is down, or older than migration 007
            return {"latest": [], "history": [], "problem": str(exc), "limit": HISTORY}
        finally:
            store.close()
        return {"latest": latest, "history": history, "problem": None, "limit": HISTORY}

    async def page(self, request: Request) -> Response:
        context = await run_in_threadpool(self._context)
        return self.board.render(request, "canary.html", context, active="canary")
