"""One route's safety guard: ask it, decide per category, and say what the gateway must do.

``GuardCheck.check_input`` and ``check_output`` return an ``Outcome``; ``enforce`` turns a block
into ``GuardBlocked`` and a failed guard on a fail-closed route into ``GuardUnavailable``. A flag
or a re-route is for the caller to carry out; every outcome becomes a ledger ``GuardDecision``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from parity.config.guards import GUARD_CATEGORIES, Reroute, RouteGuard
from parity.errors import GuardBlocked, GuardUnavailable, ParityError
from parity.guards.client import GuardClient, Verdict
from parity.store.base import GuardDecision

__all__ = ["GuardCheck", "Outcome", "last_user_text", "prompt_text"]

_RANK = {"allow": 0, "flag": 1, "reroute": 2, "block": 3}


def _content_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # content parts: only text parts can be checked
        texts = [p.get("text") for p in content if isinstance(p, dict) and p.get("type") == "text"]
        return "\n".join(str(t) for t in texts if t)
    return ""


def prompt_text(body: dict[str, Any]) -> str:
    """Every message's text, in order (images and audio are not checked)."""
    messages = body.get("messages")
    if not isinstance(messages, list):
        return ""
    parts = [_content_text(m.get("content")) for m in messages if isinstance(m, dict)]
    return "\n\n".join(p for p in parts if p)


def last_user_text(body: dict[str, Any]) -> str:
    """The text of the last user message: the context an answer is judged in."""
    messages = body.get("messages")
    if not isinstance(messages, list):
        return ""
    for message in reversed(messages):
        if isinstance(message, dict) and message.get("role") == "user":
            return _content_text(message.get("content"))
    return ""


@dataclass(slots=True)
class Outcome:
    """What the guard said about one stage and what the route does about it."""

    stage: str
    verdict: str  # safe | unsafe | error
    action: str  # allow | flag | block | reroute | fail_open | fail_closed
    categories: tuple[str, ...] = ()
    target: str | None = None
    latency_ms: float = 0.0
    checks: int = 1
    error: str | None = None

    def decision(self, request_id: str, route: str | None, guard: str) -> GuardDecision:
        """The ledger row of this outcome."""
        return GuardDecision(
            request_id=request_id,
            ts=time.time(),
            guard=guard,
            stage=self.stage,
            verdict=self.verdict,
            action=self.action,
            categories=list(self.categories),
            route=route,
            target=self.target,
            latency_ms=round(self.latency_ms, 3),
            checks=self.checks,
            error=self.error,
        )

    def trace(self) -> dict[str, Any]:
        """A short form for the request's trace (``parity logs show``)."""
        out: dict[str, Any] = {"verdict": self.verdict, "action": self.action}
        if self.categories:
            out["categories"] = list(self.categories)
        if self.target:
            out["target"] = self.target
        if self.error:
            out["error"] = self.error
        out["ms"] = round(self.latency_ms, 1)
        return out


class GuardCheck:
    """A route's guard policy bound to its guard's client."""

    def __init__(self, route: str, policy: RouteGuard, client: GuardClient, fmt: str):
        self.route = route
        self.policy = policy
        self.client = client
        self.names = GUARD_CATEGORIES[fmt]
        self.max_chars = client.deployment.context_window * 4  # ~4 characters a token

    @property
    def guard(self) -> str:
        """The guard's name under ``guards:``."""
        return self.policy.guard

    @property
    def on_input(self) -> bool:
        """Whether requests are checked."""
        return self.policy.check in ("input", "both")

    @property
    def on_output(self) -> bool:
        """Whether answers are checked."""
        return self.policy.check in ("output", "both")

    def decide(self, stage: str, verdict: Verdict, *, rerouted: bool = False) -> Outcome:
        """The route's action for a verdict: the strictest of its categories' actions.

        A re-route that already happened (``rerouted``) cannot happen twice: it blocks.
        """
        if verdict.safe:
            return Outcome(stage, "safe", "allow", latency_ms=verdict.latency_ms)
        action, target = "allow", None
        for code in verdict.categories or ("",):
            chosen = self.policy.categories.get(code, self.policy.default)
            name = "reroute" if isinstance(chosen, Reroute) else chosen
            if name == "reroute" and rerouted:
                name = "block"
            if _RANK[name] > _RANK[action]:
                action = name
                rerouting = isinstance(chosen, Reroute) and name == "reroute"
                target = chosen.reroute if isinstance(chosen, Reroute) and rerouting else None
        return Outcome(stage, "unsafe", action, verdict.categories, target, verdict.latency_ms)

    def failed(self, stage: str, error: ParityError | str, latency_ms: float = 0.0) -> Outcome:
        """The outcome of a guard that failed, timed out or answered garbage."""
        message = error if isinstance(error, str) else f"{type(error).__name__}: {error.message}"
        action = "fail_open" if self.policy.on_guard_error == "fail_open" else "fail_closed"
        return Outcome(stage, "error", action, latency_ms=latency_ms, error=message[:500])

    async def ask(self, stage: str, prompt: str, answer: str | None, *, rerouted: bool) -> Outcome:
        """Ask the guard and decide; errors become an error outcome, never a safe one."""
        size = len(prompt) + len(answer or "")
        if size > self.max_chars:
            return self.failed(
                stage,
                f"text of {size} characters is larger than the guard's context window "
                f"({self.client.deployment.context_window} tokens)",
            )
        started = time.perf_counter()
        try:
            verdict = await self.client.classify(prompt, answer)
        except ParityError as exc:
            return self.failed(stage, exc, (time.perf_counter() - started) * 1000)
        return self.decide(stage, verdict, rerouted=rerouted)

    async def check_input(self, body: dict[str, Any], *, rerouted: bool = False) -> Outcome:
        """The verdict on a chat request's messages."""
        return await self.ask("input", prompt_text(body), None, rerouted=rerouted)

    async def check_output(
        self, body: dict[str, Any], answer: str, *, rerouted: bool = False
    ) -> Outcome:
        """The verdict on an answer, read after the last user message (not the whole prompt:
        the input check has read that, and a stream's answer is checked several times)."""
        return await self.ask("output", last_user_text(body), answer, rerouted=rerouted)

    def enforce(self, outcome: Outcome) -> None:
        """Raise for a block or a fail-closed error; flags, re-routes and allows return."""
        if outcome.action == "block":
            found = ", ".join(
                f"{code} ({self.names.get(code, 'unknown')})" for code in outcome.categories
            )
            what = "request" if outcome.stage == "input" else "answer"
            raise GuardBlocked(
                f"The {what} was refused by the safety guard '{self.guard}': {found}.",
                stage=outcome.stage,
                categories=list(outcome.categories),
            )
        if outcome.action == "fail_closed":
            raise GuardUnavailable(
                f"The safety guard '{self.guard}' could not check the {outcome.stage} "
                f"({(outcome.error or 'error').split(':', 1)[0]}); the route fails closed."
            )
