"""Model lifecycle: dated, sourced, checked against configs, and kept current in the defaults."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from parity.catalog.cards import LifecycleStatus
from parity.catalog.deployment import Deployment
from parity.catalog.registry import Catalog, CatalogError, default_catalog
from parity.config import ANTHROPIC_DEFAULTS, OPENAI_DEFAULTS, frontier_deployments
from parity.config.lifecycle import lifecycle_findings

TODAY = datetime.now(UTC).date()


def parity(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "parity", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "COLUMNS": "250"},
    )


def test_every_card_has_a_lifecycle_whose_dates_name_a_public_source() -> None:
    from importlib import resources

    import yaml

    for name in ("models_open.yaml", "models_closed.yaml"):
        text = resources.files("parity.catalog").joinpath("data", name).read_text("utf-8")
        for raw in yaml.safe_load(text)["models"]:
            assert "lifecycle" in raw, f"{name}: {raw['id']} has no lifecycle block"
    for card in default_catalog():
        life = card.lifecycle
        assert life.checked.strip(), card.id
        for event in (life.released, life.deprecated, life.retired):
            if event is not None:
                assert "http" in event.source or "arXiv" in event.source, (card.id, event)
        if life.replacement is not None:
            default_catalog().card(life.replacement)


@pytest.mark.parametrize("card_id", [*OPENAI_DEFAULTS, *ANTHROPIC_DEFAULTS])
def test_the_defaults_from_api_keys_name_current_models(card_id: str) -> None:
    life = default_catalog().card(card_id).lifecycle
    assert life.status(TODAY) is not LifecycleStatus.RETIRED, f"default {card_id} is retired"
    left = life.days_left(TODAY)
    assert left is None or left > 90, f"default {card_id} retires in {left} days"


def test_no_default_deployment_draws_a_lifecycle_finding() -> None:
    env = {"OPENAI_API_KEY": "x", "ANTHROPIC_API_KEY": "y"}
    found = lifecycle_findings(
        frontier_deployments(env), default_catalog(), today=TODAY, warn_days=90
    )
    assert found == []


def test_vendor_snapshot_ids_find_their_card() -> None:
    catalog = default_catalog()
    snapshot = Deployment(
        id="sonnet", provider="anthropic", upstream_model="claude-3-5-sonnet-20241022"
    )
    match = catalog.card_for(snapshot)
    assert match is not None and match[0].id == "claude-3-5-sonnet" and match[1] == "upstream_model"
    assert catalog.card_named("CLAUDE-OPUS-4-0") is catalog.card("claude-opus-4")
    assert catalog.card_named("a-model-nobody-knows") is None


def test_status_follows_the_dates() -> None:
    life = default_catalog().card("claude-3-5-sonnet").lifecycle
    assert life.status(date(2025, 8, 1)) is LifecycleStatus.ACTIVE
    assert life.status(date(2025, 9, 1)) is LifecycleStatus.DEPRECATED
    assert life.status(date(2025, 10, 22)) is LifecycleStatus.RETIRED
    assert life.days_left(date(2025, 10, 12)) == 10


def _catalog_with(card: dict[str, Any]) -> Catalog:
    from importlib import resources

    import yaml

    data = resources.files("parity.catalog").joinpath("data")
    docs = {
        n: yaml.safe_load(data.joinpath(n).read_text("utf-8"))
        for n in ("licenses.yaml", "hardware.yaml")
    }
    docs["models_closed.yaml"] = {"as_of": date(2026, 1, 1), "models": [card]}
    return Catalog.from_documents(docs)


BASE_CARD: dict[str, Any] = {
    "id": "vendor-x",
    "name": "Vendor X",
    "vendor": "Acme",
    "family": "X",
    "tier": "closed_api",
    "tier_source": "closed",
    "license": "openai-terms",
    "lifecycle": {
        "retired": {"day": date(2026, 3, 1), "source": "https://example.com/deprecations"},
        "checked": "https://example.com/deprecations",
    },
}


def test_a_replacement_must_be_a_card_and_dates_must_be_in_order() -> None:
    with pytest.raises(CatalogError, match="replacement 'nope' has no card"):
        _catalog_with({**BASE_CARD, "lifecycle": {**BASE_CARD["lifecycle"], "replacement": "nope"}})
    early = {"day": date(2026, 4, 1), "source": "https://example.com/x"}
    with pytest.raises(CatalogError, match="released <= deprecated <= retired"):
        _catalog_with({**BASE_CARD, "lifecycle": {**BASE_CARD["lifecycle"], "deprecated": early}})


def test_a_retiring_model_is_a_warning_inside_the_window_and_an_error_after() -> None:
    catalog = _catalog_with(BASE_CARD)
    deployment = Deployment(id="x", provider="openai", base_url="http://h/v1", card="vendor-x")
    outside = lifecycle_findings([deployment], catalog, today=date(2025, 10, 1), warn_days=90)
    assert outside == []
    inside = lifecycle_findings([deployment], catalog, today=date(2026, 1, 30), warn_days=90)
    assert [(f.level, f.loc) for f in inside] == [("warning", ("models", 0, "card"))]
    assert "retires on 2026-03-01, in 30 days" in inside[0].message
    after = lifecycle_findings([deployment], catalog, today=date(2026, 3, 1), warn_days=90)
    assert after[0].level == "error" and "was retired by Acme on 2026-03-01" in after[0].message
    never = lifecycle_findings([deployment], catalog, today=date(2026, 2, 27), warn_days=0)
    assert never == []


RETIRED_CONFIG = """\
models:
  - id: local/smollm2
    provider: local
    residency: on_prem
  - id: sonnet
    provider: anthropic
    base_url: https://api.anthropic.com
    api_key_env: ANTHROPIC_API_KEY
    upstream_model: claude-3-5-sonnet-20241022
