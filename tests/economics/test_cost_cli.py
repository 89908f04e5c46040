"""parity cost as a user runs it: seed numbers, break-even, sensitivity, plot, ledger share."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner, Result

from parity.cli import cost
from parity.store.base import LedgerRow
from parity.store.factory import open_ledger


def run(*args: str) -> Result:
    app = typer.Typer()

    @app.callback()
    def _root() -> None:
        """parity"""

    cost.register(app)
    return CliRunner().invoke(app, ["cost", *args], env={"COLUMNS": "200"})


def as_json(*args: str) -> dict[str, Any]:
    result = run(*args, "--json")
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def test_defaults_reproduce_seed_001() -> None:
    data = as_json("--tokens-per-day", "10M")
    assert data["options"]["api"]["annual_usd"] == pytest.approx(27_375)
    assert data["options"]["self_host"]["annual_usd"] == pytest.approx(60_000)
    assert data["cheapest"] == "api"
    assert as_json("--tokens-per-day", "100M")["options"]["api"]["annual_usd"] == 273_750
    assert as_json("--tokens-per-day", "1B")["options"]["api"]["annual_usd"] == 2_737_500
    be = data["break_even"]["input_tokens_per_day"]
    assert be == pytest.approx(60_000 / 2_737.5 * 1e6)
    sources = " ".join(a["source"] for a in data["assumptions"])
    assert "docs/sources.md S1" in sources


def test_human_output_has_every_section(tmp_path: Path) -> None:
    plot = tmp_path / "cost.svg"
    result = run("--tokens-per-day", "50M", "--frontier-share", "0.2", "--engineer-fte", "0.5",
                 "--peak-to-average", "2", "--plot", str(plot))  # fmt: skip
    assert result.exit_code == 0, result.output
    for text in ("Assumptions", "per 1M tokens", "break-even:", "hybrid break-even:",
                 "Sensitivity", f"plot written to {plot}"):  # fmt: skip
        assert text in result.stdout, text
    assert plot.read_text().startswith("<?xml")


def test_purchase_with_power_and_a_named_model() -> None:
    data = as_json("--tokens-per-day", "200M", "--purchase-per-gpu", "30000",
                   "--cost-of-capital", "0.08", "--kwh-price", "0.12", "--pue", "1.3",
                   "--local-model", "llama-3.1-70b", "--precision", "fp8")  # fmt: skip
    sh = data["options"]["self_host"]
    assert sh["power_usd"] > 0 and sh["gpus"] >= 1
    names = {a["name"]: a for a in data["assumptions"]}
    assert "hardware fit" in names["GPUs per replica"]["source"]
    assert names["GPUs per replica"]["value"].startswith("1 x")  # 70B at fp8 on one H100
    assert "docs/sources.md S1" in names["throughput"]["source"]  # the card's own figure


def test_bad_input_is_a_usage_error() -> None:
    assert run("--tokens-per-day", "lots").exit_code == 2
    assert run("--gpu", "l40s").exit_code == 2  # no sourced lease price: ask for one
    assert run("--api-model", "gpt-5").exit_code == 2
    assert run("--plot", "x.gif").exit_code == 2
    assert run("--gpu", "l40s", "--lease-per-gpu-month", "1200", "--json").exit_code == 0


def test_hybrid_share_from_the_ledger(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    ledger = open_ledger(url)
    ledger.migrate()
    rows = [
        LedgerRow(request_id=f"r{i}", ts=1.8e9 - i, model_requested="parity/auto", status=200,
                  total_ms=5, model_answered=model, input_tokens=tokens, output_tokens=0)
        for i, (model, tokens) in enumerate([("gpt-4o", 300), ("local/smollm2", 700)])
    ]  # fmt: skip
    ledger.record(rows)
    ledger.close()
    config = tmp_path / "parity.yaml"
    config.write_text(
        "models:\n"
        "  - {id: local/smollm2, provider: local, residency: on_prem}\n"
        "  - {id: gpt-4o, provider: openai, base_url: 'http://127.0.0.1:1/v1', residency: vendor}\n"
        f"ledger: {{url: '{url}'}}\n"
    )
    data = as_json("--share-from-ledger", "--config", str(config), "--since", "100000d")
    assert data["options"]["hybrid"]["frontier_share"] == pytest.approx(0.3)
