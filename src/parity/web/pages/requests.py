"""Requests: the ledger, filtered and searched, and each request's decision trace."""

from __future__ import annotations

import json
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from parity.store.base import LedgerRow, RowFilter
from parity.web import ledger_view as view
from parity.web.board import Dashboard
from parity.web.forms import query_float

__all__ = ["Requests", "pretty_body"]

PAGE = 50
SEARCH_SCAN = 5_000
LOOKUP_SCAN = 20_000


def pretty_body(body: bytes | None) -> str:
    """A request body as indented JSON when it parses, else as text."""
    if not body:
        return ""
    text = body.decode("utf-8", "replace")
    try:
        return json.dumps(json.loads(text), indent=2, ensure_ascii=False)
    except ValueError:
        return text


def _signals(trace: dict[str, Any]) -> list[tuple[str, str, float | None]]:
    """(signal, its values as JSON, microseconds it took) for each signal in a trace."""
    out: list[tuple[str, str, float | None]] = []
    for name, values in sorted((trace.get("signals") or {}).items()):
        if not isinstance(values, dict):
            out.append((name, json.dumps(values, ensure_ascii=False), None))
            continue
        shown = {k: v for k, v in values.items() if k != "us"}
        out.append((name, json.dumps(shown, ensure_ascii=False, sort_keys=True), values.get("us")))
    return out


class Requests:
    """GET /requests (list) and GET /requests/{id} (one request and its trace)."""

    def __init__(self, board: Dashboard) -> None:
        self.board = board

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/requests", self.list, name="requests"),
            Route("/requests/{request_id}", self.detail, name="request"),
        ]

    def _filter(self, query: dict[str, str]) -> tuple[RowFilter, str]:
        window, since = view.window_since(query.get("window", "7d"))
        status = query.get("status", "").strip()
        where = RowFilter(
            since=since,
            model=query.get("model") or None,
            key_id=query.get("key") or None,
            route=query.get("route") or None,
            status=int(status) if status.isdigit() else None,
            errors_only=query.get("errors") == "1",
            sensitive_to_vendor=query.get("sensitive") == "1",
        )
        try:
            where.until = query_float(query, "before", None)
        except ValueError:
            where.until = None
        return where, window

    def _rows(self, where: RowFilter, needle: str) -> tuple[list[LedgerRow], bool, bool]:
        """(one page of rows, whether older rows exist, whether a search hit its scan cap)."""
        if not needle:
            found = view.scan(self.board.ledger, where, PAGE)
            return found.rows, found.capped, False
        found = view.scan(self.board.ledger, where, SEARCH_SCAN)
        hits = [r for r in found.rows if view.matches_text(r, needle)]
        return hits[:PAGE], len(hits) > PAGE, found.capped

    async def list(self, request: Request) -> Response:
        query = dict(request.query_params)
        where, window = self._filter(query)
        needle = query.get("q", "").strip()
        rows, more, search_capped = await run_in_threadpool(self._rows, where, needle.lower())
        settings = self.board.settings
        context: dict[str, Any] = {
            "rows": rows,
            "more": more,
            "search_capped": search_capped,
            "search_scan": SEARCH_SCAN,
            "window": window,
            "q": needle,
            "f": query,
            "models": sorted({m.id for m in settings.models} | set(settings.routes)),
            "keys": sorted(k.id for k in settings.keys),
            "routes_known": sorted(settings.routes),
            "older": {**query, "before": repr(rows[-1].ts)} if more and rows else None,
            "newest": {k: v for k, v in query.items() if k != "before"},
            "page_size": PAGE,
        }
        return self.board.render(request, "requests.html", context, active="requests")

    def _find(self, request_id: str, at: float | None) -> LedgerRow | None:
        if at is not None:
            near = RowFilter(since=at - 0.001, until=at + 0.001, limit=100)
            for row in self.board.ledger.rows(near):
                if row.request_id == request_id:
                    return row
        # No timestamp hint: look through the newest rows (the ledger has no lookup by id).
        for row in self.board.ledger.rows(RowFilter(limit=LOOKUP_SCAN)):
            if row.request_id == request_id:
                return row
        return None

    async def detail(self, request: Request) -> Response:
        request_id = request.path_params["request_id"]
        query = dict(request.query_params)
        try:
            at = query_float(query, "at", None)
        except ValueError:
            at = None
        row = await run_in_threadpool(self._find, request_id, at)
        if row is None:
            return self.board.render(
                request,
                "request.html",
                {"row": None, "request_id": request_id, "lookup_scan": LOOKUP_SCAN},
                status=404,
                active="requests",
            )
        trace = row.trace or {}
        notes = await run_in_threadpool(self.board.ledger.feedback, [row.request_id])
        context = {
            "row": row,
            "feedback": notes.get(row.request_id, []),
            "request_id": request_id,
            "trace": trace,
            "signals": _signals(trace),
            "attempts": trace.get("attempts") or [],
            "body": pretty_body(row.request_body),
            "trace_json": json.dumps(trace, indent=2, ensure_ascii=False, sort_keys=True),
            "lookup_scan": LOOKUP_SCAN,
        }
        return self.board.render(request, "request.html", context, active="requests")
