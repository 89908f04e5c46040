"""The caller's own limits on one request: admit it before any upstream call, settle it after.

Admission takes the request's share of its key's rate limits (requests and estimated tokens per
minute), then holds its worst-case cost against every budget of its key and tenant. Settlement
runs for every admitted request, whatever its outcome: it corrects the token count with the
actual usage and replaces the hold with the actual cost. Callers with no limits skip all of it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from parity.catalog.deployment import Deployment
from parity.config import Settings
from parity.errors import BudgetExceeded, Unavailable
from parity.gateway.ratelimit import RateBook, Rates
from parity.routing.plan import Caller, RoutePlan
from parity.routing.signals.shape import estimate_prompt_tokens
from parity.store.budgets import BudgetBook, Limit, Reservation

__all__ = ["Admission", "Limits"]

log = logging.getLogger("parity.gateway")

_SETTLE_TRIES = 3


@dataclass(slots=True)
class Admission:
    """What an admitted request took: settle it exactly once when the request ends."""

    limits: tuple[Limit, ...]
    rates: Rates | None
    tokens: int  # counted against tpm before the answer: prompt estimate + completion reserve
    held: Reservation | None


class Limits:
    """Budgets (held in the ledger database) and rate limits (Redis or this process)."""

    def __init__(self, settings: Settings, deployments: Mapping[str, Deployment]):
        self._settings = settings.limits
        self._tenants = settings.limits.tenants
        self._deployments = deployments
        self._book: BudgetBook | None = None
        self._rates: RateBook | None = None
        self._known: dict[Caller, tuple[tuple[Limit, ...], Rates | None]] = {}

    def start(self, ledger_url: str) -> None:
        """Open the budget tables (migrated with the ledger) and the rate counters."""
        self._book = BudgetBook(ledger_url, hold_ttl_s=self._settings.hold_ttl_s)
        self._rates = RateBook(self._settings)

    async def stop(self) -> None:
        """Close connections (after the last settlement)."""
        if self._rates is not None:
            await self._rates.close()
        if self._book is not None:
            await asyncio.to_thread(self._book.close)

    def applies(self, caller: Caller) -> bool:
        """Whether the caller has any budget or rate limit (otherwise nothing is done)."""
        limits, rates = self._of(caller)
        return bool(limits) or rates is not None

    def _of(self, caller: Caller) -> tuple[tuple[Limit, ...], Rates | None]:
        known = self._known.get(caller)
        if known is None:
            if len(self._known) > 10_000:  # callers come from keys, so this is rare
                self._known.clear()
            known = self._known[caller] = (self._limits(caller), self._rate_limits(caller))
        return known

    def _limits(self, caller: Caller) -> tuple[Limit, ...]:
        owners: list[tuple[str, str, float | None, float | None]] = []
        if caller.key_id is not None:
            owners.append(("key", caller.key_id, caller.daily_usd, caller.monthly_usd))
        tenant = self._tenants.get(caller.tenant or "")
        if caller.tenant is not None and tenant is not None:
            owners.append(("tenant", caller.tenant, tenant.daily_usd, tenant.monthly_usd))
        return tuple(
            Limit(scope, name, period, usd)
            for scope, name, day, month in owners
            for period, usd in (("day", day), ("month", month))
            if usd is not None
        )

    @staticmethod
    def _rate_limits(caller: Caller) -> Rates | None:
        if caller.key_id is None or not (caller.rpm or caller.tpm):
            return None
        return Rates(caller.key_id, caller.rpm, caller.tpm)

    async def admit(
        self,
        request_id: str,
        caller: Caller,
        body: Mapping[str, Any],
        plan: RoutePlan,
        *,
        prompt_tokens: int | None = None,
        output_tokens: int | None = None,
    ) -> Admission:
        """Take the rates and hold the worst-case cost, or raise (429, or 503 if refusing).

        ``prompt_tokens`` and ``output_tokens``: a door's own estimate (embeddings: the inputs,
        and 0); else the chat body's prompt and its ``max_tokens`` (or the reserve).
        """
        assert self._book is not None and self._rates is not None, "limits not started"
        limits, rates = self._of(caller)
        prompt = estimate_prompt_tokens(body) if prompt_tokens is None else prompt_tokens
        wanted = body.get("max_completion_tokens") or body.get("max_tokens")
        completion = wanted if isinstance(wanted, int) else self._settings.output_reserve_tokens
        if output_tokens is not None:
            completion = output_tokens
        admission = Admission(limits, rates, prompt + completion, None)
        if rates is not None:
            await self._rates.take(rates, admission.tokens)
        if limits:
            try:
                admission.held = await self._hold(request_id, limits, prompt, completion, plan)
            except (BudgetExceeded, Unavailable):
                if rates is not None:  # refused: the tokens were never used
                    await self._rates.adjust(rates, -admission.tokens)
                raise
        return admission

    async def _hold(
        self,
        request_id: str,
        limits: tuple[Limit, ...],
        prompt: int,
        completion: int,
        plan: RoutePlan,
    ) -> Reservation | None:
        assert self._book is not None
        prices = [self._deployments[m].price for m in plan.models if m in self._deployments]
        highest_in = max((p.input for p in prices), default=0.0)
        highest_out = max((p.output for p in prices), default=0.0)
        amount = (prompt * highest_in + completion * highest_out) / 1_000_000
        call = asyncio.ensure_future(
            asyncio.to_thread(self._book.reserve, request_id, limits, amount)
        )
        try:
            return await asyncio.shield(call)
        except asyncio.CancelledError:  # the hold may still be made: release it when it is
            call.add_done_callback(self._release_orphan)
            raise
        except Unavailable as exc:
            if self._settings.on_store_error == "refuse":
                raise
            log.warning("request %s admitted without a budget check: %s", request_id, exc)
            return None

    def _release_orphan(self, call: asyncio.Future[Reservation]) -> None:
        if self._book is None or call.cancelled() or call.exception() is not None:
            return
        asyncio.get_running_loop().run_in_executor(None, self._book.settle, call.result(), 0.0)

    async def settle(self, admission: Admission, cost: float | None, tokens: int) -> None:
        """Correct the token count and turn the hold into the actual cost; never raises."""
        try:
            if admission.rates is not None and self._rates is not None:
                await self._rates.adjust(admission.rates, tokens - admission.tokens)
            if admission.held is not None:
                await self._settle_hold(admission.held, cost or 0.0)
        except Exception:
            log.exception("settling the limits of a request failed")

    async def _settle_hold(self, held: Reservation, cost: float) -> None:
        assert self._book is not None
        for attempt in range(_SETTLE_TRIES):
            try:
                await asyncio.to_thread(self._book.settle, held, cost)
                return
            except Unavailable as exc:
                if attempt + 1 == _SETTLE_TRIES:
                    log.warning(
                        "request %s: its $%.6f was not added to its budgets (the hold lapses "
                        "after %g s): %s",
                        held.request_id,
                        cost,
                        self._settings.hold_ttl_s,
                        exc,
                    )
                    return
                await asyncio.sleep(0.5 * 2**attempt)

    async def charge(
        self, admission: Admission, cost: float | None, when: float | None = None
    ) -> None:
        """Count spend the request caused without a hold (a shadow copy); never refuses."""
        if not admission.limits or not cost or self._book is None:
            return
        try:
            moment = time.time() if when is None else when
            await asyncio.to_thread(self._book.charge, admission.limits, cost, moment)
        except Unavailable as exc:
            log.warning("a shadow copy's $%.6f was not added to its budgets: %s", cost, exc)
