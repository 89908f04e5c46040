"""Costs: API vs self-hosting vs hybrid, the break-even chart, and assumptions you can edit.

The form is a GET, so a set of assumptions is a link you can share; the server recomputes with
the same functions as ``parity cost`` (``build_scenario``, ``compare``, ``break_even``,
``sensitivity``) and every figure keeps its source.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from parity.catalog.registry import UnknownEntry, default_catalog
from parity.economics.breakeven import break_even, hybrid_break_even
from parity.economics.plots import volume_grid
from parity.economics.scenario import DEFAULT_ENGINEER_USD, CostInputs, Scenario, build_scenario
from parity.economics.sensitivity import sensitivity
from parity.economics.tco import api_cost, compare, hybrid_cost, self_host_cost
from parity.economics.usage import frontier_share
from parity.web import ledger_view as view
from parity.web.board import Dashboard
from parity.web.charts import PALETTE, Series, xy_chart
from parity.web.forms import query_float

__all__ = ["FIELDS", "Costs", "NumberField", "read_inputs"]


@dataclass(frozen=True, slots=True)
class NumberField:
    """One numeric assumption on the form; ``default`` None: 'from the catalog or sources.md'."""

    name: str
    label: str
    default: float | None
    low: float | None = 0.0
    high: float | None = None
    hint: str = ""
    step: str = "any"


FIELDS = (
    NumberField("tokens_m", "Input tokens per day (millions)", 10.0, 0.000001, 1e7,
                "output comes on top, as a ratio of input"),
    NumberField("output_per_input", "Output tokens per input token", 0.5),
    NumberField("peak_to_average", "Peak / average token rate", 1.0, 1.0),
    NumberField("api_input_price", "API input price (USD / 1M)", None, hint="blank: the card's"),
    NumberField("api_output_price", "API output price (USD / 1M)", None, hint="blank: the card's"),
    NumberField("gpus_per_replica", "GPUs per model copy", None, 1, 1024, "blank: from the model",
                step="1"),
    NumberField("throughput_per_gpu", "Tokens/s per GPU", None, 0.001,
                hint="blank: the card's or docs/sources.md S1's"),
    NumberField("max_utilisation", "Max utilisation at peak", 1.0, 0.01, 1.0),
    NumberField("lease_per_gpu_month", "Lease (USD per GPU-month)", None,
                hint="blank: the GPU's sourced lease"),
    NumberField("purchase_per_gpu", "Or buy: USD per GPU", None, hint="set to buy instead"),
    NumberField("amortisation_years", "Amortisation (years)", 3.0, 0.1),
    NumberField("cost_of_capital", "Cost of capital (yearly rate)", 0.0),
    NumberField("hosting_per_gpu_month", "Hosting per owned GPU-month (USD)", 0.0),
    NumberField("kwh_price", "Electricity (USD / kWh, owned GPUs)", None),
    NumberField("pue", "PUE", 1.0, 1.0),
    NumberField("engineer_fte", "Engineers running it (FTE)", 0.0),
    NumberField("engineer_cost", "USD per engineer-year", DEFAULT_ENGINEER_USD,
                hint="a placeholder, not from sources.md"),
    NumberField("other_per_year", "Other fixed USD per year", 0.0),
    NumberField("frontier_share", "Hybrid: share of tokens to the API (0-1)", None, 0.0, 1.0,
                "blank: no hybrid"),
)  # fmt: skip

_INTS = {"gpus_per_replica"}


def read_inputs(query: Mapping[str, str]) -> tuple[CostInputs, float | None, dict[str, str]]:
    """CostInputs and the hybrid share from a query string, and a message per bad field."""
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for f in FIELDS:
        try:
            values[f.name] = query_float(query, f.name, f.default, low=f.low, high=f.high)
        except ValueError as exc:
            errors[f.name] = str(exc).split(": ", 1)[-1]
            values[f.name] = f.default
    share = values.pop("frontier_share")
    tokens = values.pop("tokens_m") * 1e6
    for name in _INTS:
        if values[name] is not None:
            values[name] = round(values[name])
    for name in ("api_model", "gpu", "local_model", "precision"):
        if query.get(name):
            values[name] = query[name]
    return CostInputs(tokens_per_day=tokens, **values), share, errors


def _curves(scenario: Scenario, share: float | None, volume: float) -> dict[str, Any]:
    pricing, plan, shape = scenario.pricing, scenario.plan, scenario.workload
    be = break_even(pricing, plan, shape)
    anchors = [a for a in (volume, be.input_tokens_per_day) if a and a > 0] or [1e7]
    grid = volume_grid(min(anchors) / 100, max(anchors) * 100, 240)
    series = [
        Series(
            f"API ({pricing.name})",
            [(v, api_cost(pricing, shape.at(v)).total) for v in grid],
            color=PALETTE[1],
        ),
        Series(
            f"self-hosted ({plan.gpus_per_replica}x {plan.gpu} per replica)",
            [(v, self_host_cost(plan, shape.at(v)).total) for v in grid],
            color=PALETTE[0],
        ),
    ]
    if share is not None:
        series.append(
            Series(
                f"hybrid ({share:.0%} to the API)",
                [(v, hybrid_cost(pricing, plan, shape.at(v), share).total) for v in grid],
                color=PALETTE[3],
                dashed=True,
            )
        )
    if be.input_tokens_per_day and be.annual_cost:
        series.append(
            Series(
                f"break-even: {be.input_tokens_per_day / 1e6:,.1f}M tokens/day",
                [(be.input_tokens_per_day, be.annual_cost)],
                color=PALETTE[6],
                line=False,
                point_radius=7,
            )
        )
    you = api_cost(pricing, shape).total
    series.append(
        Series(
            f"your volume: {volume / 1e6:,.1f}M tokens/day",
            [(volume, you / 20), (volume, you * 20)],
            color=PALETTE[2],
            dashed=True,
        )
    )
    return xy_chart(
        series,
        x_title=f"input tokens per day (output = {shape.output_per_input:g} x input)",
        y_title="USD per year",
        x_format="tokens",
        y_format="usd",
        x_log=True,
        y_log=True,
    )


class Costs:
    """GET /costs."""

    def __init__(self, board: Dashboard) -> None:
        self.board = board

    def routes(self) -> list[BaseRoute]:
        return [Route("/costs", self.page, name="costs")]

    def _ledger_share(self) -> float | None:
        vendors = {m.id for m in self.board.settings.models if m.residency.value == "vendor"}
        _, since = view.window_since("30d")
        return frontier_share(self.board.ledger.usage(since=since), vendors)

    def _compute(self, query: Mapping[str, str]) -> dict[str, Any]:
        inputs, share, errors = read_inputs(query)
        ledger_note = ""
        if query.get("share_from_ledger") == "1":
            share = self._ledger_share()
            ledger_note = (
                "no tokens in the ledger's last 30 days"
                if share is None
                else f"{share:.1%} of the last 30 days' tokens were answered by vendor models"
            )
        context: dict[str, Any] = {"inputs": inputs, "share": share, "errors": errors}
        context["ledger_note"] = ledger_note
        try:
            scenario, assumptions = build_scenario(default_catalog(), inputs)
        except (UnknownEntry, ValueError) as exc:
            context["problem"] = str(exc)
            return context
        pricing, plan, workload = scenario.pricing, scenario.plan, scenario.workload
        be = break_even(pricing, plan, workload)
        context |= {
            "problem": "",
            "assumptions": assumptions,
            "comparison": compare(pricing, plan, workload, share),
            "be": be,
            "hybrid_be": hybrid_break_even(pricing, plan, workload, share)
            if share is not None and share < 1
            else None,
            "sensitivity": sensitivity(scenario),
            "cost_chart": _curves(scenario, share, inputs.tokens_per_day),
        }
        return context

    async def page(self, request: Request) -> Response:
        query = dict(request.query_params)
        context = await run_in_threadpool(self._compute, query)
        catalog = default_catalog()
        inputs: CostInputs = context["inputs"]
        form = {f.name: query.get(f.name, "" if f.default is None else f"{f.default:g}")
                for f in FIELDS}  # fmt: skip
        context |= {
            "fields": FIELDS,
            "form": form,
            "chosen": dataclasses.asdict(inputs),
            "api_models": [(c, c) for c in sorted(c.id for c in catalog if c.price is not None)],
            "open_models": [
                (c, c) for c in sorted(c.id for c in catalog if c.license.weights_available)
            ],
            "gpus": [(g.id, g.name) for g in catalog.gpus.values()],
            "precisions": [(p, p) for p in catalog.precisions],
            "share_from_ledger": query.get("share_from_ledger") == "1",
        }
        return self.board.render(request, "costs.html", context, active="costs")
