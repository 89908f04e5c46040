"""The serving core: plan -> admit -> mask -> execute -> restore -> account, for every door.

``ServingCore.serve`` runs one request of any front door (chat completions, Responses,
Anthropic Messages, legacy completions) through the same steps: the caller is authenticated
and the body read under its limits; the door parses it into a chat body; the router plans it;
the caller's rate limits and budgets admit it; detected entities are masked when the plan says
so; the executor runs the plan (retries, breakers, fallbacks, the cascade); masked entities are
restored in the answer; the door frames the answer; and the accounting writes the one ledger
row, whatever happened. A shadow copy, when the plan has one, goes out after the answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncGenerator, Awaitable, Callable
from dataclasses import replace
from typing import Any

from parity.catalog.deployment import Capability, Deployment
from parity.errors import InvalidField, ParityError
from parity.gateway.asgi import ClientGone, Headers, Receive, Scope, Send, read_body
from parity.gateway.cache.response_cache import CacheEntry, CacheTicket
from parity.gateway.observe import RequestObserver
from parity.gateway.runtime import Runtime
from parity.gateway.serving.accounting import Accounting
from parity.gateway.serving.door import Door, Turn
from parity.gateway.serving.exchange import Exchange
from parity.gateway.serving.guarding import GuardHook
from parity.gateway.serving.replies import JSON, ErrorRender, error_bytes, send_error
from parity.providers.base import Completion, Usage, usage_from
from parity.routing.executor import Opened
from parity.routing.plan import Caller, RoutePlan, RouteRequest
from parity.routing.signals.shape import estimate_prompt_tokens
from parity.routing.signals.task import TASK_HEADER, request_task

__all__ = ["ServingCore"]

log = logging.getLogger("parity.gateway")

SSE: Headers = [
    (b"content-type", b"text/event-stream"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),
]
_ROUTING_HEADERS = (b"x-parity-route", b"x-parity-tags", TASK_HEADER.encode())


class ServingCore:
    """One per gateway; every front door's handler calls ``serve`` with its door."""

    def __init__(self, runtime: Runtime, observer: RequestObserver | None):
        self.rt = runtime
        self.accounting = Accounting(runtime, observer)
        self.guard = GuardHook(runtime)  # a route's safety guard (docs/guards.md)
        self._limit = runtime.settings.server.max_body_bytes
        self._body_timeout = runtime.settings.server.body_timeout_s
        self._names = frozenset(runtime.deployments) | frozenset(runtime.router.names)
        # A learned router that embeds the prompt blocks for tens of milliseconds a plan
        # (docs/benchmarks.md): such a router plans in a worker thread.
        self._plan_in_thread = bool(getattr(runtime.router, "blocking", False))
        # The deployments that cannot answer each kind of request (usually none: no work then).
        self._unable = {
            need: frozenset(m for m, d in runtime.deployments.items() if not d.can(need))
            for need in Capability
        }

    async def serve(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        request_id: str,
        started: float,
        *,
        door: Door,
    ) -> None:
        """Answer one request of ``door``; its ledger row is written whatever happens."""

        async def work(ex: Exchange) -> None:
            await self._serve(door, scope, receive, send, ex)

        await self.run(
            work,
            scope,
            send,
            name=door.name,
            request_id=request_id,
            started=started,
            render=door.render_error,
        )

    async def run(
        self,
        work: Callable[[Exchange], Awaitable[None]],
        scope: Scope,
        send: Send,
        *,
        name: str,
        request_id: str,
        started: float,
        render: ErrorRender = error_bytes,
    ) -> None:
        """Run a door's ``work`` on a new exchange: its span, its error reply, its one row.

        ``serve`` runs the chat doors' steps this way; a door with its own execution
        (embeddings) passes its own ``work``, made of the public steps below.
        """
        ex = self.accounting.begin(request_id, name, started)
        tracing = self.rt.tracing
        if tracing is None:
            await self._recorded(work, send, ex, render)
            return
        with tracing.request(scope["headers"], name) as span:  # docs/observability.md
            await self._recorded(work, send, ex, render)
            tracing.finished(span, name, ex.row, ex.trace)

    async def _recorded(
        self,
        work: Callable[[Exchange], Awaitable[None]],
        send: Send,
        ex: Exchange,
        render: ErrorRender,
    ) -> None:
        try:
            await work(ex)
        except ParityError as exc:
            await self.fail(send, exc, ex, render)
        except ClientGone:
            ex.row.status, ex.row.error_type = 499, "ClientDisconnected"
        except Exception as exc:
            log.exception("request %s failed", ex.request_id)
            error = ParityError(f"internal error: {type(exc).__name__}")
            await self.fail(send, error, ex, render)
        finally:
            self.accounting.record(ex)

    async def _serve(
        self, door: Door, scope: Scope, receive: Receive, send: Send, ex: Exchange
    ) -> None:
        headers, raw = await self.receive(scope, receive, ex)
        turn = await door.open(raw, ex)
        if self.accounting.prompts.keep_raw:
            ex.row.request_body = raw
        await self.plan(ex, turn.body, turn.model, stream=turn.stream, headers=headers)
        plan = self.capable(ex, Capability.CHAT)
        if door.conform:  # refused before anything is held, read by a guard or sent
            ex.conform = True
            self.rt.executor.check(plan, turn.body)
        await self.admit(ex)
        body = self.mask(ex)
        rerouted = await self.guard.before(ex)
        if rerouted:  # re-routed by the safety guard: mask for the new plan
            body = self.mask(ex)
        ticket = None if rerouted else self._ticket(ex, turn, headers)
        if ticket is not None and await self._cached(send, ex, turn, ticket):
            return  # answered from the response cache: no upstream call, no shadow copy
        if turn.stream:
            await self._stream(send, ex, turn, body, ticket)
        else:
            await self._complete(send, ex, turn, body, ticket)
        shadow = ex.plan.shadow if ex.plan is not None else None
        if shadow is not None:
            self.rt.spawn(self._shadow(shadow, body, ex))

    # -- the steps, public so that a door with its own execution (embeddings) reuses them --

    async def receive(
        self, scope: Scope, receive: Receive, ex: Exchange
    ) -> tuple[dict[bytes, bytes], bytes]:
        """Authenticate the caller and read the body under the size and time limits."""
        headers: dict[bytes, bytes] = dict(scope["headers"])
        ex.caller = caller = self.rt.auth.caller_for(headers)
        ex.row.key_id, ex.row.tenant = caller.key_id, caller.tenant
        raw = await read_body(receive, headers, self._limit, self._body_timeout)
        return headers, raw

    async def plan(
        self,
        ex: Exchange,
        body: dict[str, Any],
        model: str,
        *,
        stream: bool,
        headers: dict[bytes, bytes],
    ) -> RoutePlan:
        """Route the request: the plan, and the row's route, task and data classes.

        In a worker thread when the router may run a model; else here, in microseconds.
        """
        ex.body = body
        ex.row.model_requested, ex.row.stream = model, stream
        task_header = headers.get(TASK_HEADER.encode())
        given = {TASK_HEADER: task_header.decode("latin-1")} if task_header is not None else {}
        ex.row.task = request_task(body, given)
        wanted = any(name in headers for name in _ROUTING_HEADERS)
        request = RouteRequest(
            model=model,
            body=body,
            caller=ex.caller or Caller(),
            headers={k.decode("latin-1"): v.decode("latin-1") for k, v in headers.items()}
            if wanted
            else {},
        )
        if self._plan_in_thread:
            plan = await asyncio.to_thread(self.rt.router.plan, request)
        else:
            plan = self.rt.router.plan(request)
        ex.plan = plan
        ex.row.route, ex.row.route_reason = plan.route, plan.reason
        ex.row.data_classes = list(plan.data_classes)
        return plan

    def capable(self, ex: Exchange, capability: Capability) -> RoutePlan:
        """The plan without the deployments that cannot answer ``capability``; 400 if none can.

        A fixed plan whose deployments all can is kept as it is (no copy on the hot path).
        """
        plan, deployments, unable = ex.plan, self.rt.deployments, self._unable[capability]
        assert plan is not None
        if not unable or unable.isdisjoint(plan.models):
            return plan
        able = [m for m in plan.models if m not in unable]
        if not able:
            asked = ex.row.model_requested
            known = [m for m, d in deployments.items() if d.can(capability)]
            where = f"'{asked}'" if asked == plan.primary else f"'{asked}' ({plan.primary})"
            raise InvalidField(
                f"the model {where} serves no {capability.value}; models that do: "
                + (", ".join(known) or "none"),
                param="model",
                code="model_not_supported",
            )
        ex.plan = plan = replace(plan, primary=able[0], fallbacks=tuple(able[1:]))
        return plan

    async def admit(self, ex: Exchange, *, tokens: tuple[int, int] | None = None) -> None:
        """Take the caller's rate limits and hold the worst-case cost (429 when refused).

        ``tokens``: (prompt, output) as the door estimates them (embeddings: the inputs, 0);
        else the chat body's prompt and its ``max_tokens`` or the configured reserve.
        """
        caller, plan = ex.caller, ex.plan
        assert caller is not None and plan is not None and ex.body is not None
        if self.rt.limits.applies(caller):
            prompt, output = tokens if tokens is not None else (None, None)
            ex.admission = await self.rt.limits.admit(
                ex.request_id, caller, ex.body, plan, prompt_tokens=prompt, output_tokens=output
            )

    def mask(self, ex: Exchange) -> dict[str, Any]:
        """The body with detected entities masked when the plan redacts."""
        plan, body = ex.plan, ex.body
        assert plan is not None and body is not None
        if not plan.redact or plan.findings is None:
            ex.sent_body = body
            return body
        from parity.privacy.redact import mask_chat  # privacy detection is an optional extra

        masked = mask_chat(body, plan.findings)
        plan.trace["masked_entities"] = masked.masked
        if plan.restore and masked.masked:
            ex.vault = masked.vault
        ex.sent_body = masked.body
        return masked.body

    async def fail(
        self, send: Send, error: ParityError, ex: Exchange, render: ErrorRender = error_bytes
    ) -> None:
        """The row of a failed request, and the error response (when one can still be sent)."""
        self.accounting.failed(ex.row, error)
        ex.row.total_ms = ex.elapsed_ms()
        # Only a name the config knows goes into a header: a client's own text could carry
        # CR, LF or NUL, which the server refuses to send (and which would split headers).
        model = ex.row.model_answered or ex.row.model_requested
        if model not in self._names:
            model = "none"
        route = ex.headers(model)[2:]  # x-parity-route, when there is a plan
        # If the response had already started, or the client left, the ledger row still tells.
        with contextlib.suppress(OSError, RuntimeError):
            await send_error(send, error, ex.request_id, model=model, extra=route, render=render)

    # -- execute and restore --

    # -- the response cache (docs/cache.md) --

    def _ticket(self, ex: Exchange, turn: Turn, headers: dict[bytes, bytes]) -> CacheTicket | None:
        cache = self.rt.cache
        if cache is None:
            return None
        assert ex.caller is not None and ex.plan is not None and ex.body is not None
        ticket, ex.cache = cache.ticket(ex.caller, turn.model, ex.plan, ex.body, headers)
        ex.row.cache = ex.cache
        return ticket

    async def _cached(self, send: Send, ex: Exchange, turn: Turn, ticket: CacheTicket) -> bool:
        """Answer from the cache when it holds this request's answer; False on a miss."""
        cache = self.rt.cache
        assert cache is not None and ex.plan is not None and ex.caller is not None
        entry = await cache.lookup(ticket, ex.plan, ex.caller)
        if entry is None:
            return False
        deployment = self.rt.deployments[entry.deployment]
        ex.cache = ex.row.cache = "hit"
        cache.saved(self.accounting.cached(ex, deployment, entry.usage, entry.text()))
        if ticket.similarity is not None:  # a semantic hit (docs/cache.md)
            ex.cache = f"hit; similarity={ticket.similarity:.3f}"
            ex.notes.setdefault("cache", {})["similarity"] = round(ticket.similarity, 4)
        if entry.chunks is None:
            assert entry.body is not None
            completion = Completion(entry.body, entry.usage, entry.upstream_model)
            await self.answer(send, ex, deployment, await turn.answer(ex, deployment, completion))
            return True
        frames = turn.frames(ex, deployment)
        headers = [*SSE, *ex.headers(deployment.id)]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        ex.row.ttfb_ms = ex.elapsed_ms()
        usage = entry.usage or Usage(estimate_prompt_tokens(ex.body or {}), len(entry.chunks), True)
        parts = [frames.start(), *(frames.chunk(chunk) for chunk in entry.chunks)]
        parts.append(await frames.end(usage))
        ex.row.status = 200
        await send({"type": "http.response.body", "body": b"".join(parts), "more_body": False})
        ex.row.total_ms = ex.elapsed_ms()
        return True

    def _keep(self, ticket: CacheTicket | None, entry: CacheEntry) -> None:
        """Store an answer in the background, after the client has it."""
        if ticket is None or self.rt.cache is None:
            return
        write = self.rt.cache.keep(ticket, entry)
        if write is not None:
            self.rt.spawn(write)

    # -- execute and restore --

    async def _complete(
        self, send: Send, ex: Exchange, turn: Turn, body: dict[str, Any], ticket: CacheTicket | None
    ) -> None:
        deployment, completion = await self._execute(ex, body)
        if await self.guard.after(ex, completion):  # an unsafe answer the guard re-routes
            deployment, completion = await self._execute(ex, self.mask(ex))
            await self.guard.after(ex, completion, rerouted=True)
            ticket = None  # the answer the guard re-routed to is not kept
        self.accounting.usage(ex, deployment, completion.usage, completion.text)
        fingerprint = completion.body.get("system_fingerprint")
        self.accounting.versions(ex, completion.upstream_model, fingerprint)
        self.guard.charge(ex)
        if ticket is not None:  # serialised before a door could touch the body
            entry = CacheEntry(ticket.tenant, deployment.id, completion.usage, completion.body)
            entry.upstream_model, entry.created = completion.upstream_model, time.time()
            self._keep(ticket, entry)
        await self.answer(send, ex, deployment, await turn.answer(ex, deployment, completion))

    async def answer(
        self, send: Send, ex: Exchange, deployment: Deployment, payload: bytes
    ) -> None:
        """A whole 200 answer with the gateway's headers."""
        ex.row.status = 200
        ex.row.ttfb_ms = ex.row.total_ms = ex.elapsed_ms()
        length = (b"content-length", str(len(payload)).encode())
        headers = [JSON, length, *ex.headers(deployment.id)]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": payload})

    async def _execute(self, ex: Exchange, body: dict[str, Any]) -> tuple[Deployment, Completion]:
        plan = ex.plan
        assert plan is not None
        deployment, completion = await self.rt.executor.complete(
            plan, body, ex.trace, conform=ex.conform
        )
        self.accounting.answered_by(ex, deployment)
        if ex.vault is not None:
            from parity.privacy.redact import restore_response

            restored = restore_response(completion.body, ex.vault)
            completion = Completion(restored, completion.usage, completion.upstream_model)
        return deployment, completion

    async def _stream(
        self, send: Send, ex: Exchange, turn: Turn, body: dict[str, Any], ticket: CacheTicket | None
    ) -> None:
        plan = ex.plan
        assert plan is not None
        opened = await self.rt.executor.open_stream(plan, body, ex.trace, conform=ex.conform)
        deployment = opened.deployment
        self.accounting.answered_by(ex, deployment)
        frames = turn.frames(ex, deployment)
        headers = [*SSE, *ex.headers(deployment.id)]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        ex.row.ttfb_ms = ex.elapsed_ms()
        tally = _Tally()

        async def emit(data: bytes) -> None:
            if data:
                await send({"type": "http.response.body", "body": data, "more_body": True})

        await emit(frames.start())
        chunks = self.guard.stream(ex, _restored(opened, ex.vault))  # closed here, not by the GC
        try:
            async for chunk in chunks:
                tally.count(chunk)
                if ticket is not None:
                    ticket.chunks.append(chunk)
                await emit(frames.chunk(chunk))
            ex.row.status = 200
        except ParityError as exc:
            self.accounting.failed(ex.row, exc)
            await emit(frames.fail(exc))
            ticket = None  # a failed or blocked stream is not kept
        finally:
            await chunks.aclose()
            await opened.rest.aclose()
        usage = tally.usage or Usage(estimate_prompt_tokens(body), tally.content_chunks, True)
        self.accounting.versions(ex, None, tally.fingerprint)
        self.accounting.usage(ex, deployment, usage, "".join(tally.text))
        if ticket is not None and ex.row.status == 200:
            entry = CacheEntry(ticket.tenant, deployment.id, tally.usage, chunks=ticket.chunks)
            entry.created = time.time()
            self._keep(ticket, entry)
        last = await frames.end(usage)
        await send({"type": "http.response.body", "body": last, "more_body": False})
        ex.row.total_ms = ex.elapsed_ms()

    async def _shadow(self, target: str, body: dict[str, Any], ex: Exchange) -> None:
        """Send a copy to the shadow deployment after answering; it gets its own row."""
        started = time.perf_counter()
        row = self.accounting.shadow_row(ex, target)
        copy = {k: v for k, v in body.items() if k not in ("stream", "stream_options")}
        try:
            completion = await self.rt.providers[target].chat(copy)
            self.accounting.shadow_answered(row, copy, completion.usage, completion.text)
        except ParityError as exc:
            self.accounting.failed(row, exc)
        await self.accounting.record_shadow(ex, row, started)


