"""Gateway logs: text or one JSON object per line, the request id on every request's lines.

The gateway sets ``REQUEST_ID`` (a context variable) when a request arrives, so every line
logged while it is handled (in gateway/, routing/, providers/, and background tasks it spawns)
carries that id without passing it around. ``AccessLog`` wraps the ASGI app and writes one line
per request. Exception messages can echo a prompt (an upstream error quoting the input, a
parser error quoting a value), so unless ``logging.log_prompts`` is on, exceptions are logged by
type and stack frames only.
"""

from __future__ import annotations

import logging
import sys
import time
import traceback
from collections.abc import Awaitable, Callable, MutableMapping
from contextvars import ContextVar
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

import orjson

from parity.config.observability import LoggingSettings
from parity.gateway.asgi import Receive, Scope, Send
from parity.store.base import LedgerRow

__all__ = [
    "REQUEST_ID",
    "REQUEST_PROMPT",
    "REQUEST_ROW",
    "AccessLog",
    "JsonFormatter",
    "TextFormatter",
    "configure_logging",
]

REQUEST_ID: ContextVar[str | None] = ContextVar("parity_request_id", default=None)
"""The id of the request being handled in this context, if any."""
REQUEST_ROW: ContextVar[LedgerRow | None] = ContextVar("parity_request_row", default=None)
"""The finished ledger row of a chat request, for its access-log line."""
REQUEST_PROMPT: ContextVar[str | None] = ContextVar("parity_request_prompt", default=None)
"""The last user message of a chat request, set only when logging.log_prompts is on."""

ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
Message = MutableMapping[str, Any]
ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]
_WITHHELD = "(message withheld: logging.log_prompts is off)"


def _exception_text(exc_info: ExcInfo, log_prompts: bool) -> str:
    """The traceback; without log_prompts, each exception in the chain by type only."""
    if log_prompts:
        return "".join(traceback.format_exception(*exc_info)).rstrip()
    parts: list[str] = []
    error: BaseException | None = exc_info[1]
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        frames = "".join(traceback.format_tb(error.__traceback__))
        name = f"{type(error).__module__}.{type(error).__qualname__}"
        parts.append(f"Traceback (most recent call last):\n{frames}{name}: {_WITHHELD}")
        error = error.__cause__ or error.__context__
    return "\n\nwhich was raised while handling or from:\n".join(parts)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, message, request_id and any fields."""

    def __init__(self, *, log_prompts: bool = False):
        super().__init__()
        self._log_prompts = log_prompts

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = getattr(record, "request_id", None) or REQUEST_ID.get()
        if request_id is not None:
            out["request_id"] = request_id
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            out.update(fields)
        if record.exc_info and record.exc_info[1] is not None:
            out["exception"] = _exception_text(record.exc_info, self._log_prompts)
        return orjson.dumps(out, default=str).decode()


class TextFormatter(logging.Formatter):
    """``time logger [request id] message``, with the same exception rule as JSON."""

    def __init__(self, *, log_prompts: bool = False):
        super().__init__("%(asctime)s %(name)s %(message)s")
        self._log_prompts = log_prompts

    def format(self, record: logging.LogRecord) -> str:
        request_id = getattr(record, "request_id", None) or REQUEST_ID.get()
        exc_info, record.exc_info, record.exc_text = record.exc_info, None, None
        try:
            line = super().format(record)
        finally:
            record.exc_info = exc_info
        if request_id is not None:
            line = line.replace(f" {record.name} ", f" {record.name} [{request_id}] ", 1)
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            line += " " + " ".join(f"{k}={v}" for k, v in fields.items() if v is not None)
        if exc_info and exc_info[1] is not None:
            line += "\n" + _exception_text(exc_info, self._log_prompts)
        return line


def configure_logging(settings: LoggingSettings) -> None:
    """Send every logger (uvicorn's included) through one stderr handler in the chosen format."""
    handler = logging.StreamHandler(sys.stderr)
    if settings.format == "json":
        handler.setFormatter(JsonFormatter(log_prompts=settings.log_prompts))
    else:
        handler.setFormatter(TextFormatter(log_prompts=settings.log_prompts))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(settings.level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi"):
        child = logging.getLogger(name)
        child.handlers.clear()
        child.propagate = True
    logging.captureWarnings(True)


class AccessLog:
    """ASGI wrapper: one INFO line per HTTP request on the ``parity.access`` logger."""

    def __init__(self, app: ASGIApp):
        self.app = app
        self._log = logging.getLogger("parity.access")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 0

        async def capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            self._write(scope, status, (time.perf_counter() - started) * 1000)

    def _write(self, scope: Scope, status: int, ms: float) -> None:
        fields: dict[str, Any] = {
            "method": scope.get("method"),
            "path": scope.get("path"),  # never the query string: it may carry a key
            "status": status or 499,
            "latency_ms": round(ms, 2),
        }
        row = REQUEST_ROW.get()
        if row is not None:
            fields.update(
                model=row.model_answered,
                route=row.route,
                status=row.status,
                input_tokens=row.input_tokens,
                output_tokens=row.output_tokens,
                cost_usd=row.cost_usd,
                error_type=row.error_type,
            )
            prompt = REQUEST_PROMPT.get()
            if prompt is not None:
                fields["prompt"] = prompt
        message = f"{fields['method']} {fields['path']} {fields['status']}"
        self._log.info(message, extra={"fields": fields})
