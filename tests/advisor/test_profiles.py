"""The advisor on the profiles of sources.md S0-S2, and the starter config it writes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from parity.advisor.framework import Advice, advise
from parity.advisor.questions import Answers
from parity.advisor.starter import starter_config, starter_yaml, write_starter_config
from parity.advisor.votes import Recommendation
from parity.catalog.registry import default_catalog
from parity.config import check_config_file, load_settings

# sources.md S0: "For a company with 10 employees, this overhead is prohibitive"; sources.md S2: "If
# you're a five-person startup with bursty traffic and no infra team, self-hosting is a trap."
STARTUP: dict[str, Any] = {
    "sensitivity": "cloud_ok", "tokens_per_day": 2_000_000, "traffic": "spiky", "team": "none",
    "customisation": "none", "difficulty": "standard", "regulation": "standard",
}  # fmt: skip
# sources.md S0: healthcare (HIPAA), data must not leave premises, strict residency -> open.
HOSPITAL: dict[str, Any] = {
    "sensitivity": "on_prem_only", "tokens_per_day": 20_000_000, "traffic": "steady",
    "team": "devops", "customisation": "fine_tuning", "difficulty": "mixed",
    "regulation": "strict_residency", "gpu": "2xH100", "regions": ["DE"],
}  # fmt: skip
# sources.md S0 and S1: high volume, mostly easy, some hard tasks -> the hybrid portfolio.
SCALE: dict[str, Any] = {
    "sensitivity": "cloud_ok", "tokens_per_day": 1_000_000_000, "traffic": "steady",
    "team": "ml_infra", "customisation": "none", "difficulty": "mixed", "regulation": "standard",
}  # fmt: skip


def _advise(answers: dict[str, Any]) -> Advice:
    return advise(Answers.model_validate(answers), default_catalog())


def test_a_10_person_startup_with_spiky_volume_goes_closed() -> None:
    advice = _advise(STARTUP)
    assert advice.recommendation is Recommendation.CLOSED
    leans = {r.factor: r.leans for r in advice.reasons}
    assert leans["team"] == leans["traffic"] == leans["volume"] == "closed"
    assert advice.comparison is not None
    assert advice.comparison.api.total < advice.comparison.self_host.total
    assert advice.policy["default"] == "gpt-4o-mini"  # standard tasks: the cheapest closed model
    assert all(not c.card.tier.self_hostable for c in advice.closed_models)


def test_a_hospital_with_strict_residency_goes_local_open() -> None:
    advice = _advise(HOSPITAL)
    assert advice.recommendation is Recommendation.OPEN
    assert "on premises" in advice.headline
    assert {r.leans for r in advice.reasons} >= {"required-open"}
    assert advice.open_models
    for choice in advice.open_models:
        assert choice.card.tier.self_hostable
        assert choice.gpus is not None and choice.gpus.endswith("h100")
    # A German hospital may not take Llama 4 (its licence excludes EU-based companies).
    assert "llama-4-scout" in advice.excluded and "EU" in advice.excluded["llama-4-scout"]
    assert advice.policy["never"] == ["vendor"]
    assert any("comparison only" in n for n in advice.notes)


def test_high_volume_with_some_hard_tasks_goes_hybrid() -> None:
    advice = _advise(SCALE)
    assert advice.recommendation is Recommendation.HYBRID
    assert advice.break_even is not None and advice.break_even.input_tokens_per_day is not None
    assert advice.break_even.input_tokens_per_day < SCALE["tokens_per_day"]
    assert advice.comparison is not None and advice.comparison.hybrid is not None
    assert advice.comparison.hybrid.frontier_share == 0.2  # sources.md S3: "the hard 20%"
    assert advice.comparison.hybrid.total < advice.comparison.api.total
    rules = advice.policy["rules"]
    assert isinstance(rules, list) and any(r["to"] == "gpt-4o" for r in rules)


def test_the_same_startup_at_scale_with_a_team_would_self_host() -> None:
    advice = _advise({**STARTUP, "tokens_per_day": 2e9, "traffic": "steady", "team": "ml_infra"})
    assert advice.recommendation is Recommendation.OPEN


def test_some_sensitive_data_means_hybrid_even_at_low_volume() -> None:
    advice = _advise({**STARTUP, "sensitivity": "some_sensitive", "team": "devops"})
    assert advice.recommendation is Recommendation.HYBRID
    rules = advice.policy["rules"]
    assert isinstance(rules, list) and rules[0]["residency"] == "on_prem"


def test_licences_and_hardware_narrow_the_models() -> None:
    advice = _advise({**HOSPITAL, "gpu": "RTX 4090", "osi_approved_only": True})
    ids = [c.card.id for c in advice.open_models]
    assert ids and all(default_catalog().card(i).license.osi_approved for i in ids)
    assert "llama-3.1-8b" in advice.excluded  # not OSI-approved
    assert "qwen-2.5-72b" in advice.excluded  # does not fit 24 GB, or not OSI
    assert not advice.closed_models  # closed APIs have no OSI licence


@pytest.mark.parametrize(
    "profile", [STARTUP, HOSPITAL, SCALE], ids=["startup", "hospital", "scale"]
)
def test_starter_config_passes_the_config_check(profile: dict[str, Any], tmp_path: Path) -> None:
    advice = _advise(profile)
    path = write_starter_config(advice, tmp_path / "parity.yaml")
    assert check_config_file(path) == []
    settings = load_settings(path, env={})
    assert settings.auto_target == advice.policy["default"]
    residencies = {m.residency.value for m in settings.models}
    if advice.recommendation is Recommendation.OPEN:
        assert residencies == {"on_prem"}
    if advice.recommendation is Recommendation.CLOSED:
        assert residencies == {"vendor"}
    if advice.recommendation is Recommendation.HYBRID:
        assert residencies == {"on_prem", "vendor"}
    assert "Routing policy" in path.read_text()


def test_starter_config_prices_the_local_model_at_its_amortised_cost() -> None:
    config = starter_config(_advise(SCALE))
    local = next(m for m in config["models"] if m["residency"] == "on_prem")
    assert 0 < local["price"]["input"] < 5.0  # below GPT-4o's blended $5 at this volume
    assert local["card"] == local["id"]


def test_starter_config_will_not_overwrite_by_accident(tmp_path: Path) -> None:
    advice = _advise(STARTUP)
    path = tmp_path / "parity.yaml"
    path.write_text("keep me")
    with pytest.raises(FileExistsError):
        write_starter_config(advice, path)
    write_starter_config(advice, path, overwrite=True)
    assert starter_yaml(advice) == path.read_text()


def test_when_nothing_fits_the_advice_says_so_and_writes_nothing(tmp_path: Path) -> None:
    advice = _advise({**HOSPITAL, "gpu": "RTX 4090", "context_tokens": 1_000_000})
    assert advice.recommendation is Recommendation.OPEN  # residency still decides
    assert not advice.open_models and advice.comparison is None
    assert "no open model" in advice.notes[0]
    with pytest.raises(ValueError, match="no model"):
        starter_config(advice)


@pytest.mark.parametrize(
    "profile", [STARTUP, HOSPITAL, SCALE], ids=["startup", "hospital", "scale"]
)
def test_the_starter_policy_routes_as_the_advice_says(
    profile: dict[str, Any], tmp_path: Path
) -> None:
    from parity.routing.plan import Caller, RouteRequest
    from parity.routing.router import PolicyRouter

    advice = _advise(profile)
    settings = load_settings(write_starter_config(advice, tmp_path / "parity.yaml"), env={})
    router = PolicyRouter(settings)
    residency = {m.id: m.residency.value for m in settings.models}

    def plan(text: str) -> tuple[str, ...]:
        body = {"model": "parity/auto", "messages": [{"role": "user", "content": text}]}
        return router.plan(RouteRequest("parity/auto", body, Caller())).models

    private = plan("Patient jane.doe@example.com, card 4111 1111 1111 1111: summarise her visit")
    hard = plan(
        "Prove step by step why the algorithm's complexity is O(n log n); derive the recurrence, "
        "explain the trade-offs and compare two designs. You must justify every step?"
    )
    if advice.recommendation is not Recommendation.CLOSED:
        assert {residency[m] for m in private} == {"on_prem"}  # private data stays local
    if advice.recommendation is Recommendation.HYBRID:
        assert residency[hard[0]] == "vendor"  # the hard few go to the frontier
        # ... the one the advice and the file's own comments name, not the priciest listed
        frontier = advice.policy["fallbacks"]
        assert isinstance(frontier, list) and hard[0] == frontier[0]
        assert f"hard requests to {hard[0]}" in (tmp_path / "parity.yaml").read_text()
        assert residency[plan("Say hello.")[0]] == "on_prem"  # the easy bulk stays local
