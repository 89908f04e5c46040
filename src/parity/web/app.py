"""build_ui(): the dashboard as an ASGI app that the gateway mounts under /ui.

Starlette does the routing, templates and static files here: the dashboard is off the hot path,
so a framework's cost does not matter, and the API paths never pass through it (the gateway
dispatches them first). Ledger reads and file work run in Starlette's thread pool so a slow page
never blocks the event loop that serves chat requests.
"""

from __future__ import annotations

from pathlib import Path

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates
from starlette.types import ASGIApp

from parity.gateway.runtime import Runtime
from parity.web.auth import AdminGate, SignIn
from parity.web.board import Dashboard, runs_dir_from, template_environment
from parity.web.pages.canary import CanaryPage
from parity.web.pages.costs import Costs
from parity.web.pages.gaptests import GapTests
from parity.web.pages.guards import GuardsPage
from parity.web.pages.judge import BlindJudge
from parity.web.pages.overview import Overview
from parity.web.pages.privacy import PrivacyAudit
from parity.web.pages.requests import Requests
from parity.web.pages.router import RouterPage

__all__ = ["build_ui"]


def build_ui(runtime: Runtime, *, prefix: str = "/ui", runs_dir: Path | None = None) -> ASGIApp:
    """The dashboard for ``runtime``'s gateway, served under ``prefix``.

    ``runs_dir`` is the folder of gap-test runs; default ``$PARITY_RUNS_DIR``, else ``./runs``.
    """
    prefix = "/" + prefix.strip("/")
    board = Dashboard(
        runtime=runtime,
        prefix=prefix,
        runs_dir=runs_dir.resolve() if runs_dir else runs_dir_from(runtime.env),
        templates=Jinja2Templates(env=template_environment()),
    )
    routes: list[BaseRoute] = []
    pages = (
        SignIn(board),
        Overview(board),
        Requests(board),
        PrivacyAudit(board),
        GuardsPage(board),
        BlindJudge(board),  # before GapTests: its /gaptests/{run:path} would take …/judge
        GapTests(board),
        RouterPage(board),
        Costs(board),
        CanaryPage(board),
    )
    for page in pages:
        routes += page.routes()
    routes.append(Mount("/static", StaticFiles(packages=[("parity.web", "static")]), name="static"))
    return Starlette(
        routes=[Mount(prefix, routes=routes)],
        middleware=[Middleware(AdminGate, board=board)],
    )
