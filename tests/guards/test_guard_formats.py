"""The guard formats are read strictly: every answer that is not exactly the format is an error."""

from __future__ import annotations

from typing import Any

import pytest

from parity.catalog.deployment import Deployment
from parity.config.guards import LLAMA_GUARD_3_CATEGORIES, GuardSpec, RouteGuard
from parity.errors import GuardBlocked, GuardUnavailable, UpstreamProtocolError
from parity.guards import GuardCheck, Verdict, parse_llama_guard, parse_moderation
from parity.guards.client import build_client
from tests.fakes.guard_server import MODERATION_CATEGORIES

KNOWN = LLAMA_GUARD_3_CATEGORIES


@pytest.mark.parametrize(
    ("text", "safe", "codes"),
    [
        ("safe", True, ()),
        ("  safe\n", True, ()),
        ("unsafe\nS1", False, ("S1",)),
        ("unsafe\nS1,S10", False, ("S1", "S10")),
        ("\nunsafe\nS14, S2 \n", False, ("S14", "S2")),
    ],
)
def test_llama_guard_answers_in_the_format_are_read(
    text: str, safe: bool, codes: tuple[str, ...]
) -> None:
    verdict = parse_llama_guard(text, KNOWN)
    assert verdict.safe is safe
    assert verdict.categories == codes


@pytest.mark.parametrize(
    "text",
    [
        "",
        "Safe",
        "SAFE",
        "safe\nS1",  # safe takes no codes
        "unsafe",  # unsafe must name its codes
        "unsafe\n",
        "unsafe\nS15",  # not in Llama Guard 3's taxonomy
        "unsafe\nS1;S2",
        "unsafe\nviolence",
        "unsafe\nS1\nS2",
        "I think this is safe.",
        "safe.",
    ],
)
def test_garbled_llama_guard_answers_are_errors_never_safe(text: str) -> None:
    with pytest.raises(UpstreamProtocolError, match="garbage"):
        parse_llama_guard(text, KNOWN)


def _moderation(hits: set[str], flagged: bool | None = None, **result: Any) -> dict[str, Any]:
    body = {
        "flagged": bool(hits) if flagged is None else flagged,
        "categories": {c: c in hits for c in MODERATION_CATEGORIES},
        "category_scores": {c: 0.9 if c in hits else 0.001 for c in MODERATION_CATEGORIES},
        "category_applied_input_types": {c: ["text"] for c in MODERATION_CATEGORIES},
    }
    body.update(result)
    return {"id": "modr-1", "model": "omni-moderation-latest", "results": [body]}


def test_moderation_objects_are_read() -> None:
    assert parse_moderation(_moderation(set())).safe
    verdict = parse_moderation(_moderation({"violence", "hate"}))
    assert not verdict.safe
    assert set(verdict.categories) == {"violence", "hate"}
    assert verdict.scores["violence"] == 0.9
    nullable = _moderation(set())
    nullable["results"][0]["categories"]["illicit"] = None  # the OpenAPI document allows null
    assert parse_moderation(nullable).safe


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"id": "modr-1", "results": []},
        {"results": [_moderation(set())["results"][0]]},  # no id
        _moderation(set(), flagged=True),  # flagged with no category
        _moderation({"hate"}, flagged=False),  # a category without flagged
        _moderation(set(), flagged="no"),  # type: ignore[arg-type]
        _moderation(set(), categories={"hate": "false"}),
        _moderation(set(), category_scores={"hate": "0.1"}),
        _moderation(set(), category_scores=None),
        {"id": "modr-1", "results": ["flagged"]},
    ],
)
def test_garbled_moderation_objects_are_errors_never_safe(data: Any) -> None:
    with pytest.raises(UpstreamProtocolError, match="garbage"):
        parse_moderation(data)


def _check(**policy: Any) -> GuardCheck:
    """A check whose client is never asked (decide and enforce only read the policy)."""
    deployment = Deployment(id="guard", provider="openai", base_url="http://127.0.0.1:9/v1")
    spec = GuardSpec(deployment="guard", format="llama_guard")
    client = build_client("safety", spec, deployment, {})
    return GuardCheck("parity/auto", RouteGuard(guard="safety", **policy), client, "llama_guard")


def test_the_strictest_action_of_the_found_categories_wins() -> None:
    check = _check(categories={"S1": "block", "S6": "flag", "S10": {"reroute": "closed"}})
    assert check.decide("input", Verdict(True)).action == "allow"
    assert check.decide("input", Verdict(False, ("S6",))).action == "flag"
    rerouted = check.decide("input", Verdict(False, ("S6", "S10")))
    assert (rerouted.action, rerouted.target) == ("reroute", "closed")
    assert check.decide("input", Verdict(False, ("S10", "S1"))).action == "block"
    assert check.decide("input", Verdict(False, ("S3",))).action == "block"  # the default
    # a second re-route is not allowed: the rerouted answer that is still unsafe is blocked
    assert check.decide("output", Verdict(False, ("S10",)), rerouted=True).action == "block"


def test_a_block_is_a_typed_error_naming_the_category() -> None:
    check = _check()
    with pytest.raises(GuardBlocked) as caught:
        check.enforce(check.decide("input", Verdict(False, ("S1", "S10"))))
    error = caught.value
    assert error.status == 400
    assert error.body()["error"]["code"] == "content_policy_violation"
    assert error.body()["error"]["param"] == "messages"
    assert "S1 (Violent Crimes)" in error.message and "S10 (Hate)" in error.message
    assert error.categories == ["S1", "S10"]


def test_a_failed_guard_fails_closed_unless_the_route_says_open() -> None:
    closed = _check()
    outcome = closed.failed("input", "UpstreamTimeout: too slow")
    assert (outcome.verdict, outcome.action) == ("error", "fail_closed")
    with pytest.raises(GuardUnavailable) as caught:
        closed.enforce(outcome)
    assert caught.value.status == 503
    assert caught.value.code == "guard_unavailable"
    opened = _check(on_guard_error="fail_open")
    outcome = opened.failed("input", "UpstreamTimeout: too slow")
    assert outcome.action == "fail_open"
    opened.enforce(outcome)  # does not raise
