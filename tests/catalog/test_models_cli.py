"""parity models as a user runs it: filters, --fits, licence checks, show and fit, --json."""

from __future__ import annotations

import json

import typer
from typer.testing import CliRunner, Result

from parity.cli import models


def run(*args: str) -> Result:
    app = typer.Typer()

    @app.callback()
    def _root() -> None:
        """parity"""

    models.register(app)
    return CliRunner().invoke(app, ["models", *args], env={"COLUMNS": "200"})


def ids(result: Result) -> set[str]:
    assert result.exit_code == 0, result.output
    return {item["id"] for item in json.loads(result.stdout)}


def test_lists_every_card_with_tier_licence_and_price() -> None:
    result = run()
    assert result.exit_code == 0, result.output
    assert "gpt-4o" in result.stdout and "Closed with API" in result.stdout
    assert "catalog as of 2026-12-07" in result.stdout
    data = json.loads(run("--json").stdout)
    gpt = next(item for item in data if item["id"] == "gpt-4o")
    assert gpt["price"]["input"] == 2.5 and gpt["license"]["id"] == "openai-terms"


def test_filters_by_tier_and_licence() -> None:
    assert ids(run("--tier", "fully_open", "--json")) == {
        "olmo-3-7b", "olmo-3.1-32b", "smollm2-135m-instruct", "smollm2-1.7b-instruct",
    }  # fmt: skip
    assert ids(run("--license", "mit", "--json")) == {"deepseek-r1", "glm-4.7"}
    bad = run("--tier", "mostly-open")
    assert bad.exit_code == 2 and "known: fully_open" in bad.output


def test_fits_filters_by_memory() -> None:
    on_4090 = ids(run("--fits", "RTX 4090", "--precision", "Q4_K_M", "--json"))
    assert "llama-3.1-8b" in on_4090 and "qwen-2.5-32b" in on_4090
    assert "llama-3.1-70b" not in on_4090 and "llama-4-scout" not in on_4090
    assert "gpt-4o" not in on_4090  # closed APIs are not self-hostable
    on_h100 = ids(run("--fits", "H100", "--precision", "int4", "--json"))
    assert {"llama-3.1-70b", "llama-4-scout"} <= on_h100
    assert "llama-3.1-70b" not in ids(run("--fits", "H100", "--precision", "fp16", "--json"))
    assert "llama-3.1-70b" in ids(run("--fits", "2xH100", "--json"))
    assert run("--fits", "TPUv5").exit_code == 2


def test_licence_check_columns() -> None:
    data = json.loads(
        run("--tier", "open_weights_restricted", "--mau", "800000000", "--json").stdout
    )
    verdicts = {item["id"]: item["licence_check"] for item in data}
    assert verdicts["llama-3.1-70b"]["allowed"] is False
    assert "700,000,000" in verdicts["llama-3.1-70b"]["reason"]
    assert verdicts["deepseek-v3"]["allowed"] is True
    table = run("--tier", "open_weights_restricted", "--region", "DE")
    assert "you may use it?" in table.stdout


def test_show_and_fit() -> None:
    shown = run("show", "llama-3.1-70b", "--json")
    assert shown.exit_code == 0, shown.output
    card = json.loads(shown.stdout)
    assert card["params"]["total_b"] == 70.6 and card["license"]["mau_limit"] == 700_000_000
    assert run("show", "gpt-5").exit_code == 2
    fitted = json.loads(run("fit", "llama-3.1-70b", "--gpu", "h100", "--precision", "fp16",
                            "--precision", "int4", "--json").stdout)  # fmt: skip
    counts = {row["precision"]: row["gpus_needed"]["h100"] for row in fitted["rows"]}
    assert counts == {"fp16": 2, "int4": 1}
    human = run("fit", "llama-4-scout", "--context", "131072")
    assert human.exit_code == 0 and "H100 80GB needed" in human.stdout
    assert run("fit", "gpt-4o").exit_code == 2
