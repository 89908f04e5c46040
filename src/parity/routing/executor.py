"""Runs a RoutePlan through the providers: retries, backoff, circuit breakers, fallbacks.

Only retryable errors are retried (see ``parity.errors``); a retry-after from the upstream is
honoured when it is short, otherwise the next deployment is tried at once. A stream may fall
back only before its first chunk has been received, so nothing is ever sent twice. A prompt
that does not fit (``ContextLengthExceeded``) is the client's: it ends the plan at once.

With ``conform``, each deployment gets the body it can honour (routing/conformance.py): one that
cannot is left out of the plan before anything is sent, and when none can, the first refusal
is the answer.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any, TypeVar

from parity.catalog.deployment import Deployment
from parity.config import RetrySettings
from parity.errors import (
    ContextLengthExceeded,
    InvalidField,
    ParityError,
    Unavailable,
    UpstreamError,
    UpstreamProtocolError,
    UpstreamRateLimited,
)
from parity.providers.base import Completion, Provider
from parity.routing.backoff import backoff_s
from parity.routing.breaker import Breaker
from parity.routing.conformance import Conformance
from parity.routing.latency import LatencyBoard
from parity.routing.plan import RoutePlan
from parity.routing.validators import check_all

__all__ = ["Attempt", "Executor", "Opened", "Trace", "assemble"]

T = TypeVar("T")


@dataclass(slots=True)
class Attempt:
    """One call to one deployment and how it ended."""

    model: str
    outcome: str  # "ok", or the error class name
    ms: float
    status: int | None = None
    detail: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form for the ledger's decision trace."""
        return {
            "model": self.model,
            "outcome": self.outcome,
            "ms": round(self.ms, 2),
            "status": self.status,
            "detail": self.detail,
        }


@dataclass(slots=True)
class Trace:
    """What the executor did for one request."""

    attempts: list[Attempt] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # deployments whose breaker was open
    validations: list[dict[str, Any]] = field(default_factory=list)
    escalations: list[dict[str, str]] = field(default_factory=list)
    refused: list[dict[str, Any]] = field(default_factory=list)  # deployments that could not
    dropped: dict[str, tuple[str, ...]] = field(default_factory=dict)  # fields left out, each


@dataclass(slots=True)
class Opened:
    """A stream that has produced its first chunk, on the deployment that produced it."""

    deployment: Deployment
    first: dict[str, Any]
    rest: AsyncGenerator[dict[str, Any], None]


