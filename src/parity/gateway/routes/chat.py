"""POST /v1/chat/completions: parse, route, execute, answer, record."""

from __future__ import annotations

import contextlib
import logging
import time
from dataclasses import dataclass, field
from typing import Any

import orjson

from parity.catalog.deployment import Deployment
from parity.errors import ParityError, http_status
from parity.gateway.asgi import ClientGone, Headers, Receive, Scope, Send, read_body, send_bytes
from parity.gateway.limits import Admission
from parity.gateway.prompts import PromptStore
from parity.gateway.protocol import ChatCall, error_bytes, parse_chat
from parity.gateway.routes.stream import StreamRelay
from parity.gateway.runtime import Runtime
from parity.providers.base import Completion, Usage
from parity.routing.executor import Opened, Trace
from parity.routing.plan import Caller, RoutePlan, RouteRequest
from parity.routing.signals.shape import estimate_prompt_tokens
from parity.store.base import LedgerRow

__all__ = ["ChatRoute"]

log = logging.getLogger("parity.gateway")

_JSON = (b"content-type", b"application/json")
_SSE = [
    (b"content-type", b"text/event-stream"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),
]


def estimate_tokens(text: str) -> int:
    """About four characters a token: used only when the upstream reports no usage."""
    return (len(text) + 3) // 4


@dataclass(slots=True)
class Exchange:
    """One request in flight: what came in, where it went, and its ledger row."""

    request_id: str
    started: float
    row: LedgerRow
    trace: Trace = field(default_factory=Trace)
    call: ChatCall | None = None
    plan: RoutePlan | None = None
    vault: Any = None  # set when entities were masked and must be restored in the answer
    sent_body: dict[str, Any] | None = None  # what the upstream received (masked or not)
    admission: Admission | None = None  # the caller's limits it took; settled in _record

    def elapsed_ms(self) -> float:
        """Milliseconds since the request arrived."""
        return (time.perf_counter() - self.started) * 1000

    def headers(self, model: str) -> Headers:
        """The x-parity-* headers every response carries."""
        out = [
            (b"x-parity-request-id", self.request_id.encode()),
            (b"x-parity-model", model.encode()),
        ]
        if self.plan is not None:
            out.append((b"x-parity-route", self.plan.header().encode()))
        return out


