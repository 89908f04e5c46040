"""Licence checks: the clauses that deny, the reasons people read, and filtering the catalog."""

from __future__ import annotations

import pytest

from parity.catalog.license import OrgProfile, check_license, check_terms, expand_regions
from parity.catalog.registry import Catalog, default_catalog


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return default_catalog()


def test_llamas_700m_mau_clause(catalog: Catalog) -> None:
    llama = catalog.card("llama-3.1-70b")
    small = check_license(llama, OrgProfile(monthly_active_users=5_000_000))
    assert small.allowed and "700,000,000" in small.reason
    assert small.obligations  # "Built with Llama" still applies
    at_limit = check_license(llama, OrgProfile(monthly_active_users=700_000_000))
    assert at_limit.allowed  # the clause is "more than 700 million"
    big = check_license(llama, OrgProfile(monthly_active_users=700_000_001))
    assert not big.allowed
    assert "700,000,001 monthly active users exceeds the 700,000,000 limit" in big.reason
    assert "Meta" in big.reason


def test_qwen_72b_has_its_own_100m_clause_but_qwen_7b_is_apache(catalog: Catalog) -> None:
    profile = OrgProfile(monthly_active_users=150_000_000)
    assert not check_license(catalog.card("qwen-2.5-72b"), profile).allowed
    assert check_license(catalog.card("qwen-2.5-7b"), profile).allowed


def test_llama_4_is_not_licensed_to_eu_based_companies(catalog: Catalog) -> None:
    scout = catalog.card("llama-4-scout")
    german = check_license(scout, OrgProfile(regions=("de",)))
    assert not german.allowed
    assert "DE (EU)" in german.reason and "European Union" in german.reason
    assert not check_license(scout, OrgProfile(regions=("EU",))).allowed
    assert check_license(scout, OrgProfile(regions=("US", "CH"))).allowed  # Switzerland: not EU
    assert check_license(catalog.card("llama-3.1-8b"), OrgProfile(regions=("FR",))).allowed


def test_osi_only_keeps_apache_and_mit_and_drops_custom_and_closed(catalog: Catalog) -> None:
    profile = OrgProfile(osi_approved_only=True)
    allowed = {c.id for c in catalog.filter(profile=profile)}
    assert {"mistral-7b", "olmo-3.1-32b", "deepseek-r1", "glm-4.7"} <= allowed
    assert not {"llama-3.1-8b", "deepseek-v3", "qwen-2.5-72b", "gpt-4o"} & allowed
    closed = check_license(catalog.card("gpt-4o"), profile)
    assert not closed.allowed and "closed API" in closed.reason


def test_non_commercial_licences_deny_commercial_use_only(catalog: Catalog) -> None:
    research = catalog.card("qwen-2.5-3b")
    assert not check_license(research, OrgProfile()).allowed
    assert "does not permit commercial use" in check_license(research, OrgProfile()).reason
    assert check_license(research, OrgProfile(commercial_use=False)).allowed


def test_filters_by_tier_and_licence_name(catalog: Catalog) -> None:
    apache = {c.id for c in catalog.filter(license="apache")}
    assert "mistral-7b" in apache and "llama-3.1-8b" not in apache
    assert {c.id for c in catalog.filter(license="MIT")} == {"deepseek-r1", "glm-4.7"}
    restricted = catalog.filter(tier="open_weights_restricted", license="llama")
    assert {c.family for c in restricted} == {"Llama 3.1", "Llama 4"}
    with pytest.raises(ValueError, match="open_weights_restricted"):
        catalog.filter(tier="open-ish")


def test_the_check_is_pure_and_cheap(catalog: Catalog) -> None:
    card = catalog.card("llama-4-maverick")
    profile = OrgProfile(monthly_active_users=10, regions=("US",))
    first = check_license(card, profile)
    assert all(check_license(card, profile) == first for _ in range(1000))
    assert check_terms(card.license, profile, "m").license_id == "llama-4-community"


def test_region_groups_expand() -> None:
    assert expand_regions(("de",)) == {"DE", "EU", "EEA"}
    assert expand_regions(("NO",)) == {"NO", "EEA"}
    assert expand_regions(("CH", " ")) == {"CH"}
