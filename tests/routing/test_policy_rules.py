"""The policy as a pure function, and the router's guards, without any model or network."""

from __future__ import annotations

import random
from typing import Any

import pytest
from pydantic import ValidationError

from parity.config import Settings
from parity.config.routing import Route, Rule, Then
from parity.errors import PermissionDenied, PolicyRejected, UnknownModel
from parity.routing.budget import SpendTracker
from parity.routing.plan import Caller, RouteRequest
from parity.routing.policy import decide, matches
from parity.routing.router import PolicyRouter
from parity.routing.signals.base import SignalContext
from parity.store.base import LedgerRow


class Values:
    def __init__(self, **values: Any):
        self._values = values

    def value(self, path: str) -> Any:
        return self._values.get(path)


@pytest.mark.parametrize(
    ("when", "values", "expected"),
    [
        ({"privacy.sensitive": True}, {"privacy.sensitive": True}, True),
        ({"privacy.sensitive": True}, {"privacy.sensitive": False}, False),
        ({"privacy.classes": "pii"}, {"privacy.classes": ["pii.email"]}, True),
        ({"privacy.classes": "pii.email"}, {"privacy.classes": ["secret.api_key"]}, False),
        (
            {"shape.response_format": ["json_schema", "json_object"]},
            {"shape.response_format": "json_schema"},
            True,
        ),
        ({"difficulty": {"gte": 0.5}}, {"difficulty": 0.5}, True),
        ({"difficulty": {"gt": 0.5, "lt": 0.9}}, {"difficulty": 0.95}, False),
        ({"difficulty": {"gt": 0.5}}, {}, False),  # an absent signal never compares true
        ({"shape.prompt_tokens": {"lte": 100}}, {"shape.prompt_tokens": True}, False),
        ({"caller.tags": {"contains": "batch"}}, {"caller.tags": ["batch", "x"]}, True),
        ({"caller.tenant": {"in": ["a", "b"]}}, {"caller.tenant": "c"}, False),
        ({"caller.key": {"ne": "ops"}}, {"caller.key": "team-a"}, True),
        ({"any": [{"shape.json": True}, {"shape.tools": True}]}, {"shape.tools": True}, True),
        ({"all": [{"shape.json": True}, {"shape.tools": True}]}, {"shape.tools": True}, False),
        ({"not": {"budget.exceeded": True}}, {"budget.exceeded": False}, True),
    ],
)
def test_conditions(when: dict[str, Any], values: dict[str, Any], expected: bool) -> None:
    assert matches(when, Values(**values)) is expected


def test_first_matching_rule_wins_else_default() -> None:
    route = Route(
        rules=[
            Rule(name="private", when={"privacy.sensitive": True}, then=Then(route="local")),
            Rule(name="hard", when={"difficulty": {"gte": 0.5}}, then=Then(route="big")),
        ],
        default="small",
    )
    both = Values(**{"privacy.sensitive": True, "difficulty": 0.9})
    assert decide(route, both).rule == "private"
    assert decide(route, Values(difficulty=0.9)).then.route == "big"
    fallback = decide(route, Values(difficulty=0.1))
    assert (fallback.rule, fallback.then.route) == ("default", "small")


def _settings(**extra: Any) -> Settings:
    base: dict[str, Any] = {
        "models": [
            {
                "id": "local",
                "provider": "openai",
                "base_url": "http://l/v1",
                "residency": "on_prem",
            },
            {
                "id": "llama",
                "provider": "openai",
                "base_url": "http://l2/v1",
                "residency": "on_prem",
                "card": "llama-3.1-70b",
            },
            {
                "id": "gpt",
                "provider": "openai",
                "base_url": "http://v/v1",
                "residency": "vendor",
                "card": "gpt-4o",
                "price": {"input": 2.5, "output": 10},
            },
        ],
    }
    base.update(extra)
    return Settings.model_validate(base)


def _request(text: str, model: str = "parity/auto", **kw: Any) -> RouteRequest:
    body = {"model": model, "messages": [{"role": "user", "content": text}], **kw.pop("body", {})}
    return RouteRequest(model, body, kw.pop("caller", Caller()), kw.pop("headers", {}))


def _one_rule(when: dict[str, Any]) -> dict[str, Any]:
    return {
        "parity/auto": {
            "rules": [{"name": "x", "when": when, "then": {"route": "gpt"}}],
            "default": "local",
        }
    }