class Executor:
    """Executes plans; one instance per gateway, holding one breaker per deployment."""

    def __init__(
        self,
        deployments: Mapping[str, Deployment],
        providers: Mapping[str, Provider],
        retry: RetrySettings,
        latency: LatencyBoard | None = None,
        conformance: Conformance | None = None,
    ):
        self._deployments = deployments
        self._providers = providers
        self._retry = retry
        self.latency = latency or LatencyBoard()
        self.conformance = conformance or Conformance({})
        self.breakers = {
            name: Breaker(retry.breaker_failures, retry.breaker_cooldown_s) for name in deployments
        }

    def _wait(self, error: ParityError, retry_index: int) -> float | None:
        """Seconds to wait before retrying, or None when not worth retrying here."""
        if not error.retryable or retry_index + 1 >= self._retry.attempts:
            return None
        retry_after = error.retry_after if isinstance(error, UpstreamRateLimited) else None
        if retry_after is not None:
            return retry_after if retry_after <= self._retry.max_retry_after_s else None
        retry = self._retry
        return backoff_s(
            retry_index, base_s=retry.backoff_s, max_s=retry.max_backoff_s, rand=random.random
        )

    def _available(
        self, plan: RoutePlan, body: dict[str, Any], trace: Trace, conform: bool
    ) -> list[tuple[str, dict[str, Any]]]:
        """The plan's deployments that can take the call, each with the body it gets.

        A deployment whose breaker is open is skipped; with ``conform``, so is one that cannot
        honour the request (InvalidField, raised when no deployment is left to try).
        """
        found: list[tuple[str, dict[str, Any]]] = []
        refusal: InvalidField | None = None
        for name in plan.models:
            if not self.breakers[name].allows():
                trace.skipped.append(name)
                continue
            if not conform:
                found.append((name, body))
                continue
            try:
                fitted = self.conformance.fit(name, body)
            except InvalidField as error:
                trace.refused.append({"model": name, "param": error.param, "reason": error.message})
                refusal = refusal or error
                continue
            if fitted.dropped:
                trace.dropped[name] = fitted.dropped
            found.append((name, fitted.body))
        if not found and refusal is not None:
            raise refusal
        return found

    def check(self, plan: RoutePlan, body: dict[str, Any]) -> None:
        """InvalidField when no deployment of the plan could honour ``body`` (nothing is sent)."""
        refusal: InvalidField | None = None
        for name in plan.models:
            try:
                self.conformance.fit(name, body)
            except InvalidField as error:
                refusal = refusal or error
                continue
            return
        if refusal is not None:
            raise refusal

    def _failed(self, trace: Trace, name: str, error: ParityError, started: float) -> None:
        status = getattr(error, "upstream_status", None)
        trace.attempts.append(
            Attempt(name, error.kind, (time.perf_counter() - started) * 1000, status, error.message)
        )
        if isinstance(error, UpstreamError) and error.retryable:
            self.breakers[name].failure()

    def _succeeded(self, trace: Trace, name: str, started: float) -> None:
        ms = (time.perf_counter() - started) * 1000
        self.breakers[name].success()
        self.latency.observe(name, ms)
        trace.attempts.append(Attempt(name, "ok", ms, 200))

    @staticmethod
    def _accepted(
        plan: RoutePlan, body: dict[str, Any], answer: dict[str, Any], name: str, trace: Trace
    ) -> bool:
        """Run the plan's validators on an answer; False means escalate."""
        if not plan.validators:
            return True
        results = check_all(plan.validators, body, answer)
        trace.validations.append(
            {"model": name, "checks": [{"validator": v, "failed": r} for v, r in results]}
        )
        failed = next(((v, r) for v, r in results if r is not None), None)
        if failed is None:
            return True
        trace.escalations.append({"from": name, "validator": failed[0], "reason": failed[1] or ""})
        return False

    @staticmethod
    def _exhausted(trace: Trace, last: ParityError | None) -> ParityError:
        if last is not None:
            return last
        return Unavailable(
            f"no deployment of the plan is available (circuit open: {', '.join(trace.skipped)})"
        )

    async def complete(
        self, plan: RoutePlan, body: dict[str, Any], trace: Trace, *, conform: bool = False
    ) -> tuple[Deployment, Completion]:
        """A non-streamed answer from the first deployment that gives one its validators keep.

        When even the last deployment's answer fails the validators, that answer is returned:
        there is nobody stronger left to ask, and the trace says so.
        """
        last: ParityError | None = None
        names = self._available(plan, body, trace, conform)
        for position, (name, sent) in enumerate(names):
            try:
                chat = partial(self._providers[name].chat, sent)
                completion = await self._retried(name, trace, chat)
            except ContextLengthExceeded:
                raise  # the client's prompt: no retry, no fallback, no escalation
            except ParityError as error:
                last = error
                continue
            final = position == len(names) - 1
            if self._accepted(plan, sent, completion.body, name, trace) or final:
                return self._deployments[name], completion
        raise self._exhausted(trace, last)

    async def _retried(self, name: str, trace: Trace, call: Callable[[], Awaitable[T]]) -> T:
        """``call()`` on deployment ``name`` with the retry policy; its last error when it fails.

        A prompt too long for the context is never retried.
        """
        for index in range(self._retry.attempts):
            started = time.perf_counter()
            try:
                result = await call()
            except ParityError as error:
                self._failed(trace, name, error, started)
                too_long = isinstance(error, ContextLengthExceeded)
                wait = None if too_long else self._wait(error, index)
                if wait is None:  # not retryable here, or the last attempt
                    raise
                await asyncio.sleep(wait)
                continue
            self._succeeded(trace, name, started)
            return result
        raise AssertionError("retry attempts must be at least one")  # RetrySettings checks it

    async def call(
        self, plan: RoutePlan, trace: Trace, call: Callable[[str], Awaitable[T]]
    ) -> tuple[Deployment, T]:
        """``call(deployment id)`` with the plan's retries, breakers and fallbacks, no validators.

        For a door with its own kind of call (embeddings): what it returns is not judged.
        """
        last: ParityError | None = None
        for name, _ in self._available(plan, {}, trace, conform=False):
            try:
                result = await self._retried(name, trace, partial(call, name))
            except ContextLengthExceeded:
                raise  # the client's input: no fallback either
            except ParityError as error:
                last = error
                continue
            return self._deployments[name], result
        raise self._exhausted(trace, last)

    async def open_stream(
        self, plan: RoutePlan, body: dict[str, Any], trace: Trace, *, conform: bool = False
    ) -> Opened:
        """A stream whose first chunk has arrived; failures before it fall back."""
        last: ParityError | None = None
        names = self._available(plan, body, trace, conform)
        last_name = names[-1][0] if names else None
        for name, sent in names:
            for index in range(self._retry.attempts):
                started = time.perf_counter()
                chunks = self._providers[name].stream(sent)
                try:
                    first = await anext(chunks, None)
                    if first is None:
                        raise UpstreamProtocolError(
                            f"upstream '{name}' sent an empty stream", deployment=name
                        )
                except ParityError as error:
                    await chunks.aclose()
                    self._failed(trace, name, error, started)
                    if isinstance(error, ContextLengthExceeded):
                        raise
                    last = error
                    wait = self._wait(error, index)
                    if wait is None:
                        break
                    await asyncio.sleep(wait)
                    continue
                if plan.validators:
                    # A cascade must judge the whole answer before the client sees a byte.
                    try:
                        buffered = [first, *[c async for c in chunks]]
                    except ParityError as error:
                        self._failed(trace, name, error, started)
                        last = error
                        break
                    self._succeeded(trace, name, started)
                    final = name == last_name
                    if (
                        not self._accepted(plan, sent, assemble(buffered), name, trace)
                        and not final
                    ):
                        break
                    return Opened(self._deployments[name], buffered[0], _replay(buffered[1:]))
                self._succeeded(trace, name, started)
                return Opened(self._deployments[name], first, chunks)
        raise self._exhausted(trace, last)


