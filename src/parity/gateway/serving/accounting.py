"""The one writer of ledger rows: the main request, its shadow copy, its cascade steps.

Every front door's request ends here exactly once (``record``), whatever happened to it:
answered, refused, failed mid-stream or abandoned by the client. The row gets its tokens and
cost, its decision trace (the plan, every attempt, the cascade's validations and escalations),
the ledger's prompt policy, and then goes to the spend tracker, the limits (settled), the
batched writer and the observer (metrics, access log). Nothing here may stop a row from being
written.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from parity.catalog.deployment import Deployment
from parity.errors import ParityError, http_status
from parity.gateway.observe import RequestObserver
from parity.gateway.prompts import PromptStore
from parity.gateway.runtime import Runtime
from parity.gateway.serving.exchange import Exchange
from parity.providers.base import Usage
from parity.routing.signals.shape import estimate_prompt_tokens
from parity.store.base import LedgerRow

__all__ = ["Accounting", "estimate_tokens"]

log = logging.getLogger("parity.gateway")


def estimate_tokens(text: str) -> int:
    """About four characters a token: used only when the upstream reports no usage."""
    return (len(text) + 3) // 4


class Accounting:
    """Fills and writes ledger rows; one per gateway."""

    def __init__(self, runtime: Runtime, observer: RequestObserver | None):
        self.rt = runtime
        self.prompts = PromptStore(runtime.settings, runtime.detector)
        self._observer = observer

    @staticmethod
    def begin(request_id: str, door: str, started: float) -> Exchange:
        """A new exchange with an empty row (status 0 until something answers)."""
        row = LedgerRow(request_id, time.time(), model_requested="", status=0, total_ms=0.0)
        return Exchange(request_id, started, row, door)

    def answered_by(self, ex: Exchange, deployment: Deployment) -> None:
        """Who answered, and the residency of every deployment the data went to."""
        deployments = self.rt.deployments
        ex.row.model_answered = deployment.id
        ex.row.residency = deployment.residency.value
        sent = {deployments[a.model].residency.value for a in ex.trace.attempts}
        if ex.plan is not None and ex.plan.shadow is not None:
            sent.add(deployments[ex.plan.shadow].residency.value)
        sent.update(ex.notes.get("guard_sent_to", ()))  # a safety guard read the text too
        ex.row.sent_to = sorted(sent)

    def usage(self, ex: Exchange, deployment: Deployment, usage: Usage | None, text: str) -> Usage:
        """Tokens and cost on the row (estimated when the upstream reported none)."""
        if usage is None:
            usage = Usage(estimate_prompt_tokens(ex.body or {}), estimate_tokens(text), True)
        _priced(ex.row, deployment, usage)
        if self.prompts.keep_text:
            ex.row.response_text = text
        return usage

    def cached(self, ex: Exchange, deployment: Deployment, usage: Usage | None, text: str) -> float:
        """A cache hit's row: nothing sent upstream, nothing paid; returns the cost it saved."""
        row = ex.row
        row.model_answered, row.residency = deployment.id, deployment.residency.value
        row.sent_to = sorted(set(ex.notes.get("guard_sent_to", ())))  # a guard may have read it
        row.input_tokens = row.output_tokens = 0
        row.cost_usd = 0.0
        saved = deployment.price.cost(usage.input_tokens, usage.output_tokens) if usage else 0.0
        row.cost_saved_usd = saved
        if usage is not None:
            ex.notes["cache"] = {
                "input_tokens": usage.input_tokens,
                "output_tokens": usage.output_tokens,
            }
        if self.prompts.keep_text:
            row.response_text = text
        return saved

    @staticmethod
    def versions(ex: Exchange, upstream_model: str | None, fingerprint: Any) -> None:
        """The upstream's own version signals, so that a silent model update shows.

        ``upstream_model`` is the answer's ``model`` before Parity puts the deployment's name
        there (non-streamed answers only: a stream's chunks are renamed as they pass);
        ``fingerprint`` is OpenAI's ``system_fingerprint``, streamed or not.
        """
        ex.row.upstream_model = upstream_model
        ex.row.system_fingerprint = fingerprint if isinstance(fingerprint, str) else None

    @staticmethod
    def failed(row: LedgerRow, error: ParityError) -> None:
        """The row of a request (or shadow copy) that ended in ``error``."""
        row.status = http_status(error)
        row.error_type, row.error_message = error.kind, error.message

    def record(self, ex: Exchange) -> None:
        """Queue the main row; settle the caller's limits; tell the observer."""
        row = ex.row
        if row.status == 0:  # cancelled mid-flight: the client went away
            row.status, row.error_type = 499, "ClientDisconnected"
        if not row.total_ms:
            row.total_ms = ex.elapsed_ms()
        row.attempts = max(1, len(ex.trace.attempts))
        try:
            row.trace = self._trace(ex)
            self.prompts.redact(row, ex.body, ex.plan)
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
            self._observer.finished(row, ex.trace, ex.body)

    def shadow_row(self, ex: Exchange, target: str) -> LedgerRow:
        """The row of a shadow copy of ``ex`` sent to ``target`` (its own request id)."""
        residency = self.rt.deployments[target].residency.value
        return LedgerRow(
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
            residency=residency,
            sent_to=[residency],
            data_classes=list(ex.row.data_classes),
            request_body=ex.row.request_body,
            trace={"shadow_of": ex.request_id},
            task=ex.row.task,
        )

    def shadow_answered(
        self, row: LedgerRow, body: dict[str, Any], usage: Usage | None, text: str
    ) -> None:
        """A shadow copy's answer on its row."""
        row.status = 200
        row.response_text = self.prompts.shadow_text(text)
        usage = usage or Usage(estimate_prompt_tokens(body), estimate_tokens(text), True)
        _priced(row, self.rt.deployments[str(row.model_answered)], usage)

    async def record_shadow(self, ex: Exchange, row: LedgerRow, started: float) -> None:
        """Queue a shadow row; its cost counts toward the caller's budgets, never refused."""
        row.total_ms = (time.perf_counter() - started) * 1000
        self.rt.tracker.add(row)
        if ex.admission is not None:
            await self.rt.limits.charge(ex.admission, row.cost_usd, row.ts)
        if self.rt.writer is not None:
            self.rt.writer.submit(row)

    def _trace(self, ex: Exchange) -> dict[str, Any]:
        trace: dict[str, Any] = {}
        if ex.door != "chat":
            trace["door"] = ex.door
        trace.update(ex.notes)
        if ex.plan is not None:
            trace.update(ex.plan.trace)
            trace["rule"] = ex.plan.rule
            trace["plan"] = list(ex.plan.models)
        attempts = ex.trace.attempts
        trace["attempts"] = [a.as_dict() for a in attempts]
        if ex.trace.skipped:
            trace["breaker_open"] = ex.trace.skipped
        if ex.trace.validations:  # the cascade's steps: each answer judged, each escalation
            trace["validations"] = ex.trace.validations
        if ex.trace.escalations:
            trace["escalations"] = ex.trace.escalations
        if ex.trace.refused:  # deployments that could not honour the request (nothing sent)
            trace["refused"] = ex.trace.refused
        if ex.trace.dropped:  # drop_params: the fields each deployment was not sent
            trace["dropped_params"] = {k: list(v) for k, v in ex.trace.dropped.items()}
        deployments = self.rt.deployments
        trace["residencies"] = {a.model: deployments[a.model].residency.value for a in attempts}
        return trace


def _priced(row: LedgerRow, deployment: Deployment, usage: Usage) -> None:
    row.input_tokens, row.output_tokens = usage.input_tokens, usage.output_tokens
    row.usage_estimated = usage.estimated
    row.cost_usd = deployment.price.cost(usage.input_tokens, usage.output_tokens)