def test_unknown_signals_and_operators_fail_when_the_settings_load() -> None:
    with pytest.raises(ValidationError, match="unknown signal 'vibes'"):
        _settings(routes=_one_rule({"vibes": 1}))
    with pytest.raises(ValidationError, match="unknown operator 'about'"):
        _settings(routes=_one_rule({"difficulty": {"about": 1}}))


def test_the_licence_signal_needs_an_org_profile() -> None:
    with pytest.raises(ValidationError, match="licence signal needs an org profile"):
        _settings(routes=_one_rule({"licence.unchecked": "gpt"}))
    profile = {"monthly_active_users": 10, "commercial_use": True, "regions": ["US"]}
    PolicyRouter(_settings(routes=_one_rule({"licence.unchecked": "gpt"}), org=profile))


def test_override_header_needs_the_right() -> None:
    router = PolicyRouter(_settings())
    with pytest.raises(PermissionDenied):
        router.plan(_request("hi", headers={"x-parity-route": "gpt"}))
    allowed = Caller(key_id="ops", can_override_route=True)
    plan = router.plan(_request("hi", caller=allowed, headers={"x-parity-route": "gpt"}))
    assert (plan.primary, plan.rule) == ("gpt", "override")
    with pytest.raises(UnknownModel):
        router.plan(_request("hi", caller=allowed, headers={"x-parity-route": "nope"}))


def test_keep_on_prem_drops_vendor_models() -> None:
    settings = _settings(
        routes={
            "parity/auto": {
                "default": {"route": "gpt", "fallbacks": ["local"], "keep_on_prem": True}
            }
        }
    )
    plan = PolicyRouter(settings).plan(_request("hello"))
    assert plan.models == ("local",)
    assert "gpt" in plan.trace["excluded"]


def test_licence_filter_excludes_llama_above_700m_users() -> None:
    big = _settings(
        org={"monthly_active_users": 900_000_000},
        routes={"parity/auto": {"default": {"route": "llama", "fallbacks": ["local"]}}},
    )
    plan = PolicyRouter(big).plan(_request("hello"))
    assert plan.models == ("local",)
    assert "700" in plan.trace["excluded"]["llama"]
    small = _settings(
        org={"monthly_active_users": 1000},
        routes={"parity/auto": {"default": {"route": "llama", "fallbacks": ["local"]}}},
    )
    assert PolicyRouter(small).plan(_request("hello")).models == ("llama", "local")


def test_when_every_model_is_excluded_the_request_is_refused() -> None:
    settings = _settings(
        org={"monthly_active_users": 900_000_000},
        routes={"parity/auto": {"default": {"route": "llama"}}},
    )
    with pytest.raises(PolicyRejected, match="no deployment is allowed"):
        PolicyRouter(settings).plan(_request("hello"))


@pytest.mark.parametrize("mode", ["reject", "on_prem", "redact", "allow"])
def test_sensitive_data_guard(mode: str) -> None:
    settings = _settings(enforce={"sensitive_to_vendor": mode})
    router = PolicyRouter(settings)
    secret = "Mail jane.doe@example.com the card 4111 1111 1111 1111"
    request = _request(secret, model="gpt", body={"model": "gpt"})
    if mode == "reject":
        with pytest.raises(PolicyRejected) as info:
            router.plan(request)
        assert info.value.http_status == 403
        return
    if mode == "on_prem":
        with pytest.raises(PolicyRejected, match="no deployment is allowed"):
            router.plan(request)  # the named vendor model is the only candidate
        return
    plan = router.plan(request)
    assert plan.primary == "gpt"
    assert plan.redact is (mode == "redact")
    assert {"pii.email", "pii.credit_card"} <= set(plan.data_classes)
    # harmless text is never held back
    assert router.plan(_request("What is 2 + 2?", model="gpt")).data_classes == ()


def test_budget_exceeded_switches_rules() -> None:
    settings = _settings(
        budgets={"keys": {"team": {"daily_usd": 1.0}}},
        routes={
            "parity/auto": {
                "rules": [
                    {"name": "broke", "when": {"budget.exceeded": True}, "then": {"route": "local"}}
                ],
                "default": "gpt",
            }
        },
    )
    tracker = SpendTracker(settings.budgets, None)
    router = PolicyRouter(settings, tracker=tracker)
    caller = Caller(key_id="team", tenant="t")
    assert router.plan(_request("hi", caller=caller)).primary == "gpt"
    tracker.add(LedgerRow("r1", 0.0, "parity/auto", 200, 1.0, "team", "t", cost_usd=0.6))
    assert router.plan(_request("hi", caller=caller)).primary == "gpt"
    tracker.add(LedgerRow("r2", 0.0, "parity/auto", 200, 1.0, "team", "t", cost_usd=0.5))
    plan = router.plan(_request("hi", caller=caller))
    assert (plan.primary, plan.rule) == ("local", "broke")
    assert plan.trace["signals"]["budget"]["over"]


