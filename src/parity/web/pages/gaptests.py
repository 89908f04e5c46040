"""Gap tests: the runs under the runs folder, each run's report, and rebuilding a report."""

from __future__ import annotations

import itertools
from typing import Any
from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from parity.errors import ConfigError
from parity.evaluation.rundir import RunDir
from parity.web.board import Dashboard
from parity.web.runs import list_runs, resolve_run, summarise

__all__ = ["GapTests"]

# The report is one self-contained file with inline styles and SVG and no scripts.
_REPORT_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'self'"


class GapTests:
    """GET /gaptests, GET /gaptests/{run}, GET /gaptests/{run}/report.html, POST …/report."""

    def __init__(self, board: Dashboard) -> None:
        self.board = board

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/gaptests", self.index, name="gaptests"),
            Route("/gaptests/{run:path}/report.html", self.report_file, name="report"),
            Route("/gaptests/{run:path}/report", self.rebuild, methods=["POST"]),
            Route("/gaptests/{run:path}", self.run_page, name="run"),
        ]

    async def index(self, request: Request) -> Response:
        runs = await run_in_threadpool(list_runs, self.board.runs_dir)
        context = {"runs": runs, "runs_dir": self.board.runs_dir}
        return self.board.render(request, "gaptests.html", context, active="gaptests")

    def _missing(self, request: Request, name: str) -> Response:
        context = {"name": name, "runs_dir": self.board.runs_dir}
        return self.board.render(
            request, "run_missing.html", context, status=404, active="gaptests"
        )

    def _run(self, request: Request) -> tuple[str, RunDir | None]:
        name = str(request.path_params["run"])
        return name, resolve_run(self.board.runs_dir, name)

    async def run_page(self, request: Request) -> Response:
        name, run = self._run(request)
        if run is None:
            return self._missing(request, name)
        summary = await run_in_threadpool(summarise, self.board.runs_dir, run)
        models = summary.manifest.model_ids if summary.manifest else []
        caller = getattr(request.state, "caller", None)
        context: dict[str, Any] = {
            "s": summary,
            "report": summary.report or {},
            "pairs": [f"{a},{b}" for a, b in itertools.combinations(models, 2)],
            "judge_name": (caller.key_id if caller and caller.key_id else "") or "web",
            "message": request.query_params.get("message", ""),
        }
        return self.board.render(request, "run.html", context, active="gaptests")

    async def report_file(self, request: Request) -> Response:
        name, run = self._run(request)
        if run is None or not (run.report_dir / "report.html").is_file():
            return self._missing(request, name)
        return FileResponse(
            run.report_dir / "report.html",
            media_type="text/html; charset=utf-8",
            headers={"content-security-policy": _REPORT_CSP},
        )

    @staticmethod
    def _write_report(run: RunDir) -> str:
        from parity.evaluation.analysis import analyse
        from parity.evaluation.report import write_report

        try:
            write_report(run, analyse(run))
        except (ConfigError, ImportError) as exc:
            return f"the report could not be written: {exc}"
        return "report rebuilt"

    async def rebuild(self, request: Request) -> Response:
        name, run = self._run(request)
        if run is None:
            return self._missing(request, name)
        message = await run_in_threadpool(self._write_report, run)
        target = self.board.url(f"/gaptests/{name}")
        return RedirectResponse(f"{target}?{urlencode({'message': message})}", status_code=303)
