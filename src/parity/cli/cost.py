"""parity cost: API vs self-hosting vs hybrid, the break-even volume, sensitivity and a plot."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from parity.catalog.registry import UnknownEntry, default_catalog
from parity.cli.output import emit, table
from parity.economics.breakeven import BreakEven, break_even, hybrid_break_even
from parity.economics.scenario import (
    DEFAULT_ENGINEER_USD,
    CostInputs,
    Scenario,
    build_scenario,
)
from parity.economics.sensitivity import SensitivityRow, sensitivity
from parity.economics.tco import DAYS_PER_YEAR, Comparison, compare

__all__ = ["break_even_json", "comparison_json", "parse_volume", "register"]

_SUFFIX = {"": 1.0, "k": 1e3, "m": 1e6, "b": 1e9, "g": 1e9, "t": 1e12}
_INPUT_FIELDS = {f.name for f in dataclasses.fields(CostInputs)}


def parse_volume(text: str) -> float:
    """'10M', '1.5B', '250k', '2e9' or '1,000,000' -> tokens."""
    cleaned = text.strip().lower().replace(",", "").replace("_", "")
    match = re.fullmatch(r"(\d+(?:\.\d+)?(?:e\d+)?)\s*([kmbgt]?)", cleaned)
    if not match:
        raise typer.BadParameter(f"expected a volume like 10M, 1.5B or 250k, got {text!r}")
    return float(match.group(1)) * _SUFFIX[match.group(2)]


def break_even_json(be: BreakEven) -> dict[str, Any]:
    return {
        "input_tokens_per_day": be.input_tokens_per_day,
        "permanent_from": be.permanent_from,
        "replicas": be.replicas,
        "annual_usd": be.annual_cost,
        "reason": be.reason,
    }


def comparison_json(c: Comparison) -> dict[str, Any]:
    """Yearly cost of each option, with its parts and its price per 1M tokens."""
    tokens_year = c.workload.total_tokens_per_day * DAYS_PER_YEAR

    def per_m(usd: float) -> float | None:
        return usd / tokens_year * 1e6 if tokens_year else None

    sh = c.self_host
    out: dict[str, Any] = {
        "api": {
            "annual_usd": c.api.total,
            "input_usd": c.api.input_usd,
            "output_usd": c.api.output_usd,
            "usd_per_m_tokens": per_m(c.api.total),
        },
        "self_host": {
            "annual_usd": sh.total,
            "gpus": sh.gpus,
            "replicas": sh.replicas,
            "hardware_usd": sh.hardware_usd,
            "power_usd": sh.power_usd,
            "people_usd": sh.people_usd,
            "average_utilisation": sh.average_utilisation,
            "peak_utilisation": sh.peak_utilisation,
            "usd_per_m_tokens": per_m(sh.total),
        },
    }
    if c.hybrid is not None:
        local = c.hybrid.self_host
        out["hybrid"] = {
            "annual_usd": c.hybrid.total,
            "frontier_share": c.hybrid.frontier_share,
            "api_usd": c.hybrid.api.total,
            "self_host_usd": local.total if local else 0.0,
            "gpus": local.gpus if local else 0,
            "usd_per_m_tokens": per_m(c.hybrid.total),
        }
    return out


def _sensitivity_json(rows: list[SensitivityRow]) -> list[dict[str, Any]]:
    return [
        {
            "parameter": r.parameter,
            "value": r.value,
            "break_even_input_tokens_per_day": r.break_even_input_tokens_per_day,
            "api_usd": r.api_usd,
            "self_host_usd": r.self_host_usd,
            "cheaper": r.cheaper,
        }
        for r in rows
    ]


def _share_from_ledger(config: Path | None, ledger: str | None, since: str) -> float:
    from parity.cli.ledger_opts import open_cli_ledger, parse_since
    from parity.config import load_settings
    from parity.economics.usage import frontier_share

    settings = load_settings(config)
    vendor = {m.id for m in settings.models if m.residency.value == "vendor"}
    store = open_cli_ledger(config, ledger)
    try:
        usage = store.usage(since=parse_since(since))
    finally:
        store.close()
    share = frontier_share(usage, vendor)
    if share is None:
        raise typer.BadParameter("the ledger holds no tokens in that window", param_hint="--since")
    return share


Opt = typer.Option


def cost(
    tokens_per_day: Annotated[str, Opt(help="Input (prompt) tokens per day: 10M, 1.5B.")] = "10M",
    output_per_input: Annotated[float, Opt(min=0, help="Output per input token.")] = 0.5,
    peak_to_average: Annotated[float, Opt(min=1, help="Peak / average token rate.")] = 1.0,
    api_model: Annotated[str, Opt(help="Catalog card whose API price to use.")] = "gpt-4o",
    api_input_price: Annotated[float | None, Opt(min=0, help="USD per 1M input tokens.")] = None,
    api_output_price: Annotated[float | None, Opt(min=0, help="USD per 1M output tokens.")] = None,
    gpu: Annotated[str, Opt(help="GPU type to self-host on.")] = "h100",
    local_model: Annotated[str | None, Opt(help="Open model; sizes GPUs per replica.")] = None,
    precision: Annotated[str, Opt(help="Weight format of --local-model.")] = "bf16",
    context: Annotated[int, Opt(min=1, help="Context per sequence for --local-model.")] = 8192,
    gpus_per_replica: Annotated[int | None, Opt(min=1, help="GPUs per model copy.")] = None,
    throughput_per_gpu: Annotated[float | None, Opt(min=0.001, help="Tokens/s per GPU.")] = None,
    max_utilisation: Annotated[float, Opt(min=0.01, max=1.0, help="Peak load cap.")] = 1.0,
    lease_per_gpu_month: Annotated[float | None, Opt(min=0, help="USD per GPU-month.")] = None,
    purchase_per_gpu: Annotated[float | None, Opt(min=0, help="Buy: USD per GPU.")] = None,
    amortisation_years: Annotated[float, Opt(min=0.1, help="Purchase amortisation.")] = 3.0,
    cost_of_capital: Annotated[float, Opt(min=0, help="Yearly rate; 0 = straight line.")] = 0.0,
    hosting_per_gpu_month: Annotated[float, Opt(min=0, help="Hosting per owned GPU.")] = 0.0,
    kwh_price: Annotated[float | None, Opt(min=0, help="Electricity USD/kWh (owned GPUs).")] = None,
    power_watts: Annotated[float | None, Opt(min=1, help="Watts per GPU (default TDP).")] = None,
    pue: Annotated[float, Opt(min=1, help="Power usage effectiveness.")] = 1.0,
    idle_fraction: Annotated[float, Opt(min=0, max=1, help="Idle draw / board power.")] = 0.3,
    engineer_fte: Annotated[float, Opt(min=0, help="Engineers running it (FTE).")] = 0.0,
    engineer_cost: Annotated[float, Opt(min=0, help="USD per FTE-year.")] = DEFAULT_ENGINEER_USD,
    other_per_year: Annotated[float, Opt(min=0, help="Other fixed USD per year.")] = 0.0,
    frontier_share: Annotated[float | None, Opt(min=0, max=1, help="Hybrid: API share.")] = None,
    share_from_ledger: Annotated[
        bool, Opt("--share-from-ledger", help="Hybrid share = vendor token share in the ledger.")
    ] = False,
    config: Annotated[
        Path | None, Opt("--config", "-c", help="parity.yaml for the ledger.")
    ] = None,
    ledger: Annotated[str | None, Opt("--ledger", help="Ledger URL.")] = None,
    since: Annotated[str, Opt(help="Ledger window: 7d, 30d.")] = "30d",
    plot: Annotated[
        Path | None, Opt("--plot", help="Write the cost curve (.png/.svg/.pdf).")
    ] = None,
    as_json: Annotated[bool, Opt("--json", help="Print machine-readable JSON.")] = False,
) -> None:
    """Compare API, self-hosting and hybrid cost a year; solve the break-even volume.

    Volume counts input tokens, with output on top (as docs/sources.md S1 counts). Unset figures
    come from the catalog or docs/sources.md, and every one is printed with its source.
    """
    options = {k: v for k, v in locals().items() if k in _INPUT_FIELDS}
    options["tokens_per_day"] = parse_volume(tokens_per_day)
    if share_from_ledger:
        frontier_share = _share_from_ledger(config, ledger, since)
    try:
        scenario, assumptions = build_scenario(default_catalog(), CostInputs(**options))
    except (UnknownEntry, ValueError) as exc:
        raise typer.BadParameter(str(exc)) from exc
    pricing, plan, workload = scenario.pricing, scenario.plan, scenario.workload
    comparison = compare(pricing, plan, workload, frontier_share)
    be = break_even(pricing, plan, workload)
    hybrid_be = None
    if frontier_share is not None and frontier_share < 1:
        hybrid_be = hybrid_break_even(pricing, plan, workload, frontier_share)
    written = _plot(scenario, plot, frontier_share) if plot is not None else None
    data = {
        "assumptions": [dataclasses.asdict(a) for a in assumptions],
        "options": comparison_json(comparison),
        "cheapest": comparison.cheapest,
        "break_even": break_even_json(be),
        "hybrid_break_even": break_even_json(hybrid_be) if hybrid_be else None,
        "sensitivity": _sensitivity_json(sensitivity(scenario)),
        "notes": list(comparison.notes),
        "plot": written,
    }
    emit(data, as_json, lambda console: _render(console, data, comparison))


def _plot(scenario: Scenario, path: Path, share: float | None) -> str:
    try:
        from parity.economics.plots import plot_cost_curves
    except ImportError as exc:  # pragma: no cover - matplotlib is the 'report' extra
        raise typer.BadParameter("plots need matplotlib: pip install 'parity[report]'") from exc
    try:
        out = plot_cost_curves(
            scenario.pricing, scenario.plan, scenario.workload, path, frontier_share=share
        )
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--plot") from exc
    return str(out)


def _money(value: float | None) -> str:
    return "-" if value is None else f"${value:,.0f}"


def _volume(value: float | None) -> str:
    return "never" if value is None else f"{value / 1e6:,.1f}M/day"


def _option_lines(opts: dict[str, Any]) -> list[list[str]]:
    api, sh = opts["api"], opts["self_host"]
    lines = [
        ["API", _money(api["annual_usd"]), _money(api["annual_usd"] / 12),
         f"${api['usd_per_m_tokens'] or 0:,.2f}", "-"],
        ["self-hosted", _money(sh["annual_usd"]), _money(sh["annual_usd"] / 12),
         f"${sh['usd_per_m_tokens'] or 0:,.2f}",
         f"{sh['gpus']} ({sh['average_utilisation']:.0%} avg, {sh['peak_utilisation']:.0%} peak)"],
    ]  # fmt: skip
    if "hybrid" in opts:
        hy = opts["hybrid"]
        lines.append(
            [f"hybrid ({hy['frontier_share']:.0%} API)", _money(hy["annual_usd"]),
             _money(hy["annual_usd"] / 12), f"${hy['usd_per_m_tokens'] or 0:,.2f}",
             str(hy["gpus"])]
        )  # fmt: skip
    return lines


def _render(console: Console, data: dict[str, Any], c: Comparison) -> None:
    console.print(
        table("Assumptions", ["", "value", "source"],
              [[a["name"], a["value"], a["source"]] for a in data["assumptions"]])
    )  # fmt: skip
    title = (
        f"{c.workload.input_tokens_per_day / 1e6:,.1f}M input tokens/day "
        f"({c.workload.total_tokens_per_day / 1e6:,.1f}M with output)"
    )
    columns = ["option", "per year", "per month", "per 1M tokens", "GPUs"]
    console.print(table(title, columns, _option_lines(data["options"])))
    be = data["break_even"]

    def say(text: str) -> None:
        console.print(text, highlight=False, markup=False)

    say(f"break-even: {_volume(be['input_tokens_per_day'])} input tokens ({be['reason']})")
    if be["permanent_from"] and be["permanent_from"] != be["input_tokens_per_day"]:
        say(
            f"  self-hosting stays cheaper from {_volume(be['permanent_from'])}; in between, "
            "each new replica briefly costs more than the API"
        )
    if data["hybrid_break_even"]:
        say(f"hybrid break-even: {_volume(data['hybrid_break_even']['input_tokens_per_day'])}")
    say(f"cheapest at this volume: {data['cheapest']}")
    rows = [
        [r["parameter"], r["value"], _volume(r["break_even_input_tokens_per_day"]),
         _money(r["api_usd"]), _money(r["self_host_usd"]), r["cheaper"]]
        for r in data["sensitivity"]
    ]  # fmt: skip
    columns = ["assumption", "value", "break-even", "API / yr", "self-host / yr", "cheaper"]
    console.print(table("Sensitivity: one assumption at a time", columns, rows))
    for note in data["notes"]:
        say(f"note: {note}")
    if data["plot"]:
        say(f"plot written to {data['plot']}")


def register(app: typer.Typer) -> None:
    """Add ``parity cost``."""
    app.command("cost")(cost)
