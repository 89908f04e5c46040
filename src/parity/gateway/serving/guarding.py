"""The safety guard's hook in the serving core: before the call, after it, and along a stream.

A route with a ``guard:`` (docs/guards.md) has its request checked after admission and masking,
its answer checked before it is sent, and its stream checked as it goes (``StreamGuard``). A
block raises ``GuardBlocked`` and a failed guard on a fail-closed route ``GuardUnavailable``; a
re-route re-plans the request for the named deployment through the router, so every privacy
rule (``enforce.sensitive_to_vendor``, licences, the key's models) still applies to it. Every
verdict goes into the row's ``guards`` (the ``guard_decisions`` table) and its trace.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncGenerator
from typing import Any

from parity.gateway.runtime import Runtime
from parity.gateway.serving.exchange import Exchange
from parity.guards import GuardCheck, Outcome, StreamGuard
from parity.providers.base import Completion
from parity.routing.plan import Caller, RouteRequest

__all__ = ["GuardHook"]


def _delta_text(chunk: dict[str, Any]) -> str:
    choices = chunk.get("choices")
    if not choices or not isinstance(choices[0], dict):
        return ""
    content = (choices[0].get("delta") or {}).get("content")
    return content if isinstance(content, str) else ""


class GuardHook:
    """One per serving core; does nothing for requests whose route has no guard."""

    def __init__(self, runtime: Runtime):
        self.rt = runtime

    def _check(self, ex: Exchange) -> GuardCheck | None:
        return self.rt.guards.for_route(ex.plan.route if ex.plan is not None else None)

    def _record(self, ex: Exchange, check: GuardCheck, outcome: Outcome) -> None:
        ex.row.guards.append(outcome.decision(ex.request_id, check.route, check.guard))
        ex.notes.setdefault("guard", {})[outcome.stage] = outcome.trace()
        residency = check.client.deployment.residency.value
        ex.notes["guard_sent_to"] = [residency]  # the guard read the text too
        if residency not in ex.row.sent_to:
            ex.row.sent_to = sorted({*ex.row.sent_to, residency})

    async def before(self, ex: Exchange) -> bool:
        """Check the request; True when it was re-routed (the caller masks and plans anew)."""
        check = self._check(ex)
        if check is None or not check.on_input or ex.body is None:
            return False
        outcome = await check.check_input(ex.body)
        self._record(ex, check, outcome)
        check.enforce(outcome)
        return self._reroute(ex, outcome)

    async def after(self, ex: Exchange, completion: Completion, *, rerouted: bool = False) -> bool:
        """Check a whole answer; True when it must be asked again of the re-route target."""
        check = self._check(ex)
        if check is None or not check.on_output or ex.body is None:
            return False
        rerouted = rerouted or "reroute" in (ex.notes.get("guard") or {}).get("input", {}).values()
        outcome = await check.check_output(ex.body, completion.text, rerouted=rerouted)
        self._record(ex, check, outcome)
        check.enforce(outcome)
        if outcome.action == "reroute" and ex.row.model_answered is not None:
            deployment = self.rt.deployments[ex.row.model_answered]
            usage = completion.usage
            spent = deployment.price.cost(usage.input_tokens, usage.output_tokens) if usage else 0
            ex.notes["guard_discarded"] = {"model": deployment.id, "cost_usd": spent}
        return self._reroute(ex, outcome)

    def charge(self, ex: Exchange) -> None:
        """Add the cost of an answer the guard discarded (before a re-route) to the row."""
        discarded = ex.notes.get("guard_discarded")
        if discarded and ex.row.cost_usd is not None:
            ex.row.cost_usd += float(discarded["cost_usd"])

    def stream(
        self, ex: Exchange, chunks: AsyncGenerator[dict[str, Any], None]
    ) -> AsyncGenerator[dict[str, Any], None]:
        """The chunks, each released once a guard check has passed its text."""
        check = self._check(ex)
        if check is None or not check.on_output or ex.body is None:
            return chunks
        return self._guarded(ex, check, chunks)

    async def _guarded(
        self, ex: Exchange, check: GuardCheck, chunks: AsyncGenerator[dict[str, Any], None]
    ) -> AsyncGenerator[dict[str, Any], None]:
        assert ex.body is not None
        guard = StreamGuard(check, ex.body)
        upcoming: asyncio.Future[dict[str, Any] | None] | None = None
        try:
            while True:
                if upcoming is None:
                    upcoming = asyncio.ensure_future(anext(chunks, None))
                checking = guard.in_flight
                if checking is not None and not upcoming.done():
                    # release what a check passes as soon as it passes, not at the next chunk
                    either: set[asyncio.Future[Any]] = {upcoming, checking}
                    await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
                    if not upcoming.done():
                        for ready in guard.poll():
                            yield ready
                        continue
                chunk = await upcoming
                upcoming = None
                if chunk is None:
                    break
                for ready in await guard.feed(chunk, _delta_text(chunk)):
                    yield ready
            for ready in await guard.drain():
                yield ready
            for ready in await guard.finish():
                yield ready
        finally:
            if upcoming is not None and not upcoming.done():
                upcoming.cancel()
                await asyncio.wait({upcoming})  # let it end before the stream is closed
            await guard.aclose()
            self._record(ex, check, guard.outcome())

    def _reroute(self, ex: Exchange, outcome: Outcome) -> bool:
        """Re-plan for the re-route target through the router (its privacy rules included)."""
        plan = ex.plan
        if outcome.action != "reroute" or outcome.target is None or plan is None:
            return False
        if outcome.target == plan.primary:
            return False  # already going there
        caller = ex.caller or Caller()
        if caller.models is not None:  # the route's own target, whatever the key names
            caller = dataclasses.replace(caller, models=caller.models | {outcome.target})
        assert ex.body is not None
        new = self.rt.router.plan(RouteRequest(outcome.target, ex.body, caller))
        found = ", ".join(outcome.categories)
        reason = f"the safety guard found {found} ({outcome.stage}): re-routed to {outcome.target}"
        ex.plan = dataclasses.replace(
            new,
            route=plan.route,
            rule=f"guard:{outcome.stage}",
            reason=reason,
            trace={**new.trace, "rerouted_from": plan.primary},
        )
        ex.row.route_reason = reason
        ex.row.data_classes = sorted({*ex.row.data_classes, *new.data_classes})
        return True
