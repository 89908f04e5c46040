"""Price drift: real cost per token from the ledger against the catalog's dated prices."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date
from importlib import resources
from typing import Any

import openai
import pytest
import yaml

from parity.catalog.deployment import Deployment, Price
from parity.catalog.registry import Catalog
from parity.economics.drift import price_drift
from parity.store.base import UsageRow
from tests.conftest import GatewayFactory
from tests.fakes.deployments import FAKE_KEY, FAKE_KEY_ENV
from tests.fakes.fixtures import VendorFake
from tests.servers import wait_for_rows

M = 1_000_000


def _catalog() -> Catalog:
    """A catalog with one vendor card whose list price doubled on 2026-06-01."""
    data = resources.files("parity.catalog").joinpath("data")
    docs: dict[str, Any] = {
        n: yaml.safe_load(data.joinpath(n).read_text("utf-8"))
        for n in ("licenses.yaml", "hardware.yaml")
    }
    card = {
        "id": "vendor-x",
        "name": "Vendor X",
        "vendor": "Acme",
        "family": "X",
        "tier": "closed_api",
        "tier_source": "closed",
        "license": "openai-terms",
        "price": {
            "input": 10.0,
            "output": 30.0,
            "as_of": date(2026, 6, 1),
            "source": "https://e/2",
        },
        "earlier_prices": [
            {"input": 5.0, "output": 15.0, "as_of": date(2026, 1, 1), "source": "https://e/1"}
        ],
        "lifecycle": {"checked": "https://e/deprecations"},
    }
    docs["models_closed.yaml"] = {"as_of": date(2026, 6, 1), "models": [card]}
    return Catalog.from_documents(docs)


def _deployment(price: Price) -> Deployment:
    return Deployment(
        id="x", provider="openai", base_url="http://h/v1", card="vendor-x", price=price
    )


def _usage(day: str, cost: float) -> UsageRow:
    return UsageRow(day, "x", 10, 0, M, M, cost)


def test_a_new_price_applies_from_its_date_not_backwards() -> None:
    catalog = _catalog()
    # Charged $20 (old price) the day before the change and $40 (new price) the day after.
    rows = [_usage("2026-05-31", 20.0), _usage("2026-06-02", 40.0)]
    (drift,) = price_drift(rows, [_deployment(Price())], catalog)
    assert drift.catalog_usd == pytest.approx(60.0)
    assert drift.drift == pytest.approx(0.0) and not drift.flagged
    assert catalog.card("vendor-x").price_on(date(2025, 12, 31)) is None


def test_a_config_left_on_the_old_price_reads_as_drift_only_after_the_change() -> None:
    catalog = _catalog()
    before = price_drift([_usage("2026-05-01", 20.0)], [_deployment(Price())], catalog)
    assert before[0].drift == pytest.approx(0.0)
    after = price_drift([_usage("2026-07-01", 20.0)], [_deployment(Price())], catalog)
    assert after[0].drift == pytest.approx(-0.5) and after[0].flagged
    assert after[0].words == "50.0% under the catalog price"


def test_days_before_any_dated_price_are_not_compared() -> None:
    (drift,) = price_drift([_usage("2025-06-01", 99.0)], [_deployment(Price())], _catalog())
    assert drift.drift is None and drift.unpriced_days == 1 and not drift.flagged


def test_the_threshold_decides_and_unpriced_deployments_are_left_out() -> None:
    rows = [_usage("2026-07-01", 40.0 * 1.05)]
    assert not price_drift(rows, [_deployment(Price())], _catalog())[0].flagged
    assert price_drift(rows, [_deployment(Price())], _catalog(), threshold=0.04)[0].flagged
    local = Deployment(id="x", provider="local")
    assert price_drift(rows, [local], _catalog()) == []


def test_parity_usage_flags_a_deployment_charging_20_percent_over_the_catalog(
    gateway_factory: GatewayFactory, vendor: VendorFake
) -> None:
    # gpt-5.4 lists at $2.50 / $15.00 per 1M; this deployment is configured 20% over.
    models = [
        {
            "id": "gpt-5.4",
            "provider": "openai",
            "base_url": vendor.openai_url,
            "api_key_env": FAKE_KEY_ENV,
            "residency": "vendor",
            "price": {"input": 3.00, "output": 18.00},
            "card": "gpt-5.4",
        },
        {
            "id": "mini",
            "provider": "openai",
            "base_url": vendor.openai_url,
            "api_key_env": FAKE_KEY_ENV,
            "upstream_model": "gpt-5.4-mini",
            "residency": "vendor",
            "price": {"input": 0.75, "output": 4.50},
        },
    ]
    gateway = gateway_factory({"models": models}, env={FAKE_KEY_ENV: FAKE_KEY})
    client = openai.OpenAI(base_url=gateway.v1, api_key="none", max_retries=0)
    ids = set()
    for model in ("gpt-5.4", "mini", "gpt-5.4", "mini"):
        raw = client.chat.completions.with_raw_response.create(
            model=model, messages=[{"role": "user", "content": "Say hi."}], max_tokens=16
        )
        ids.add(raw.headers["x-parity-request-id"])
    wait_for_rows(gateway.ledger_url, ids)
    config = str(gateway.log.parent / "parity.yaml")

    def usage(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "parity", "usage", "--config", config, *args],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            env=gateway.env,
        )

    checked = usage("--prices", "--json")
    assert checked.returncode == 1, checked.stdout + checked.stderr
    by_id = {d["deployment"]: d for d in json.loads(checked.stdout)}
    assert by_id["gpt-5.4"]["flagged"] and by_id["gpt-5.4"]["drift"] == pytest.approx(0.20)
    assert not by_id["mini"]["flagged"] and by_id["mini"]["drift"] == pytest.approx(0.0)
    plain = usage()
    assert plain.returncode == 0
    assert "price drift: gpt-5.4 cost 20.0% over the catalog price (gpt-5.4)" in plain.stdout
    assert "price drift: mini" not in plain.stdout