def test_pools_pick_by_weight_and_by_latency() -> None:
    settings = _settings(
        routes={
            "w": {"default": {"pool": {"models": ["local", "llama"], "weights": [1, 0]}}},
            "fast": {
                "default": {"pool": {"models": ["local", "llama"], "strategy": "least_latency"}}
            },
        }
    )
    router = PolicyRouter(settings, rng=random.Random(1))
    assert router.plan(_request("x", model="w")).models == ("local", "llama")
    router.latency.observe("local", 50.0)
    router.latency.observe("llama", 5.0)
    assert router.plan(_request("x", model="fast")).models == ("llama", "local")


def test_shadow_copies_never_carry_sensitive_data_off_premises() -> None:
    settings = _settings(
        routes={"parity/auto": {"default": "local", "shadow": {"to": "gpt", "share": 1.0}}}
    )
    router = PolicyRouter(settings)
    assert router.plan(_request("Tell me a joke")).shadow == "gpt"
    assert router.plan(_request("my email is a.b@example.org")).shadow is None


def test_cascade_plans_carry_their_validators() -> None:
    settings = _settings(
        routes={
            "parity/auto": {
                "rules": [
                    {
                        "name": "json",
                        "when": {"shape.json": True},
                        "then": {"cascade": ["local", "gpt"], "validators": ["json", "not_empty"]},
                    }
                ],
                "default": "local",
            }
        }
    )
    router = PolicyRouter(settings)
    plan = router.plan(_request("give json", body={"response_format": {"type": "json_object"}}))
    assert plan.models == ("local", "gpt") and plan.validators == ("json", "not_empty")
    assert router.plan(_request("plain")).validators == ()
    assert plan.header() == "json: local > gpt"


def test_difficulty_heuristic_orders_easy_and_hard_prompts() -> None:
    router = PolicyRouter(
        _settings(
            routes={
                "parity/auto": {
                    "rules": [
                        {
                            "name": "hard",
                            "when": {"difficulty": {"gte": 0.5}},
                            "then": {"route": "gpt"},
                        }
                    ],
                    "default": "local",
                }
            }
        )
    )
    easy = router.plan(_request("Say hi."))
    hard = router.plan(
        _request(
            "Prove step by step that the algorithm's complexity is O(n log n). Derive the "
            "recurrence T(n) = 2T(n/2) + n, explain why it must hold, and compare trade-offs. "
            "```def merge(a, b): ...``` You must not skip steps; at least two lemmas?"
        )
    )
    assert (easy.primary, hard.primary) == ("local", "gpt")
    parts = hard.trace["signals"]["difficulty"]["parts"]
    assert set(parts) == {"reasoning", "math", "code", "constraints", "length"}


def test_a_proof_about_primes_counts_as_maths_and_is_hard() -> None:
    # rated 0.2 (reasoning cues only) when 0.3 was the bar: number theory had no maths cue
    router = PolicyRouter(_settings())
    request = _request("Prove that there are infinitely many primes, step by step")
    difficulty = SignalContext(request, router.signals).group("difficulty")
    assert difficulty["parts"]["math"] > 0 and difficulty["parts"]["reasoning"] > 0
    assert difficulty["score"] >= 0.3 and difficulty["hard"]


def test_reject_rules_answer_with_their_status() -> None:
    settings = _settings(
        routes={
            "parity/auto": {
                "rules": [
                    {
                        "name": "no-images",
                        "when": {"shape.images": True},
                        "then": {"reject": {"status": 422, "message": "no images here"}},
                    }
                ],
                "default": "local",
            }
        }
    )
    image = {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "data:x"}}]}
    request = RouteRequest("parity/auto", {"model": "parity/auto", "messages": [image]}, Caller())
    with pytest.raises(PolicyRejected, match="no images here") as info:
        PolicyRouter(settings).plan(request)
    assert info.value.http_status == 422


def test_the_reason_names_the_matched_condition_as_json() -> None:
    when = {"any": [{"shape.json": True}, {"caller.tenant": "acme"}]}
    plan = PolicyRouter(_settings(routes=_one_rule(when))).plan(
        _request("hello", body={"response_format": {"type": "json_object"}})
    )
    matched = '{"any": [{"shape.json": true}, {"caller.tenant": "acme"}]}'
    assert plan.reason == f"rule 'x' of parity/auto matched {matched}"
