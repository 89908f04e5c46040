"""The config's list of signal fields (config/conditions.py) is what the signals compute.

`parity config check` refuses a `when:` that names a field not in SIGNAL_FIELDS; if a signal
gained or lost a field without that list following, valid rules would be refused or typos let
through. This computes every signal on a request and compares.
"""

from __future__ import annotations

from parity.config.conditions import SIGNAL_FIELDS
from parity.routing.plan import Caller
from parity.routing.router import PolicyRouter
from parity.routing.signals.base import SignalContext
from tests.routing.test_policy_rules import _request, _settings


def test_every_signal_computes_exactly_the_fields_rules_may_name() -> None:
    settings = _settings(
        org={"monthly_active_users": 10, "commercial_use": True, "regions": ["US"]},
        budgets={
            "keys": {"team": {"daily_usd": 1.0, "monthly_usd": 9.0}},
            "tenants": {"t": {"daily_usd": 2.0, "monthly_usd": 9.0}},
        },
        enforce={"sensitive_to_vendor": "reject"},
    )
    router = PolicyRouter(settings)
    assert set(router.signals) == set(SIGNAL_FIELDS)
    context = SignalContext(
        _request("hello", caller=Caller(key_id="team", tenant="t")), router.signals
    )
    for name, declared in SIGNAL_FIELDS.items():
        computed = {k for k in context.group(name) if not k.startswith("_")}
        # strong and weak come from a trained router artifact only; parts from the heuristic only
        optional = {"strong", "weak"} if name == "difficulty" else set()
        assert computed <= set(declared), (name, computed - set(declared))
        assert set(declared) - computed <= optional, (name, set(declared) - computed)


def test_nested_mapping_fields_are_read_by_their_path() -> None:
    router = PolicyRouter(_settings())
    request = _request("hi", body={"metadata": {"team": "search"}})
    context = SignalContext(request, router.signals)
    assert context.value("caller.metadata.team") == "search"
    assert context.value("caller.metadata.nobody") is None
    assert context.value("shape.tools") is False
