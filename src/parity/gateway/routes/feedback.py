"""POST /v1/feedback: a score, verdict, label or corrected answer for one request.

The same keys as the rest of the API: with auth on, a caller may give feedback only on requests
its own key made (an admin key on any); anyone else's request id is a 404, so ids cannot be
probed. The row may still be in the ledger writer's queue when feedback arrives right after the
answer, so while the writer holds unwritten rows a missing one is looked up again.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import asdict
from typing import Any

import orjson

from parity.errors import InvalidField, InvalidJSON, NotFound
from parity.gateway.asgi import Receive, Scope, Send, read_body
from parity.gateway.runtime import Runtime
from parity.gateway.serving.replies import answer
from parity.routing.plan import Caller
from parity.store.base import Feedback, LedgerRow
from parity.store.feedback import parse_feedback

__all__ = ["FEEDBACK_PATH", "FeedbackRoute", "feedback_json"]

FEEDBACK_PATH = "/v1/feedback"
_BODY_LIMIT = 512 * 1024
_LOOKUPS = 4


def feedback_json(fb: Feedback) -> dict[str, Any]:
    """The API's view of one piece of feedback."""
    data = asdict(fb)
    data["id"] = data.pop("feedback_id")
    return {"object": "feedback", **data}


class FeedbackRoute:
    """The POST /v1/feedback handler; one instance per gateway."""

    def __init__(self, runtime: Runtime):
        self.rt = runtime

    async def __call__(
        self, scope: Scope, receive: Receive, send: Send, request_id: str, started: float
    ) -> None:
        await answer(send, request_id, self._created(scope, receive))

    async def _created(self, scope: Scope, receive: Receive) -> tuple[int, Any]:
        return 201, feedback_json(await self._handle(scope, receive))

    async def _handle(self, scope: Scope, receive: Receive) -> Feedback:
        raw_headers: dict[bytes, bytes] = dict(scope["headers"])
        caller = self.rt.auth.caller_for(raw_headers)
        timeout = self.rt.settings.server.body_timeout_s
        raw = await read_body(receive, raw_headers, _BODY_LIMIT, timeout)
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise InvalidJSON(f"the body is not valid JSON: {exc}") from exc
        if not isinstance(data, dict):
            raise InvalidField("the body must be a JSON object")
        feedback = parse_feedback(data, ts=time.time(), key_id=caller.key_id)
        row = await self._row(feedback.request_id)
        if row is None or not _may_see(caller, row):
            raise NotFound(
                f"no request '{feedback.request_id}' in the ledger for this key",
                param="request_id",
                code="request_not_found",
            )
        await asyncio.to_thread(self.rt.ledger.add_feedback, feedback)
        return feedback

    async def _row(self, request_id: str) -> LedgerRow | None:
        """The row, waiting for the writer while it still holds unwritten rows."""
        wait = self.rt.settings.ledger.flush_interval_s
        writer = self.rt.writer
        for _ in range(_LOOKUPS):
            row = await asyncio.to_thread(self.rt.ledger.row, request_id)
            if row is not None or writer is None or writer.depth == 0:
                return row
            await asyncio.sleep(wait)
        return await asyncio.to_thread(self.rt.ledger.row, request_id)


def _may_see(caller: Caller, row: LedgerRow) -> bool:
    """Admins see every request; other keys their own; with auth off, everyone everything."""
    return caller.admin or caller.key_id is None or caller.key_id == row.key_id
