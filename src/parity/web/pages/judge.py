"""Blind A/B judging in the browser, writing RUN/human.jsonl exactly as the terminal judge does.

The queue, the sides shown and the verdict lines all come from
``parity.evaluation.judges.human`` (the module ``parity gaptest judge`` uses), with
``ui="web"``. The page never carries a model name: each comparison is posted back by an opaque
digest of (judge, item, pair), and the server finds it again in the pending queue. A post for a
comparison that is no longer pending (a double press, a second tab) records nothing.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from parity.evaluation.judges.human import (
    CHOICES,
    Comparison,
    HumanStore,
    answer_pair,
    human_verdicts,
    pending_comparisons,
)
from parity.evaluation.records import TIE
from parity.evaluation.rundir import RunDir, read_jsonl
from parity.web.board import Dashboard
from parity.web.forms import FormTooLarge, form_fields
from parity.web.runs import resolve_run

__all__ = ["BlindJudge", "Session", "comparison_token"]

NAME = re.compile(r"[A-Za-z0-9_.@-]{1,64}")


def comparison_token(judge: str, comparison: Comparison) -> str:
    """An opaque id for a comparison that says nothing about which model is on which side."""
    parts = [judge, comparison.item.id, *sorted(comparison.shown)]
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:20]


@dataclass(frozen=True, slots=True)
class Session:
    """Who is judging which models of which run; it lives in the page's query string."""

    name: str
    models: list[str]
    chosen: str  # the models as asked for ("" means all of the run's models)
    include_skipped: bool
    since: float | None  # with include_skipped: skips made after this are not shown again

    @property
    def judge(self) -> str:
        return f"human:{self.name}"

    def query(self) -> str:
        fields: dict[str, str] = {"as": self.name}
        if self.chosen:
            fields["models"] = self.chosen
        if self.include_skipped:
            fields["skipped"] = "1"
            fields["since"] = repr(self.since or 0.0)
        return urlencode(fields)


class BlindJudge:
    """GET and POST /gaptests/{run}/judge."""

    def __init__(self, board: Dashboard) -> None:
        self.board = board

    def routes(self) -> list[BaseRoute]:
        return [Route("/gaptests/{run:path}/judge", self.handle, methods=["GET", "POST"])]

    def _session(self, run: RunDir, fields: dict[str, str]) -> Session | str:
        """The session the fields describe, or what is wrong with them."""
        name = fields.get("as", "").strip()
        if not NAME.fullmatch(name):
            return "give a name of 1-64 letters, digits, '.', '_', '-' or '@'"
        run_models = run.read_manifest().model_ids
        chosen = fields.get("models", "").strip()
        models = [m.strip() for m in chosen.split(",") if m.strip()] if chosen else run_models
        unknown = [m for m in models if m not in run_models]
        if unknown or len(models) < 2:
            return f"models must be two or more of: {', '.join(run_models)}"
        skipped = fields.get("skipped") == "1"
        since: float | None = None
        if skipped:
            try:
                since = float(fields.get("since", ""))
            except ValueError:
                since = None
        return Session(name, models, chosen, skipped, since)

    @staticmethod
    def _decided_since(run: RunDir, judge: str, since: float) -> set[tuple[str, frozenset[str]]]:
        return {
            (str(line["item"]), frozenset(line["shown"]))
            for line in read_jsonl(run.human_path)
            if line.get("judge") == judge
            and isinstance(line.get("shown"), list)
            and float(line.get("ts") or 0) >= since
        }

    def _queue(self, run: RunDir, session: Session) -> tuple[list[Comparison], int]:
        queue, done = pending_comparisons(
            run, session.judge, session.models, include_skipped=session.include_skipped
        )
        if session.include_skipped and session.since is not None:
            again = self._decided_since(run, session.judge, session.since)
            kept = [c for c in queue if c.key not in again]
            done += len(queue) - len(kept)
            queue = kept
        return queue, done

    def _record(self, run: RunDir, session: Session, token: str, choice: str) -> bool:
        """Store the choice when ``token`` names a pending comparison; False when it does not."""
        queue, _ = self._queue(run, session)
        for comparison in queue:
            if comparison_token(session.judge, comparison) == token:
                store = HumanStore(run, session.judge, ui="web")
                try:
                    store.record(comparison, choice)
                finally:
                    store.close()
                return True
        return False

    def _page(self, run: RunDir, session: Session) -> dict[str, Any]:
        queue, done = self._queue(run, session)
        total = len(queue) + done
        if not queue:
            return {"finished": True, "total": total, "tally": self._tally(run, session)}
        comparison = queue[0]
        texts = answer_pair(run.answers(), comparison)
        return {
            "finished": False,
            "position": done + 1,
            "done": done,
            "total": total,
            "left": len(queue),
            "item": comparison.item,
            "texts": texts,
            "token": comparison_token(session.judge, comparison),
        }

    @staticmethod
    def _tally(run: RunDir, session: Session) -> list[tuple[str, int]]:
        """This judge's latest verdicts on these models, now that the names may be shown."""
        counts: Counter[str] = Counter()
        wanted = set(session.models)
        for verdict in human_verdicts(run):
            if verdict.judge == session.judge and set(verdict.pair or ()) <= wanted:
                winner = verdict.winner or TIE
                counts["tie" if winner == TIE else f"{winner} better"] += 1
        return counts.most_common()

    async def handle(self, request: Request) -> Response:
        name = str(request.path_params["run"])
        run = resolve_run(self.board.runs_dir, name)
        if run is None:
            context = {"name": name, "runs_dir": self.board.runs_dir}
            return self.board.render(
                request, "run_missing.html", context, status=404, active="gaptests"
            )
        if request.method == "POST":
            try:
                fields = await form_fields(request)
            except FormTooLarge:
                return Response("form too large", status_code=413)
        else:
            fields = dict(request.query_params)
        session = await run_in_threadpool(self._session, run, fields)
        here = self.board.url(f"/gaptests/{name}/judge")
        if isinstance(session, str):
            context = {"name": name, "problem": session}
            return self.board.render(
                request, "judge_problem.html", context, status=400, active="gaptests"
            )
        if session.include_skipped and session.since is None:
            session = Session(session.name, session.models, session.chosen, True, time.time())
            return RedirectResponse(f"{here}?{session.query()}", status_code=303)
        if request.method == "POST":
            choice = fields.get("choice", "")
            if choice in CHOICES:
                await run_in_threadpool(
                    self._record, run, session, fields.get("comparison", ""), choice
                )
            return RedirectResponse(f"{here}?{session.query()}", status_code=303)
        page = await run_in_threadpool(self._page, run, session)
        context = {"name": name, "session": session, "action": here, **page}
        return self.board.render(request, "judge.html", context, active="gaptests")
