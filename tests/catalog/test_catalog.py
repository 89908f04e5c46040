"""The packaged catalog: it loads from the installed package, is dated, and sources every figure."""

from __future__ import annotations

from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import yaml

from parity.catalog.cards import ModelCard, Tier
from parity.catalog.registry import Catalog, CatalogError, UnknownEntry, default_catalog
from parity.config import frontier_deployments, local_deployment

ROOT = Path(__file__).resolve().parents[2]

# The models the issue lists, by catalog id.
ISSUE_MODELS = {
    "gpt-4o", "gpt-4o-mini", "claude-3-5-sonnet", "claude-opus-4", "gemini-1.5-pro",
    "gemini-2.0-flash", "llama-3.1-8b", "llama-3.1-70b", "llama-3.1-405b", "llama-4-scout",
    "llama-4-maverick", "deepseek-v3", "deepseek-r1", "qwen-2.5-0.5b", "qwen-2.5-72b",
    "qwen3-8b", "mistral-7b", "mixtral-8x7b", "mixtral-8x22b", "glm-4.7", "olmo-3.1-32b",
    "smollm2-135m-instruct",
}  # fmt: skip


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return Catalog.load()


def test_every_model_the_issue_lists_is_there(catalog: Catalog) -> None:
    assert set(catalog.cards) >= ISSUE_MODELS


def test_the_gateways_default_deployments_name_real_cards(catalog: Catalog) -> None:
    env = {"OPENAI_API_KEY": "x", "ANTHROPIC_API_KEY": "y"}
    for deployment in [local_deployment(), *frontier_deployments(env)]:
        assert deployment.card is not None
        assert catalog.card(deployment.card).id == deployment.card


def test_the_example_configs_cards_exist(catalog: Catalog) -> None:
    example = yaml.safe_load((ROOT / "examples" / "parity.yaml").read_text(encoding="utf-8"))
    for model in example["models"]:
        if model.get("card"):
            catalog.card(model["card"])


def test_data_ships_inside_the_package_and_every_file_is_dated() -> None:
    data = resources.files("parity.catalog").joinpath("data")
    names = sorted(p.name for p in data.iterdir() if p.name.endswith(".yaml"))
    assert names == ["hardware.yaml", "licenses.yaml", "models_closed.yaml", "models_open.yaml"]
    for name in names:
        doc = yaml.safe_load(data.joinpath(name).read_text("utf-8"))
        assert isinstance(doc["as_of"], date), name


def _walk(node: Any, path: str = "") -> list[tuple[str, dict[str, Any]]]:
    """Every mapping in a document, with its dotted path."""
    out: list[tuple[str, dict[str, Any]]] = []
    if isinstance(node, dict):
        out.append((path, node))
        for key, value in node.items():
            out.extend(_walk(value, f"{path}.{key}"))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            out.extend(_walk(value, f"{path}[{index}]"))
    return out


NUMERIC_GROUPS = {"params", "context", "architecture", "price", "benchmarks", "throughput"}


@pytest.mark.parametrize("name", ["models_open.yaml", "models_closed.yaml"])
def test_every_figure_names_its_source(name: str) -> None:
    text = resources.files("parity.catalog").joinpath("data", name).read_text("utf-8")
    for path, mapping in _walk(yaml.safe_load(text)):
        leaf = path.rsplit(".", 1)[-1].split("[")[0]
        if leaf in NUMERIC_GROUPS:
            assert str(mapping.get("source", "")).strip(), f"{name}{path} has no source"
    for card in yaml.safe_load(text)["models"]:
        assert card["tier_source"].strip(), card["id"]


def test_seed_prices_carry_the_seed_and_vendor_prices_a_date(catalog: Catalog) -> None:
    for card in catalog:
        if card.price is None:
            continue
        if card.price.source.startswith("docs/sources.md S"):
            assert card.price.as_of is None
        else:
            assert card.price.as_of is not None, f"{card.id}: a vendor price needs its date"
    for seeded in ("gpt-4o", "claude-3-5-sonnet"):
        price = catalog.card(seeded).price
        assert price is not None and price.source.startswith("docs/sources.md S1")