class _Tally:
    """What the ledger needs to know of a stream: the reported usage, the text, its chunks.

    ``content_chunks`` (the estimate's output tokens, one a chunk, when no usage came) counts
    the chunks of text and of tool-call arguments: a tool-call stream is not 0 tokens.
    """

    __slots__ = ("content_chunks", "fingerprint", "text", "usage")

    def __init__(self) -> None:
        self.usage: Usage | None = None
        self.fingerprint: Any = None
        self.text: list[str] = []
        self.content_chunks = 0

    def count(self, chunk: dict[str, Any]) -> None:
        reported = usage_from(chunk.get("usage"))
        if reported is not None:
            self.usage = reported
        self.fingerprint = chunk.get("system_fingerprint") or self.fingerprint
        choices = chunk.get("choices")
        if choices:
            delta = choices[0].get("delta") or {}
            content = delta.get("content")
            if isinstance(content, str) and content:
                self.text.append(content)
                self.content_chunks += 1
            for call in delta.get("tool_calls") or ():  # a tool call's arguments are output too
                function = call.get("function") if isinstance(call, dict) else None
                if isinstance(function, dict) and function.get("arguments"):
                    self.content_chunks += 1


async def _restored(opened: Opened, vault: Any) -> AsyncGenerator[dict[str, Any], None]:
    """The stream's chunks with masked entities put back (held-back text flushed at the end)."""
    restorer = None
    if vault is not None:
        from parity.privacy.redact import ChatStreamRestorer

        restorer = ChatStreamRestorer(vault)
    chunk: dict[str, Any] | None = opened.first
    while chunk is not None:
        yield chunk if restorer is None else restorer.restore_chunk(chunk)
        chunk = await anext(opened.rest, None)
    if restorer is not None:
        for index, held in restorer.flush().items():
            yield {"choices": [{"index": index, "delta": {"content": held}}]}