class ChatRoute:
    """The chat-completions handler; one instance per gateway."""

    def __init__(self, runtime: Runtime):
        self.rt = runtime
        self._limit = runtime.settings.server.max_body_bytes
        self._body_timeout = runtime.settings.server.body_timeout_s
        self._names = frozenset(runtime.deployments) | frozenset(runtime.router.names)
        self._prompts = PromptStore(runtime.settings, runtime.router)
        self._observer = runtime.observer

    async def __call__(
        self, scope: Scope, receive: Receive, send: Send, request_id: str, started: float
    ) -> None:
        row = LedgerRow(request_id, time.time(), model_requested="", status=0, total_ms=0.0)
        ex = Exchange(request_id, started, row)
        try:
            await self._handle(scope, receive, send, ex)
        except ParityError as exc:
            await self._fail(send, exc, ex)
        except ClientGone:
            row.status, row.error_type = 499, "ClientDisconnected"
        except Exception as exc:
            log.exception("request %s failed", request_id)
            await self._fail(send, ParityError(f"internal error: {exc}"), ex)
        finally:
            self._record(ex)

    def _record(self, ex: Exchange) -> None:
        """Queue the ledger row. Nothing here may stop the row from being written."""
        row = ex.row
        if row.status == 0:  # cancelled mid-flight: the client went away
            row.status, row.error_type = 499, "ClientDisconnected"
        if not row.total_ms:
            row.total_ms = ex.elapsed_ms()
        row.attempts = max(1, len(ex.trace.attempts))
        try:
            row.trace = self._trace(ex)
            self._prompts.redact(row, ex.call.body if ex.call else None, ex.plan)
            self.rt.tracker.add(row)
        except Exception as exc:
            log.exception("request %s: building its trace failed", ex.request_id)
            row.trace = {"trace_error": repr(exc)}
        if ex.admission is not None:
            tokens = (row.input_tokens or 0) + (row.output_tokens or 0)
            self.rt.spawn(self.rt.limits.settle(ex.admission, row.cost_usd, tokens))
        if self.rt.writer is not None:
            self.rt.writer.submit(row)
        if self._observer is not None:  # metrics and the access log
            self._observer.finished(row, ex.trace, ex.call.body if ex.call else None)

    async def _handle(self, scope: Scope, receive: Receive, send: Send, ex: Exchange) -> None:
        headers: dict[bytes, bytes] = dict(scope["headers"])
        caller = self.rt.auth.caller_for(headers)
        ex.row.key_id, ex.row.tenant = caller.key_id, caller.tenant
        raw = await read_body(receive, headers, self._limit, self._body_timeout)
        ex.call = call = parse_chat(raw)
        ex.row.model_requested, ex.row.stream = call.model, call.stream
        if self._prompts.keep_raw:
            ex.row.request_body = raw
        ex.plan = plan = self._plan(call, caller, headers)
        ex.row.route, ex.row.route_reason = plan.route, plan.reason
        if self.rt.limits.applies(caller):
            ex.admission = await self.rt.limits.admit(ex.request_id, caller, call.body, plan)
        ex.row.data_classes = list(plan.data_classes)
        body = ex.sent_body = self._masked(call.body, plan, ex)
        if call.stream:
            opened = await self.rt.executor.open_stream(plan, body, ex.trace)
            self._answered_by(ex, opened.deployment)
            await self._relay(send, call, opened, ex)
        else:
            deployment, completion = await self.rt.executor.complete(plan, body, ex.trace)
            self._answered_by(ex, deployment)
            if ex.vault is not None:
                from parity.routing.redact import restore_response

                restored = restore_response(completion.body, ex.vault)
                completion = Completion(restored, completion.usage)
            await self._respond(send, call, deployment, completion, ex)
        if plan.shadow is not None:
            self.rt.spawn(self._shadow(plan.shadow, body, ex))

    @staticmethod
    def _masked(body: dict[str, Any], plan: RoutePlan, ex: Exchange) -> dict[str, Any]:
        """The body with detected entities masked when the plan redacts."""
        if not plan.redact or plan.findings is None:
            return body
        from parity.routing.redact import mask_chat  # privacy detection is an optional extra

        masked = mask_chat(body, plan.findings)
        plan.trace["masked_entities"] = masked.masked
        if plan.restore and masked.masked:
            ex.vault = masked.vault
        return masked.body

    def _plan(self, call: ChatCall, caller: Caller, headers: dict[bytes, bytes]) -> RoutePlan:
        wanted = b"x-parity-route" in headers or b"x-parity-tags" in headers
        request = RouteRequest(
            model=call.model,
            body=call.body,
            caller=caller,
            headers={k.decode("latin-1"): v.decode("latin-1") for k, v in headers.items()}
            if wanted
            else {},
        )
        return self.rt.router.plan(request)

    def _answered_by(self, ex: Exchange, deployment: Deployment) -> None:
        ex.row.model_answered = deployment.id
        ex.row.residency = deployment.residency.value
        ex.row.sent_to = sorted(
            {self.rt.deployments[a.model].residency.value for a in ex.trace.attempts}
        )
        if ex.plan is not None and ex.plan.shadow is not None:
            shadow = self.rt.deployments[ex.plan.shadow].residency.value
            ex.row.sent_to = sorted({*ex.row.sent_to, shadow})

    def _trace(self, ex: Exchange) -> dict[str, Any]:
        trace: dict[str, Any] = {}
        if ex.plan is not None:
            trace.update(ex.plan.trace)
            trace["rule"] = ex.plan.rule
            trace["plan"] = list(ex.plan.models)
        trace["attempts"] = [a.as_dict() for a in ex.trace.attempts]
        if ex.trace.skipped:
            trace["breaker_open"] = ex.trace.skipped
        if ex.trace.validations:
            trace["validations"] = ex.trace.validations
        if ex.trace.escalations:
            trace["escalations"] = ex.trace.escalations
        trace["residencies"] = {
            a.model: self.rt.deployments[a.model].residency.value for a in ex.trace.attempts
        }
        return trace

    def _usage(self, ex: Exchange, deployment: Deployment, usage: Usage | None, text: str) -> None:
        call = ex.call
        assert call is not None
        if usage is None:
            usage = Usage(estimate_prompt_tokens(call.body), estimate_tokens(text), True)
        row = ex.row
        row.input_tokens, row.output_tokens = usage.input_tokens, usage.output_tokens
        row.usage_estimated = usage.estimated
        row.cost_usd = deployment.price.cost(usage.input_tokens, usage.output_tokens)
        if self._prompts.keep_text:
            row.response_text = text

    async def _respond(
        self,
        send: Send,
        call: ChatCall,
        deployment: Deployment,
        completion: Completion,
        ex: Exchange,
    ) -> None:
        payload = orjson.dumps(completion.body)
        self._usage(ex, deployment, completion.usage, completion.text)
        ex.row.status = 200
        ex.row.ttfb_ms = ex.row.total_ms = ex.elapsed_ms()
        length = (b"content-length", str(len(payload)).encode())
        headers = [_JSON, length, *ex.headers(deployment.id)]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": payload})

    async def _relay(self, send: Send, call: ChatCall, opened: Opened, ex: Exchange) -> None:
        deployment = opened.deployment
        headers = [*_SSE, *ex.headers(deployment.id)]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        ex.row.ttfb_ms = ex.elapsed_ms()
        restorer = None
        if ex.vault is not None:
            from parity.routing.redact import ChatStreamRestorer

            restorer = ChatStreamRestorer(ex.vault)
        relay = StreamRelay(
            send, model=deployment.id, include_usage=call.include_usage, restorer=restorer
        )
        chunk: dict[str, Any] | None = opened.first
        try:
            while chunk is not None:
                await relay.forward(chunk)
                chunk = await anext(opened.rest, None)
            await relay.flush_restorer()
            ex.row.status = 200
        except ParityError as exc:
            ex.row.status = http_status(exc)
            ex.row.error_type, ex.row.error_message = exc.kind, exc.message
            await relay.fail(exc)
        finally:
            await opened.rest.aclose()
        usage = await relay.close(estimate_prompt_tokens(call.body))
        self._usage(ex, deployment, usage, "".join(relay.text))
        ex.row.total_ms = ex.elapsed_ms()

    async def _shadow(self, target: str, body: dict[str, Any], ex: Exchange) -> None:
        """Send a copy to the shadow deployment after answering; store it as its own row."""
        started = time.perf_counter()
        row = LedgerRow(
            request_id=f"{ex.request_id}-shadow",
            ts=time.time(),
            model_requested=ex.row.model_requested,
            model_answered=target,
            status=0,
            total_ms=0.0,
            key_id=ex.row.key_id,
            tenant=ex.row.tenant,
            route="shadow",
            route_reason=f"shadow copy of {ex.request_id}",
            residency=self.rt.deployments[target].residency.value,
            sent_to=[self.rt.deployments[target].residency.value],
            data_classes=list(ex.row.data_classes),
            request_body=ex.row.request_body,
            trace={"shadow_of": ex.request_id},
        )
        copy = {k: v for k, v in body.items() if k not in ("stream", "stream_options")}
        try:
            completion = await self.rt.providers[target].chat(copy)
            row.status = 200
            row.response_text = self._prompts.shadow_text(completion.text)
            usage = completion.usage or Usage(
                estimate_prompt_tokens(copy), estimate_tokens(completion.text), True
            )
            row.input_tokens, row.output_tokens = usage.input_tokens, usage.output_tokens
            row.usage_estimated = usage.estimated
            row.cost_usd = self.rt.deployments[target].price.cost(
                usage.input_tokens, usage.output_tokens
            )
        except ParityError as exc:
            row.status = http_status(exc)
            row.error_type, row.error_message = exc.kind, exc.message
        row.total_ms = (time.perf_counter() - started) * 1000
        self.rt.tracker.add(row)
        if ex.admission is not None:  # counts toward the budgets, never refused
            await self.rt.limits.charge(ex.admission, row.cost_usd, row.ts)
        if self.rt.writer is not None:
            self.rt.writer.submit(row)

    async def _fail(self, send: Send, exc: ParityError, ex: Exchange) -> None:
        row = ex.row
        row.status = http_status(exc)
        row.error_type, row.error_message = exc.kind, exc.message
        row.total_ms = ex.elapsed_ms()
        # Only a name the config knows goes into a header: a client's own text could carry
        # CR, LF or NUL, which the server refuses to send (and which would split headers).
        model = row.model_answered or row.model_requested
        if model not in self._names:
            model = "none"
        headers: Headers = [_JSON, *ex.headers(model), *exc.headers()]
        # If the response had already started, or the client left, the ledger row still tells.
        with contextlib.suppress(OSError, RuntimeError):
            await send_bytes(send, row.status, headers, error_bytes(exc))
