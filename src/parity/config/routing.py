"""The routing section of parity.yaml: route aliases with ordered rules, budgets, difficulty.

A route such as ``parity/auto`` holds ordered ``rules``; each has a ``when`` condition over
signals and a ``then`` plan. The first rule that matches wins; ``default`` applies otherwise.
``default`` may be just a model id, which is the whole route when there are no rules.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from parity.config.conditions import condition_problems
from parity.config.guards import RouteGuard
from parity.config.located import LocatedError

__all__ = [
    "VALIDATORS",
    "Budget",
    "Budgets",
    "DifficultySettings",
    "Enforce",
    "Pool",
    "Reject",
    "Route",
    "Rule",
    "Shadow",
    "Then",
]

VALIDATORS = ("json", "tool_calls", "not_empty", "not_refusal", "not_truncated")
"""The cascade validators by name: their one list (routing/validators.py maps each to its check)."""


class Pool(BaseModel):
    """Several deployments that share the load."""

    model_config = ConfigDict(extra="forbid")

    models: list[str] = Field(min_length=1, description="Deployment ids in the pool.")
    strategy: Literal["weighted", "least_latency"] = Field(
        "weighted", description="weighted: random by weight; least_latency: fastest recently."
    )
    weights: list[float] | None = Field(
        None, description="One weight per model (weighted only); equal when omitted."
    )

    @model_validator(mode="after")
    def _weights_match(self) -> Pool:
        if self.weights is not None and len(self.weights) != len(self.models):
            raise ValueError("give one weight per pool model")
        return self


class Reject(BaseModel):
    """Refuse the request with a clear 4xx."""

    model_config = ConfigDict(extra="forbid")

    status: int = Field(403, ge=400, le=499, description="HTTP status to answer with.")
    message: str = Field("refused by routing policy", description="Shown to the client.")


class Then(BaseModel):
    """A plan: where to send the request, what to try next, and under which guarantees."""

    model_config = ConfigDict(extra="forbid")

    route: str | None = Field(None, description="The deployment to try first.")
    pool: Pool | None = Field(None, description="Pick the first deployment from a pool.")
    fallbacks: list[str] = Field(default_factory=list, description="Tried in order on failure.")
    cascade: list[str] | None = Field(
        None,
        description="Cheapest first: each answer must pass the validators or the next is tried.",
    )
    validators: list[str] = Field(
        default_factory=list,
        description=f"Checks an answer must pass to be kept: {', '.join(VALIDATORS)}.",
    )
    keep_on_prem: bool = Field(False, description="Only deployments with on_prem residency.")
    redact: bool = Field(False, description="Mask detected entities before the call.")
    restore: bool = Field(True, description="Put masked entities back into the answer.")
    reject: Reject | None = Field(None, description="Refuse instead of routing.")

    @model_validator(mode="after")
    def _one_target(self) -> Then:
        targets = [x for x in (self.route, self.pool, self.cascade, self.reject) if x]
        if len(targets) != 1:
            raise ValueError("give exactly one of route, pool, cascade or reject")
        unknown = sorted(set(self.validators) - set(VALIDATORS))
        if unknown:
            raise ValueError(f"unknown validators {unknown}; known: {list(VALIDATORS)}")
        return self

    def models(self) -> list[str]:
        """Every deployment this plan may name."""
        named = [self.route] if self.route else []
        named += self.pool.models if self.pool else []
        named += self.cascade or []
        return named + self.fallbacks


class Rule(BaseModel):
    """When the condition holds, follow the plan."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(description="Shown in x-parity-route and the decision trace.")
    when: dict[str, Any] = Field(
        description="Signal path -> value, list (any of) or {gt, gte, lt, lte, eq, ne, in, "
        "contains}; 'any'/'all'/'not' combine conditions."
    )
    then: Then = Field(description="The plan when the condition holds.")

    @field_validator("when")
    @classmethod
    def _known_signals(cls, when: dict[str, Any]) -> dict[str, Any]:
        """Every signal, operator and value type checked now: a typo would never match."""
        problems = condition_problems(when)
        if problems:
            (loc, message), *rest = problems
            raise LocatedError(loc, message, also=rest)
        return when


class Shadow(BaseModel):
    """Copy a sample of traffic to another model after answering, for the gap test."""

    model_config = ConfigDict(extra="forbid")

    to: str = Field(description="The deployment that receives the copies.")
    share: float = Field(0.05, ge=0, le=1, description="Share of requests copied.")


class Route(BaseModel):
    """A route alias such as parity/auto: ordered rules, a default plan, an optional shadow."""

    model_config = ConfigDict(extra="forbid")

    rules: list[Rule] = Field(default_factory=list, description="Tried in order; first match wins.")
    default: str | Then = Field(description="A deployment id, or a plan, when no rule matches.")
    shadow: Shadow | None = Field(None, description="Copy a sample of traffic elsewhere.")
    guard: RouteGuard | None = Field(
        None, description="A safety guard on the input, the output or both (docs/guards.md)."
    )

    @property
    def default_plan(self) -> Then:
        """The default as a plan."""
        return Then(route=self.default) if isinstance(self.default, str) else self.default

    def models(self) -> list[str]:
        """Every deployment any rule, the default or the shadow names."""
        named = [m for rule in self.rules for m in rule.then.models()]
        named += self.default_plan.models()
        return named + ([self.shadow.to] if self.shadow else [])


class Budget(BaseModel):
    """Spend limits in USD."""

    model_config = ConfigDict(extra="forbid")

    daily_usd: float | None = Field(None, ge=0, description="Per UTC day.")
    monthly_usd: float | None = Field(None, ge=0, description="Per UTC calendar month.")


class Budgets(BaseModel):
    """Budgets per API key id and per tenant; the budget signal reads spend against them."""

    model_config = ConfigDict(extra="forbid")

    keys: dict[str, Budget] = Field(default_factory=dict, description="By API key id.")
    tenants: dict[str, Budget] = Field(default_factory=dict, description="By tenant.")
    refresh_s: float = Field(
        5.0, gt=0, description="How often spend is re-read from the ledger (shared budgets)."
    )


class DifficultySettings(BaseModel):
    """Where the difficulty score in [0, 1] comes from."""

    model_config = ConfigDict(extra="forbid")

    router_path: str | None = Field(
        None, description="A trained router artifact (parity router train); none = heuristic."
    )
    threshold: float | None = Field(
        None, ge=0, le=1, description="Override the artifact's calibrated threshold."
    )


class Enforce(BaseModel):
    """Guards applied to every request, including ones that name a model directly."""

    model_config = ConfigDict(extra="forbid")

    sensitive_to_vendor: Literal["allow", "reject", "redact", "on_prem"] = Field(
        "allow",
        description="When sensitive data would reach a vendor deployment: allow it, reject "
        "the request, redact the entities first, or re-route to an on_prem deployment.",
    )
    licenses: bool = Field(
        True, description="Drop deployments whose catalog licence forbids the org profile."
    )
    scan_vendor_requests: bool = Field(
        True,
        description="Scan every request bound for a vendor deployment for sensitive data, so "
        "the ledger and 'parity audit' know what left the premises (needs parity[privacy]).",
    )
