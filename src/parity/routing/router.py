"""The policy router: signals + rules + guards -> a RoutePlan, with the reason for it.

Order of decisions for one request:
1. an ``x-parity-route`` override, honoured only for keys allowed to use it;
2. a model id goes to that model; a route alias (if the key may ask for it) runs its rules
   (first match wins);
3. guards narrow the plan: the key's allowed models, keep-on-prem, licences (org profile),
   sensitive data to vendors;
4. a sampled shadow copy is added when the route has one and the data may go there.
"""

from __future__ import annotations

import json
import random
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

from parity.catalog.deployment import Deployment, Residency
from parity.config import AUTO_ROUTE, Route, Settings
from parity.config.routing import Then
from parity.errors import ConfigError, PermissionDenied, PolicyRejected, UnknownModel
from parity.routing.budget import SpendTracker
from parity.routing.latency import LatencyBoard
from parity.routing.plan import Caller, RoutePlan, RouteRequest
from parity.routing.policy import Decision, decide, validate_condition
from parity.routing.signals.base import Signal, SignalContext
from parity.routing.signals.budget import BudgetSignal
from parity.routing.signals.caller import CallerSignal
from parity.routing.signals.difficulty import make_difficulty
from parity.routing.signals.shape import ShapeSignal
from parity.routing.signals.task import TaskSignal

if TYPE_CHECKING:
    from parity.privacy.detector import PrivacyDetector

__all__ = ["PolicyRouter", "Router", "uses_privacy"]


class Router(Protocol):
    """Decides which deployment serves a request."""

    @property
    def names(self) -> list[str]:
        """Every model id and alias clients may ask for."""
        ...

    def plan(self, request: RouteRequest) -> RoutePlan:
        """A plan for ``request``, or a typed error (unknown model, rejected)."""
        ...


def uses_privacy(settings: Settings) -> bool:
    """True when the policy reads the privacy signal (so the router needs a detector)."""
    if settings.enforce.sensitive_to_vendor != "allow":
        return True
    vendors = any(m.residency is Residency.VENDOR for m in settings.models)
    if settings.enforce.scan_vendor_requests and vendors:
        return True
    for route in settings.routes.values():
        plans = [rule.then for rule in route.rules] + [route.default_plan]
        if any(p.redact for p in plans) or route.shadow is not None:
            return True
        if any("privacy" in str(rule.when) for rule in route.rules):
            return True
    return False


def _may_use(caller: Caller, deployment: str) -> bool:
    """Whether the caller's key allows ``deployment`` to serve it."""
    return caller.models is None or deployment in caller.models


def _keep_allowed(request: RouteRequest, models: list[str], excluded: dict[str, str]) -> list[str]:
    """The candidates the caller's key may use; PermissionDenied when none is left."""
    allowed = request.caller.models
    if allowed is None:
        return models
    kept = [m for m in models if m in allowed]
    if not kept:
        raise PermissionDenied(
            f"this API key may not use {', '.join(models)} (asked for '{request.model}'); "
            f"it may use: {', '.join(sorted(allowed)) or 'none'}",
            param="model",
            code="model_not_allowed",
        )
    excluded.update({m: "not allowed for this API key" for m in models if m not in allowed})
    return kept


