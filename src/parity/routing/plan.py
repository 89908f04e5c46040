"""What routing decides for one request: a plan, and the reason for it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["Caller", "RoutePlan", "RouteRequest"]


@dataclass(slots=True, frozen=True)
class Caller:
    """Who is calling, as authentication established it."""

    key_id: str | None = None
    tenant: str | None = None
    admin: bool = False
    can_override_route: bool = False
    models: frozenset[str] | None = None  # deployment ids this key may be served by; None: all
    routes: frozenset[str] | None = None  # route aliases this key may ask for; None: all
    rpm: int | None = None  # requests per minute; None: unlimited
    tpm: int | None = None  # tokens (prompt + completion) per minute; None: unlimited
    daily_usd: float | None = None  # the key's own spend limit per UTC day
    monthly_usd: float | None = None  # the key's own spend limit per UTC calendar month


@dataclass(slots=True)
class RouteRequest:
    """The facts routing may read: the model asked for, the parsed body, the caller."""

    model: str
    body: dict[str, Any]
    caller: Caller
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True, frozen=True)
class RoutePlan:
    """The deployment to try first, the ordered fallbacks, and why."""

    primary: str
    fallbacks: tuple[str, ...] = ()
    route: str | None = None
    rule: str = "explicit"
    reason: str = ""
    trace: dict[str, Any] = field(default_factory=dict)
    validators: tuple[str, ...] = ()  # a cascade: answers must pass these or the next is tried
    redact: bool = False  # mask detected entities before any call
    restore: bool = True  # put masked entities back into the answer
    shadow: str | None = None  # copy this request to that deployment after answering
    data_classes: tuple[str, ...] = ()  # sensitive data found, when the privacy signal ran
    findings: Any = None  # the privacy findings, for redaction (not serialised)

    @property
    def models(self) -> tuple[str, ...]:
        """Every deployment the plan may use, in order."""
        return (self.primary, *self.fallbacks)

    def header(self) -> str:
        """The value of the x-parity-route response header."""
        return f"{self.rule}: {' > '.join(self.models)}"
