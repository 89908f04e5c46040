"""The safety-guard section of parity.yaml: guard deployments and what a route does per category.

A guard is a listed deployment that speaks one of two formats:

- ``llama_guard``: a chat model (Llama Guard 3 on Ollama or vLLM) that answers ``safe``, or
  ``unsafe`` and a line of category codes such as ``S1,S10``;
- ``openai_moderation``: OpenAI's ``POST /moderations`` (``results[].flagged``, ``categories``,
  ``category_scores``).

A route names a guard, the stages it checks (input, output or both) and, per category, what to do
when it is found: ``block``, ``flag`` (ledger only) or ``{reroute: DEPLOYMENT}``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from parity.catalog.deployment import Deployment, ProviderKind, Residency

__all__ = [
    "GUARD_CATEGORIES",
    "LLAMA_GUARD_3_CATEGORIES",
    "OPENAI_MODERATION_CATEGORIES",
    "Action",
    "GuardFormat",
    "GuardSpec",
    "Reroute",
    "RouteGuard",
    "check_guards",
]

GuardFormat = Literal["llama_guard", "openai_moderation"]

LLAMA_GUARD_3_CATEGORIES: dict[str, str] = {
    "S1": "Violent Crimes",
    "S2": "Non-Violent Crimes",
    "S3": "Sex-Related Crimes",
    "S4": "Child Sexual Exploitation",
    "S5": "Defamation",
    "S6": "Specialized Advice",
    "S7": "Privacy",
    "S8": "Intellectual Property",
    "S9": "Indiscriminate Weapons",
    "S10": "Hate",
    "S11": "Suicide & Self-Harm",
    "S12": "Sexual Content",
    "S13": "Elections",
    "S14": "Code Interpreter Abuse",
}
"""Llama Guard 3's hazard categories, from Meta's Llama Guard 3-8B model card
(github.com/meta-llama/PurpleLlama, Llama-Guard3/8B/MODEL_CARD.md). The 1B model card lists
S1-S13; S14 is the 8B model's tool-call category."""

OPENAI_MODERATION_CATEGORIES: dict[str, str] = {
    "harassment": "Harassment",
    "harassment/threatening": "Harassment (threatening)",
    "hate": "Hate",
    "hate/threatening": "Hate (threatening)",
    "illicit": "Illicit",
    "illicit/violent": "Illicit (violent)",
    "self-harm": "Self-harm",
    "self-harm/instructions": "Self-harm (instructions)",
    "self-harm/intent": "Self-harm (intent)",
    "sexual": "Sexual",
    "sexual/minors": "Sexual (minors)",
    "violence": "Violence",
    "violence/graphic": "Violence (graphic)",
}
"""The categories of OpenAI's moderation object, as its published OpenAPI document lists them
(github.com/openai/openai-openapi, CreateModerationResponse)."""

GUARD_CATEGORIES: dict[str, dict[str, str]] = {
    "llama_guard": LLAMA_GUARD_3_CATEGORIES,
    "openai_moderation": OPENAI_MODERATION_CATEGORIES,
}
"""Category code -> name, per guard format."""


class GuardSpec(BaseModel):
    """One safety guard: which deployment answers, in which format, and how long it may take."""

    model_config = ConfigDict(extra="forbid")

    deployment: str = Field(
        description="The listed deployment (provider openai) that answers the guard's questions."
    )
    format: GuardFormat = Field(
        description="llama_guard (a chat model answering safe / unsafe + codes) or "
        "openai_moderation (POST /moderations)."
    )
    timeout_s: float = Field(
        5.0, gt=0, description="A guard call slower than this is a guard error."
    )


class Reroute(BaseModel):
    """Send the request to another deployment instead (once; its answer is checked again)."""

    model_config = ConfigDict(extra="forbid")

    reroute: str = Field(description="The deployment to use instead.")


Action = Literal["block", "flag"] | Reroute


class RouteGuard(BaseModel):
    """What one route does with a guard: stages, action per category, errors, streams."""

    model_config = ConfigDict(extra="forbid")

    guard: str = Field(description="The name of a guard under guards:.")
    check: Literal["input", "output", "both"] = Field(
        "input", description="Check the request (input), the answer (output) or both."
    )
    categories: dict[str, Action] = Field(
        default_factory=dict,
        description="Category code (S1..S14, or a moderation category) -> block, flag or "
        "{reroute: DEPLOYMENT}.",
    )
    default: Action = Field(
        "block", description="The action for a flagged category not listed in categories."
    )
    on_guard_error: Literal["fail_closed", "fail_open"] = Field(
        "fail_closed",
        description="A guard that fails, times out or answers garbage: fail_closed refuses the "
        "request (503), fail_open lets it through (the ledger records the error).",
    )
    stream_check_tokens: int = Field(
        64,
        ge=8,
        description="On a stream, the answer so far is checked after 16 tokens, then in windows "
        "that double up to this many tokens (about 4 characters each); text reaches the client "
        "only once a check has passed it.",
    )

    def actions(self) -> list[Action]:
        """Every action this guard may take."""
        return [*self.categories.values(), self.default]

    def reroutes(self) -> list[str]:
        """Every deployment a re-route may send to."""
        return [a.reroute for a in self.actions() if isinstance(a, Reroute)]