class PolicyRouter:
    """Implements ``Router.plan()`` from the routes, guards and signals in the settings."""

    def __init__(
        self,
        settings: Settings,
        *,
        tracker: SpendTracker | None = None,
        latency: LatencyBoard | None = None,
        rng: random.Random | None = None,
        detector: PrivacyDetector | None = None,
    ):
        """``detector``: the gateway's one privacy detector; built here when the policy needs
        one and none is given."""
        self.settings = settings
        self._detector = detector
        self.deployments: dict[str, Deployment] = {m.id: m for m in settings.models}
        self.routes: dict[str, Route] = dict(settings.routes)
        auto = settings.auto_target
        if auto is not None and AUTO_ROUTE not in self.routes:
            self.routes[AUTO_ROUTE] = Route(default=auto)
        self.tracker = tracker or SpendTracker(settings.budgets, None)
        self.latency = latency or LatencyBoard()
        self._rng = rng or random.Random()
        self.signals: dict[str, Signal] = self._build_signals()
        self._audited = settings.enforce.scan_vendor_requests and "privacy" in self.signals
        self._explicit = self._explicit_plans()
        for name, route in self.routes.items():
            for index, rule in enumerate(route.rules):
                where = f"routes.{name}.rules[{index}] ({rule.name})"
                validate_condition(rule.when, set(self.signals), where)

    def _build_signals(self) -> dict[str, Signal]:
        signals: list[Signal] = [
            ShapeSignal(self.deployments),
            CallerSignal(),
            TaskSignal(),
            BudgetSignal(self.tracker),
            make_difficulty(self.settings.difficulty),
        ]
        if self.settings.org is not None:
            from parity.catalog.registry import default_catalog
            from parity.routing.signals.licence import LicenceSignal

            try:
                catalog = default_catalog()
                signals.append(LicenceSignal(self.deployments, self.settings.org, catalog))
            except LookupError as exc:
                raise ConfigError(f"a deployment names an unknown catalog card: {exc}") from exc
        if uses_privacy(self.settings):
            signals.append(self._privacy_signal())
        return {s.name: s for s in signals}

    def _privacy_signal(self) -> Signal:
        detector = self._detector
        if detector is None:
            from parity.privacy import build_detector

            detector = build_detector(self.settings.privacy, "the policy")
        from parity.routing.signals.sensitivity import PrivacySignal  # needs the extra, now known

        return PrivacySignal(detector)

    @property
    def names(self) -> list[str]:
        """Every model id and alias clients may ask for."""
        return sorted(set(self.deployments) | set(self.routes))

    @property
    def blocking(self) -> bool:
        """Whether a plan may run a model (a learned router that embeds the prompt): the
        serving core then plans in a worker thread, so the event loop never waits on it."""
        return bool(getattr(self.signals.get("difficulty"), "blocking", False))

    def _explicit_plans(self) -> dict[str, RoutePlan]:
        """Plans for deployments named directly that no guard can change, built once.

        A guard applies when the deployment's licence is checked, or when it is a vendor and
        sensitive data is screened or scanned for the audit; those requests take the full path.
        """
        denied: dict[str, str] = {}
        if "licence" in self.signals:
            denied = dict(self.signals["licence"].compute(RouteRequest("", {}, Caller()))["denied"])
        screened = self.settings.enforce.sensitive_to_vendor != "allow" or self._audited
        plans = {}
        for name, deployment in self.deployments.items():
            if name in denied or (deployment.residency is Residency.VENDOR and screened):
                continue
            plans[name] = RoutePlan(
                primary=name,
                rule="explicit",
                reason="the client named this model",
                trace={"signals": {}, "rule": "explicit"},
            )
        return plans

    def plan(self, request: RouteRequest) -> RoutePlan:
        """The plan for ``request``, or a typed refusal."""
        allowed = _may_use(request.caller, request.model)
        fixed = self._explicit.get(request.model) if allowed else None
        if fixed is not None and "x-parity-route" not in request.headers:
            return fixed  # shared and never mutated: no redaction on this path
        ctx = SignalContext(request, self.signals)
        decision, route = self._decide(request, ctx)
        then = decision.then
        if then.reject is not None:
            raise PolicyRejected(
                f"{then.reject.message} (rule '{decision.rule}')",
                status=then.reject.status,
                code="policy_rejected",
            )
        excluded: dict[str, str] = {}
        models = _keep_allowed(request, self._candidates(then), excluded)
        redact = then.redact
        if then.keep_on_prem:
            models = self._only_on_prem(models, excluded, "the rule keeps data on premises")
        if self.settings.enforce.licenses and "licence" in self.signals:
            denied: dict[str, str] = ctx.value("licence.denied") or {}
            excluded.update({m: denied[m] for m in models if m in denied})
            models = [m for m in models if m not in denied]
        models, redact = self._guard_sensitive(ctx, models, excluded, redact)
        if self._audited and any(self.deployments[m].residency is Residency.VENDOR for m in models):
            ctx.group("privacy")  # record what may leave the premises, for the audit
        if not models:
            reasons = "; ".join(f"{m}: {why}" for m, why in excluded.items()) or "none listed"
            raise PolicyRejected(
                f"no deployment is allowed for this request (rule '{decision.rule}'): {reasons}",
                code="no_allowed_deployment",
            )
        return self._assemble(
            request=request,
            ctx=ctx,
            decision=decision,
            route=route,
            models=models,
            excluded=excluded,
            redact=redact,
        )

    def _decide(self, request: RouteRequest, ctx: SignalContext) -> tuple[Decision, Route | None]:
        override = request.headers.get("x-parity-route")
        if override:
            if not request.caller.can_override_route:
                raise PermissionDenied(
                    "this API key may not choose its route (x-parity-route)",
                    code="route_override_forbidden",
                )
            if override not in self.deployments:
                raise UnknownModel(override, sorted(self.deployments))
            return Decision("override", Then(route=override)), None
        if request.model in self.deployments:
            return Decision("explicit", Then(route=request.model)), None
        route = self.routes.get(request.model)
        if route is None:
            raise UnknownModel(request.model, self.names)
        allowed = request.caller.routes
        if allowed is not None and request.model not in allowed:
            raise PermissionDenied(
                f"this API key may not use the route '{request.model}'; "
                f"it may use: {', '.join(sorted(allowed)) or 'none'}",
                param="model",
                code="route_not_allowed",
            )
        return decide(route, ctx), route

    def _candidates(self, then: Then) -> list[str]:
        if then.cascade:
            return list(then.cascade)
        if then.pool is not None:
            pool = then.pool
            if pool.strategy == "least_latency":
                ordered = self.latency.fastest(list(pool.models))
            else:
                first = self._rng.choices(pool.models, weights=pool.weights)[0]
                ordered = [first] + [m for m in pool.models if m != first]
            return ordered + [m for m in then.fallbacks if m not in ordered]
        assert then.route is not None
        return [then.route] + [m for m in then.fallbacks if m != then.route]

    def _only_on_prem(self, models: list[str], excluded: dict[str, str], why: str) -> list[str]:
        kept = [m for m in models if self.deployments[m].residency is Residency.ON_PREM]
        excluded.update({m: why for m in models if m not in kept})
        return kept

    def _guard_sensitive(
        self, ctx: SignalContext, models: list[str], excluded: dict[str, str], redact: bool
    ) -> tuple[list[str], bool]:
        mode = self.settings.enforce.sensitive_to_vendor
        vendors = [m for m in models if self.deployments[m].residency is Residency.VENDOR]
        if mode == "allow" or redact or not vendors or not ctx.value("privacy.sensitive"):
            return models, redact  # a redacting plan masks what the guard would protect
        classes = ", ".join(ctx.value("privacy.classes") or ["unreadable request"])
        if mode == "reject":
            raise PolicyRejected(
                f"the request holds sensitive data ({classes}) and the plan would send it to "
                f"a vendor ({', '.join(vendors)})",
                code="sensitive_data",
            )
        if mode == "on_prem":
            return self._only_on_prem(models, excluded, f"sensitive data ({classes})"), redact
        return models, True

    def _shadow(self, route: Route | None, ctx: SignalContext, primary: str) -> str | None:
        if route is None or route.shadow is None or route.shadow.to == primary:
            return None
        if not _may_use(ctx.request.caller, route.shadow.to):
            return None  # a copy goes only where the key's requests may go
        if self._rng.random() >= route.shadow.share:
            return None
        target = self.deployments[route.shadow.to]
        if target.residency is Residency.VENDOR and ctx.value("privacy.sensitive"):
            return None  # a copy never carries sensitive data off premises
        return target.id

    def _assemble(
        self,
        *,
        request: RouteRequest,
        ctx: SignalContext,
        decision: Decision,
        route: Route | None,
        models: list[str],
        excluded: dict[str, str],
        redact: bool,
    ) -> RoutePlan:
        then = decision.then
        shadow = self._shadow(route, ctx, models[0])
        privacy: Mapping[str, Any] = ctx.values.get("privacy") or {}
        if redact and not privacy:
            privacy = ctx.group("privacy")
        trace: dict[str, Any] = {"signals": ctx.trace(), "rule": decision.rule}
        if decision.condition is not None:
            trace["when"] = dict(decision.condition)
        if excluded:
            trace["excluded"] = excluded
        if redact:
            trace["redacted"] = True
        if shadow:
            trace["shadow"] = shadow
        reason = self._reason(request, decision, route)
        return RoutePlan(
            primary=models[0],
            fallbacks=tuple(models[1:]),
            route=request.model if route is not None else None,
            rule=decision.rule,
            reason=reason,
            trace=trace,
            validators=tuple(then.validators) if then.cascade else (),
            redact=redact,
            restore=then.restore,
            shadow=shadow,
            data_classes=tuple(privacy.get("classes") or ()),
            findings=privacy.get("_findings"),
        )

    @staticmethod
    def _reason(request: RouteRequest, decision: Decision, route: Route | None) -> str:
        if decision.rule == "override":
            return "the caller chose the route with x-parity-route"
        if route is None:
            return "the client named this model"
        if decision.rule == "default":
            return f"no rule of {request.model} matched; its default applies"
        # The condition as the JSON its YAML reads as ({"privacy.sensitive": true}), not Python's.
        when = json.dumps(dict(decision.condition or {}), default=str)
        return f"rule '{decision.rule}' of {request.model} matched {when}"
