"""POST /v1/chat/completions: parse, route, call, answer, record."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncGenerator
from typing import Any

import orjson

from parity.catalog.deployment import Deployment
from parity.errors import ParityError, UpstreamProtocolError, http_status
from parity.gateway.asgi import ClientGone, Headers, Receive, Scope, Send, read_body, request_headers
from parity.gateway.protocol import SSE_DONE, ChatCall, error_bytes, parse_chat, sse_data
from parity.gateway.runtime import Runtime
from parity.providers.base import Usage, usage_from
from parity.routing.plan import Caller, RoutePlan, RouteRequest
from parity.store.base import LedgerRow

__all__ = ["ChatRoute"]

log = logging.getLogger("parity.gateway")

_JSON = (b"content-type", b"application/json")
_SSE = [
    (b"content-type", b"text/event-stream"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),
]


def _estimate_tokens(text: str) -> int:
    """About four characters a token: used only when the upstream reports no usage."""
    return max(1, (len(text) + 3) // 4) if text else 0


def _prompt_text(body: dict[str, Any]) -> str:
    parts: list[str] = []
    for message in body.get("messages") or ():
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, str):
            parts.append(content)
        elif isinstance(content, list):
            parts.extend(p.get("text", "") for p in content if isinstance(p, dict))
    return "\n".join(parts)


class ChatRoute:
    """The chat-completions handler; one instance per gateway."""

    def __init__(self, runtime: Runtime):
        self.rt = runtime
        self._limit = runtime.settings.server.max_body_bytes
        self._keep_bodies = True

    async def __call__(
        self, scope: Scope, receive: Receive, send: Send, request_id: str, started: float
    ) -> None:
        ts = time.time()
        row = LedgerRow(request_id=request_id, ts=ts, model_requested="", status=0, total_ms=0.0)
        headers = request_headers(scope)
        rid = request_id.encode()
        try:
            caller = self.rt.auth.caller(headers.get(b"authorization"), headers.get(b"x-api-key"))
            row.key_id, row.tenant = caller.key_id, caller.tenant
            raw = await read_body(receive, headers, self._limit)
            call = parse_chat(raw)
            row.model_requested = call.model
            row.stream = call.stream
            if self._keep_bodies:
                row.request_body = raw
            plan = self._plan(call, caller, headers)
            row.route = plan.route
            row.route_reason = plan.reason
            deployment = self.rt.deployments[plan.primary]
            row.model_answered = deployment.id
            row.residency = deployment.residency.value
            row.sent_to = [deployment.residency.value]
            base = [
                (b"x-parity-request-id", rid),
                (b"x-parity-model", deployment.id.encode()),
                (b"x-parity-route", plan.header().encode()),
            ]
            if call.stream:
                await self._stream(send, call, deployment, base, row, started)
            else:
                await self._complete(send, call, deployment, base, row, started)
        except ParityError as exc:
            await self._fail(send, exc, row, rid, started)
        except ClientGone:
            row.status, row.error_type = 499, "ClientDisconnected"
        except Exception as exc:
            log.exception("request %s failed", request_id)
            await self._fail(send, ParityError(f"internal error: {exc}"), row, rid, started)
        finally:
            if row.status == 0:  # cancelled mid-flight: the client went away
                row.status = 499
                row.error_type = "ClientDisconnected"
            if not row.total_ms:
                row.total_ms = (time.perf_counter() - started) * 1000
            self._record(row)

    def _plan(self, call: ChatCall, caller: Caller, headers: dict[bytes, bytes]) -> RoutePlan:
        request = RouteRequest(
            model=call.model,
            body=call.body,
            caller=caller,
            headers={k.decode("latin-1"): v.decode("latin-1") for k, v in headers.items()}
            if b"x-parity-route" in headers or b"x-parity-tags" in headers
            else {},
        )
        return self.rt.router.plan(request)

    def _record(self, row: LedgerRow) -> None:
        writer = self.rt.writer
        if writer is not None:
            writer.submit(row)

    def _finish(
        self, row: LedgerRow, deployment: Deployment, usage: Usage | None, started: float
    ) -> None:
        row.total_ms = (time.perf_counter() - started) * 1000
        if usage is not None:
            row.input_tokens, row.output_tokens = usage.input_tokens, usage.output_tokens
            row.usage_estimated = usage.estimated
            row.cost_usd = deployment.price.cost(usage.input_tokens, usage.output_tokens)

    async def _complete(
        self,
        send: Send,
        call: ChatCall,
        deployment: Deployment,
        base: Headers,
        row: LedgerRow,
        started: float,
    ) -> None:
        completion = await self.rt.providers[deployment.id].chat(call.body)
        usage = completion.usage or Usage(
            _estimate_tokens(_prompt_text(call.body)),
            _estimate_tokens(completion.text),
            estimated=True,
        )
        payload = orjson.dumps(completion.body)
        row.status = 200
        row.response_text = completion.text
        self._finish(row, deployment, usage, started)
        row.ttfb_ms = row.total_ms
        await send({"type": "http.response.start", "status": 200, "headers": [_JSON, *base]})
        await send({"type": "http.response.body", "body": payload})

    async def _stream(
        self,
        send: Send,
        call: ChatCall,
        deployment: Deployment,
        base: Headers,
        row: LedgerRow,
        started: float,
    ) -> None:
        chunks: AsyncGenerator[dict[str, Any], None] = self.rt.providers[deployment.id].stream(call.body)
        try:
            first = await anext(chunks)
        except StopAsyncIteration as exc:
            raise UpstreamProtocolError(
                f"upstream '{deployment.id}' sent an empty stream", deployment=deployment.id
            ) from exc
        await send({"type": "http.response.start", "status": 200, "headers": [*_SSE, *base]})
        row.ttfb_ms = (time.perf_counter() - started) * 1000
        usage: Usage | None = None
        text: list[str] = []
        chunk: dict[str, Any] | None = first
        try:
            while chunk is not None:
                reported = usage_from(chunk.get("usage"))
                if reported is not None:
                    usage = reported
                choices = chunk.get("choices")
                if choices:
                    delta = choices[0].get("delta") or {}
                    content = delta.get("content")
                    if isinstance(content, str):
                        text.append(content)
                if choices or call.include_usage:
                    await send(
                        {"type": "http.response.body", "body": sse_data(chunk), "more_body": True}
                    )
                chunk = await anext(chunks, None)
            row.status = 200
        except ParityError as exc:
            # Headers are gone: tell the client in-band, as OpenAI does, then end the stream.
            row.status = http_status(exc)
            row.error_type, row.error_message = exc.kind, exc.message
            await send(
                {"type": "http.response.body", "body": sse_data(exc.body()), "more_body": True}
            )
        finally:
            await chunks.aclose()
        answer = "".join(text)
        row.response_text = answer
        if usage is None:
            usage = Usage(
                _estimate_tokens(_prompt_text(call.body)), _estimate_tokens(answer), estimated=True
            )
        self._finish(row, deployment, usage, started)
        await send({"type": "http.response.body", "body": SSE_DONE, "more_body": False})

    async def _fail(
        self, send: Send, exc: ParityError, row: LedgerRow, rid: bytes, started: float
    ) -> None:
        row.status = http_status(exc)
        row.error_type, row.error_message = exc.kind, exc.message
        row.total_ms = (time.perf_counter() - started) * 1000
        model = (row.model_answered or row.model_requested or "none").encode()
        headers: Headers = [
            _JSON,
            (b"x-parity-request-id", rid),
            (b"x-parity-model", model),
            *exc.headers(),
        ]
        try:
            await send({"type": "http.response.start", "status": row.status, "headers": headers})
            await send({"type": "http.response.body", "body": error_bytes(exc)})
        except (OSError, RuntimeError):
            # The response already started (a stream broke after its first byte) or the
            # client left: the ledger row still records what happened.
            pass