"""


def test_config_check_fails_on_a_retired_model_at_its_line(tmp_path: Path) -> None:
    path = tmp_path / "parity.yaml"
    path.write_text(RETIRED_CONFIG)
    done = parity("config", "check", str(path))
    assert done.returncode == 1, done.stdout + done.stderr
    line = done.stdout.strip().splitlines()[-1]
    assert line.startswith(f"{path}:9: model 'sonnet' (Claude 3.5 Sonnet")
    assert "retired by Anthropic on 2025-10-22" in line
    assert "recommends claude-sonnet-4-6 instead" in line
    report = json.loads(parity("config", "check", str(path), "--json").stdout)
    assert [(e["line"], e["location"]) for e in report["errors"]] == [
        (9, "models.1.upstream_model")
    ]


def test_serve_refuses_a_retired_model_with_one_line(tmp_path: Path) -> None:
    path = tmp_path / "parity.yaml"
    path.write_text(RETIRED_CONFIG)
    done = parity("serve", "--config", str(path), "--port", "0")
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1, done.stderr
    assert done.stderr.startswith(f"parity: error: {path}:9: model 'sonnet'")
    assert "claude-sonnet-4-6" in done.stderr


def test_models_shows_the_lifecycle() -> None:
    listed = json.loads(parity("models", "--json").stdout)
    by_id = {c["id"]: c["lifecycle_today"] for c in listed}
    assert by_id["claude-opus-4"]["status"] == "retired"
    assert by_id["claude-opus-4"]["retired"] == "2026-06-15"
    assert by_id["claude-opus-4"]["replacement"] == "claude-opus-4-7"
    table = parity("models", "--tier", "closed_api").stdout
    assert "retired 2026-06-15" in table


def test_a_vendor_model_name_one_letter_off_a_card_is_a_warning_with_the_card() -> None:
    catalog = default_catalog()
    typo = Deployment(id="sonnet", provider="anthropic", upstream_model="claude-sonet-4-6")
    found = lifecycle_findings([typo], catalog, today=date(2026, 12, 7), warn_days=90)
    assert [(f.level, f.loc) for f in found] == [("warning", ("models", 0, "upstream_model"))]
    assert "did you mean 'claude-sonnet-4-6'?" in found[0].message
    # behind a self-hosted endpoint a name near a card's is plausible, and a new name passes
    hosted = Deployment(
        id="q", provider="openai", base_url="http://vllm:8000/v1", upstream_model="claude-sonet-4-6"
    )
    new = Deployment(id="n", provider="openai", upstream_model="gpt-7-turbo-preview")
    assert lifecycle_findings([hosted, new], catalog, today=date(2026, 12, 7), warn_days=90) == []