async def _replay(chunks: list[dict[str, Any]]) -> AsyncGenerator[dict[str, Any], None]:
    for chunk in chunks:
        yield chunk


def assemble(chunks: list[dict[str, Any]]) -> dict[str, Any]:
    """A chat.completion body built from stream chunks, so validators can judge a stream."""
    text: list[str] = []
    calls: dict[int, dict[str, Any]] = {}
    finish = None
    for chunk in chunks:
        for choice in chunk.get("choices") or ():
            delta = choice.get("delta") or {}
            if isinstance(delta.get("content"), str):
                text.append(delta["content"])
            for call in delta.get("tool_calls") or ():
                slot = calls.setdefault(
                    call.get("index", 0),
                    {"id": None, "type": "function", "function": {"name": "", "arguments": ""}},
                )
                slot["id"] = call.get("id") or slot["id"]
                function = call.get("function") or {}
                slot["function"]["name"] += function.get("name") or ""
                slot["function"]["arguments"] += function.get("arguments") or ""
            finish = choice.get("finish_reason") or finish
    message: dict[str, Any] = {"role": "assistant", "content": "".join(text)}
    if calls:
        message["tool_calls"] = [calls[i] for i in sorted(calls)]
    return {"choices": [{"index": 0, "message": message, "finish_reason": finish}]}