def test_closed_models_publish_no_size_and_open_models_no_price(catalog: Catalog) -> None:
    for card in catalog:
        if card.tier is Tier.CLOSED_API:
            assert card.params is None and card.architecture is None, card.id
            assert not card.license.weights_available
        else:
            assert card.price is None, f"{card.id}: an open model has no vendor list price here"
            assert card.params is not None, card.id


def test_every_tier_is_used_and_matches_the_seed_examples(catalog: Catalog) -> None:
    assert {c.tier for c in catalog} == set(Tier)
    # sources.md S1's tier table: OLMo fully open, Mistral 7B and Qwen 2.5 permissive, Llama 3.1
    # restricted, GPT-4o/Claude/Gemini closed.
    assert catalog.card("olmo-3.1-32b").tier is Tier.FULLY_OPEN
    assert catalog.card("mistral-7b").tier is Tier.OPEN_WEIGHTS_PERMISSIVE
    assert catalog.card("qwen-2.5-7b").tier is Tier.OPEN_WEIGHTS_PERMISSIVE
    assert catalog.card("llama-3.1-70b").tier is Tier.OPEN_WEIGHTS_RESTRICTED
    assert catalog.card("claude-opus-4").tier is Tier.CLOSED_API


def test_the_seed_benchmark_claims_are_on_the_cards(catalog: Catalog) -> None:
    def score(card_id: str, name: str) -> float:
        found = catalog.card(card_id).benchmark(name)
        assert found is not None and found.source.startswith("docs/sources.md S0")
        return found.score

    assert score("deepseek-v3", "MMLU") == 88.5
    assert score("deepseek-v3", "GPQA") == 59.1
    assert score("qwen-2.5-72b", "HumanEval") == 86.6
    assert score("deepseek-r1", "MATH") == 97.3
    assert score("llama-4-maverick", "mt-bench") == 8.7


def test_lookups_accept_aliases_and_explain_unknown_names(catalog: Catalog) -> None:
    assert catalog.card("GPT-4o").id == "gpt-4o"
    assert catalog.gpu("4090").id == "rtx-4090"
    assert catalog.precision("q4_k_m").id == "Q4_K_M"
    assert catalog.selection("2xH100").count == 2
    assert catalog.selection("h100x4").count == 4
    assert catalog.selection("rtx4090").count == 1  # not "rt" x 4090
    assert catalog.selection("2 x RTX 4090").gpu.id == "rtx-4090"
    with pytest.raises(UnknownEntry, match=r"known: .*gpt-4o"):
        catalog.card("gpt-5")
    with pytest.raises(UnknownEntry):
        catalog.selection("3xTPU")


def test_default_catalog_is_loaded_once() -> None:
    assert default_catalog() is default_catalog()


def _docs(models: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    data = resources.files("parity.catalog").joinpath("data")
    docs = {n: yaml.safe_load(data.joinpath(n).read_text("utf-8"))
            for n in ("licenses.yaml", "hardware.yaml")}  # fmt: skip
    docs["models_open.yaml"] = {"as_of": date(2026, 1, 1), "models": models}
    return docs


def test_bad_data_is_refused_with_the_card_named() -> None:
    good = {
        "id": "toy", "name": "Toy", "vendor": "v", "family": "f", "tier": "fully_open",
        "tier_source": "x", "license": "apache-2.0",
        "params": {"total_b": 1, "source": "s"},
    }  # fmt: skip
    assert Catalog.from_documents(_docs([good])).card("toy").params is not None
    with pytest.raises(CatalogError, match=r"'toy'.*unknown licence"):
        Catalog.from_documents(_docs([{**good, "license": "wtfpl"}]))
    with pytest.raises(CatalogError, match="'toy'"):  # a figure without its source
        Catalog.from_documents(_docs([{**good, "params": {"total_b": 1}}]))
    with pytest.raises(CatalogError, match="disagrees"):  # open tier, closed licence
        Catalog.from_documents(_docs([{**good, "license": "openai-terms"}]))
    with pytest.raises(CatalogError, match="duplicate"):
        Catalog.from_documents(_docs([good, good]))


def test_cards_are_immutable(catalog: Catalog) -> None:
    card: ModelCard = catalog.card("gpt-4o")
    with pytest.raises(ValueError, match="frozen"):
        card.id = "other"  # type: ignore[misc]
