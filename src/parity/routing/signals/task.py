"""The task signal: the task name a request carries, for route rules, the ledger and tuning.

A client names its task in the OpenAI body's ``metadata.task`` (e.g. ``{"task":
"ticket-extract"}``) or in an ``x-parity-task`` header; the body wins when both are given. This
module is the one home of that rule: the gateway stores the same name in the ledger row.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from parity.errors import InvalidField
from parity.routing.plan import RouteRequest

__all__ = ["TASK_HEADER", "TASK_PATTERN", "TaskSignal", "request_task"]

TASK_HEADER = "x-parity-task"
TASK_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,63}$")


def request_task(body: Mapping[str, Any], headers: Mapping[str, str]) -> str | None:
    """The request's task name, or None; InvalidField (a 400) when it is not a valid name."""
    metadata = body.get("metadata")
    value: Any = None
    where = "metadata.task"
    if isinstance(metadata, dict):
        value = metadata.get("task")
    if value is None:
        value, where = headers.get(TASK_HEADER), TASK_HEADER
    if value is None:
        return None
    if not isinstance(value, str) or not TASK_PATTERN.match(value):
        raise InvalidField(
            f"{where} must be a task name of 1-64 letters, digits and _.:/- (starting with a "
            f"letter or digit), got {str(value)[:80]!r}",
            param=where,
        )
    return value


class TaskSignal:
    """task.name: the request's task name ('' when none), e.g. ``when: {task.name: x}``."""

    name = "task"

    def compute(self, request: RouteRequest) -> dict[str, Any]:
        """The task name from metadata.task or x-parity-task."""
        return {"name": request_task(request.body, request.headers) or ""}