def check_guards(
    guards: Mapping[str, GuardSpec],
    routes: Mapping[str, Any],
    models: Sequence[Deployment],
    enforce: Any,
) -> Iterator[tuple[tuple[str | int, ...], str]]:
    """(YAML path, message) for each guard problem: the config refuses to start on the first.

    A guard must be a listed ``openai`` deployment; a route's guard must be a listed guard, its
    categories known to that guard's format and its re-route targets listed deployments. A guard
    on a vendor deployment is refused while the policy keeps sensitive data from vendors
    (``enforce.sensitive_to_vendor`` other than allow, or a route that keeps on premises): every
    checked text, sensitive or not, would go to that vendor.
    """
    by_id = {m.id: (i, m) for i, m in enumerate(models)}
    yield from _check_specs(guards, routes, by_id, enforce)
    yield from _check_routes(guards, routes, set(by_id))


def _check_specs(
    guards: Mapping[str, GuardSpec],
    routes: Mapping[str, Any],
    by_id: Mapping[str, tuple[int, Deployment]],
    enforce: Any,
) -> Iterator[tuple[tuple[str | int, ...], str]]:
    for name, spec in guards.items():
        found = by_id.get(spec.deployment)
        if found is None:
            yield (
                ("guards", name, "deployment"),
                (f"guard '{name}' uses '{spec.deployment}', which is not a listed model"),
            )
            continue
        index, deployment = found
        if deployment.provider is not ProviderKind.OPENAI:
            yield (
                ("models", index, "provider"),
                (
                    f"guard '{name}' needs an OpenAI-compatible deployment (provider: openai); "
                    f"'{deployment.id}' is {deployment.provider.value}"
                ),
            )
        if deployment.residency is Residency.VENDOR:
            protected = _protecting_routes(name, routes)
            if enforce.sensitive_to_vendor != "allow" or protected:
                why = (
                    f"enforce.sensitive_to_vendor is '{enforce.sensitive_to_vendor}'"
                    if enforce.sensitive_to_vendor != "allow"
                    else f"route '{protected[0]}' keeps data on premises"
                )
                yield (
                    ("guards", name, "deployment"),
                    (
                        f"guard '{name}' would send every checked text to '{deployment.id}', "
                        f"a vendor deployment, while {why}: sensitive data would leave the "
                        "premises; use an on_prem guard deployment"
                    ),
                )


def _check_routes(
    guards: Mapping[str, GuardSpec], routes: Mapping[str, Any], listed: set[str]
) -> Iterator[tuple[tuple[str | int, ...], str]]:
    for route_name, route in routes.items():
        guard = route.guard
        if guard is None:
            continue
        spec = guards.get(guard.guard)
        if spec is None:
            yield (
                ("routes", route_name, "guard", "guard"),
                (
                    f"route '{route_name}' uses guard '{guard.guard}', which is not under guards: "
                    f"(known: {sorted(guards)})"
                ),
            )
            continue
        known = GUARD_CATEGORIES[spec.format]
        for code, action in guard.categories.items():
            if code not in known:
                yield (
                    ("routes", route_name, "guard", "categories", code),
                    (f"unknown {spec.format} category '{code}'; known: {', '.join(known)}"),
                )
            if isinstance(action, Reroute) and action.reroute not in listed:
                yield (
                    ("routes", route_name, "guard", "categories", code),
                    (f"re-route target '{action.reroute}' is not a listed model"),
                )
        if isinstance(guard.default, Reroute) and guard.default.reroute not in listed:
            yield (
                ("routes", route_name, "guard", "default"),
                (f"re-route target '{guard.default.reroute}' is not a listed model"),
            )


def _protecting_routes(guard: str, routes: Mapping[str, Any]) -> list[str]:
    """Routes using this guard whose plans keep data on premises."""
    out = []
    for name, route in routes.items():
        if route.guard is None or route.guard.guard != guard:
            continue
        plans = [rule.then for rule in route.rules] + [route.default_plan]
        if any(plan.keep_on_prem for plan in plans):
            out.append(name)
    return out
