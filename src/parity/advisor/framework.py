"""The advisor: answers in; open / closed / hybrid out, with models, cost and a routing policy.

The vote itself lives in ``votes``; this module finds the catalog models that fit the answers'
licence, context and hardware constraints, sizes a self-hosting plan, prices the options with
``economics`` and sketches the routing policy the recommendation implies. Every figure the answers
do not give is in ``Assumptions`` and printed with the advice.

Open models are ranked 8-bit-and-up first, then by size: a model that fits only at 4 bits comes
after every one that fits at 8 or more (4-bit weights lose measurable quality; the downloadable
model is rarely the benchmarked one), and a quantized recommendation says so and names the gap
test that would measure it. Self-hosting capacity comes from ``throughput``'s bandwidth model
for that model, precision and GPU, not from one figure for every model.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from parity.advisor.questions import (
    Answers,
    Difficulty,
    Regulation,
    Sensitivity,
    Team,
    Traffic,
)
from parity.advisor.throughput import (
    SEED_TOKENS_PER_S_PER_GPU,
    ThroughputAssumptions,
    ThroughputEstimate,
    estimate_throughput,
)
from parity.advisor.votes import Reason, Recommendation, decide, headline, reasons
from parity.catalog.cards import ModelCard
from parity.catalog.deployment import Price
from parity.catalog.hardware import GpuSelection, estimate_memory, fit, gpus_needed
from parity.catalog.license import check_license
from parity.catalog.registry import Catalog
from parity.economics.breakeven import BreakEven, break_even
from parity.economics.tco import ApiPricing, Comparison, Lease, SelfHostPlan, Workload, compare

__all__ = ["Advice", "Assumptions", "ModelChoice", "Reason", "Recommendation", "advise"]

_OPEN_PRECISIONS = ("bf16", "fp8", "int8", "int4")
_FULL_QUALITY = frozenset({"bf16"})  # the precision open checkpoints ship in


@dataclass(frozen=True, slots=True)
class Assumptions:
    """Figures the advice needs that the answers do not give; printed with every answer."""

    seed_gpu: str = "h100"  # the worked examples of docs/sources.md S1 self-host on H100s
    default_gpus: str = "2xH100"  # docs/sources.md S1: "Self-hosted Llama 3.1 70B on 2xH100 (80GB)"
    throughput: ThroughputAssumptions = field(default_factory=ThroughputAssumptions)
    # Parity's placeholders, from no public source: pass your own (--peak-factor, --engineer-fte,
    # --engineer-usd-per-year); the advice prints the values it used.
    peak_to_average: dict[Traffic, float] = field(
        default_factory=lambda: {Traffic.STEADY: 2.0, Traffic.SPIKY: 5.0}
    )
    engineer_fte: dict[Team, float] = field(
        default_factory=lambda: {Team.NONE: 1.0, Team.DEVOPS: 0.5, Team.ML_INFRA: 0.25}
    )
    engineer_usd_per_year: float = 200_000.0
    peak_factor: float | None = None  # overrides peak_to_average[traffic]
    engineer_fte_override: float | None = None  # overrides engineer_fte[team]
    frontier_card: str = "gpt-4o"  # the reference frontier model of docs/sources.md S1

    def peak(self, traffic: Traffic) -> float:
        """Peak over average traffic: the input, else the default for ``traffic``."""
        return self.peak_factor if self.peak_factor is not None else self.peak_to_average[traffic]

    def fte(self, team: Team) -> float:
        """Engineers (full-time equivalents) self-hosting takes: the input, else the default."""
        if self.engineer_fte_override is not None:
            return self.engineer_fte_override
        return self.engineer_fte[team]


@dataclass(frozen=True, slots=True)
class ModelChoice:
    """A catalog model that fits the constraints, and the facts behind that."""

    card: ModelCard
    lane: str  # open | frontier | efficient
    why: str
    precision: str | None = None
    gpus: str | None = None
    throughput: ThroughputEstimate | None = None

    @property
    def quantized(self) -> bool:
        return self.precision is not None and self.precision not in _FULL_QUALITY


@dataclass(frozen=True, slots=True)
class Advice:
    """The answer, its reasons, the models, the cost and the routing policy it implies."""

    recommendation: Recommendation
    headline: str
    reasons: tuple[Reason, ...]
    open_models: tuple[ModelChoice, ...]
    closed_models: tuple[ModelChoice, ...]
    excluded: dict[str, str]
    comparison: Comparison | None
    break_even: BreakEven | None
    policy: dict[str, object]
    answers: Answers
    assumptions: Assumptions
    catalog_as_of: date
    notes: tuple[str, ...] = ()


def advise(answers: Answers, catalog: Catalog, assumptions: Assumptions | None = None) -> Advice:
    """Answer open, closed or hybrid for ``answers``, with models, cost and reasons."""
    assumptions = assumptions or Assumptions()
    excluded: dict[str, str] = {}
    selection = catalog.selection(answers.gpu or assumptions.default_gpus)
    open_models = _open_candidates(answers, catalog, selection, excluded, assumptions)
    closed = _closed_candidates(answers, catalog, excluded)
    plan = _plan(answers, catalog, assumptions, open_models, selection)
    frontier = _frontier(closed, catalog, assumptions)
    shape = Workload(
        answers.tokens_per_day, answers.output_per_input, assumptions.peak(answers.traffic)
    )
    pricing = ApiPricing.from_price(frontier.id, _price(frontier))
    be = break_even(pricing, plan, shape) if plan else None
    votes = reasons(answers, be, closed_available=bool(closed), open_available=bool(open_models))
    rec = decide(answers, votes, be, open_available=bool(open_models))
    share = answers.hard_share if rec is Recommendation.HYBRID else None
    comparison = compare(pricing, plan, shape, share) if plan else None
    policy = _policy(rec, open_models, closed, answers)
    notes = _notes(answers, rec, assumptions, comparison)
    if rec is not Recommendation.CLOSED and open_models:
        notes[:0] = _model_notes(open_models[0], closed)
    if rec is not Recommendation.CLOSED and not open_models:
        notes.insert(
            0,
            f"no open model passes the licence check and fits {selection}; "
            "try more or larger GPUs (--gpu) or relax the licence constraints",
        )
    default = next((c.card for c in closed if c.card.id == policy.get("default")), None)
    if rec is Recommendation.CLOSED and default is not None and default.id != frontier.id:
        own = ApiPricing.from_price(default.id, _price(default)).annual_cost(shape)
        notes.append(
            f"costs are priced at {frontier.id} (the reference in docs/sources.md S1); at "
            f"{default.id}'s price, "
            f"the policy's default, the API would cost ${own:,.0f} a year"
        )
    return Advice(
        recommendation=rec,
        headline=headline(rec, answers),
        reasons=tuple(votes),
        open_models=tuple(open_models[:3]),
        closed_models=tuple(_shown(closed, policy)),
        excluded=excluded,
        comparison=comparison,
        break_even=be,
        policy=policy,
        answers=answers,
        assumptions=assumptions,
        catalog_as_of=catalog.as_of,
        notes=tuple(notes),
    )


# -- candidates --------------------------------------------------------------------------------


def _open_candidates(
    answers: Answers,
    catalog: Catalog,
    selection: GpuSelection,
    excluded: dict[str, str],
    assumptions: Assumptions,
) -> list[ModelChoice]:
    out: list[ModelChoice] = []
    for card in catalog:
        if not card.tier.self_hostable or card.params is None:
            continue
        verdict = check_license(card, answers.profile)
        if not verdict.allowed:
            excluded[card.id] = verdict.reason
            continue
        if card.context_tokens is not None and card.context_tokens < answers.context_tokens:
            excluded[card.id] = f"{card.id}: context window {card.context_tokens:,} is too short"
            continue
        choice = _fit_choice(card, answers, catalog, selection, assumptions)
        if choice is None:
            excluded[card.id] = f"{card.id}: does not fit {selection} even at int4"
            continue
        out.append(choice)
    # 8 bits and up before 4 bits, then the largest (a capability proxy), then by id.
    return sorted(
        out,
        key=lambda c: (
            c.precision == "int4",
            -(c.card.params.total_b if c.card.params else 0),
            c.card.id,
        ),
    )


def _fit_choice(
    card: ModelCard,
    answers: Answers,
    catalog: Catalog,
    selection: GpuSelection,
    assumptions: Assumptions,
) -> ModelChoice | None:
    """The highest precision at which ``card`` fits ``selection``, on as few GPUs as it needs."""
    for name in _OPEN_PRECISIONS:
        if name == "fp8" and not selection.gpu.native_fp8:
            continue
        estimate = estimate_memory(
            card, catalog.precision(name), context=answers.context_tokens, batch=1
        )
        result = fit(estimate, selection)
        if result.fits:
            count = min(gpus_needed(estimate, selection.gpu), selection.count)
            speed = estimate_throughput(
                card, catalog.precision(name), selection.gpu, count,
                output_per_input=answers.output_per_input, assumptions=assumptions.throughput,
            )  # fmt: skip
            return ModelChoice(
                card, "open", result.reason, name, f"{count}x{selection.gpu.id}", speed
            )
    return None


def _closed_candidates(
    answers: Answers, catalog: Catalog, excluded: dict[str, str]
) -> list[ModelChoice]:
    out: list[ModelChoice] = []
    for card in catalog:
        if card.tier.self_hostable:
            continue
        verdict = check_license(card, answers.profile)
        retired = card.lifecycle.retired
        if retired is not None and retired.day <= catalog.as_of:
            excluded[card.id] = f"{card.id}: retired by its vendor on {retired.day}"
        elif not verdict.allowed:
            excluded[card.id] = verdict.reason
        elif card.context_tokens is not None and card.context_tokens < answers.context_tokens:
            excluded[card.id] = f"{card.id}: context window {card.context_tokens:,} is too short"
        elif card.price is not None:
            blended = _blended(card, answers.output_per_input)
            out.append(ModelChoice(card, "frontier", f"${blended:.2f} per 1M tokens at your mix"))
    return sorted(out, key=lambda c: -_blended(c.card, answers.output_per_input))


def _blended(card: ModelCard, output_per_input: float) -> float:
    price = _price(card)
    return (price.input + output_per_input * price.output) / (1 + output_per_input)


def _price(card: ModelCard) -> Price:
    if card.price is None:
        raise ValueError(f"{card.id} has no API price")
    return Price(input=card.price.input, output=card.price.output)


def _shown(closed: list[ModelChoice], policy: dict[str, object]) -> list[ModelChoice]:
    """The three priciest closed models, plus any the policy names (its default is often the
    cheapest, and the starter config must list every model its policy routes to)."""
    fallbacks = policy.get("fallbacks")
    named = {policy.get("default"), *(fallbacks if isinstance(fallbacks, list) else [])}
    return [c for i, c in enumerate(closed) if i < 3 or c.card.id in named]


def _frontier(closed: list[ModelChoice], catalog: Catalog, assumptions: Assumptions) -> ModelCard:
    for choice in closed:
        if choice.card.id == assumptions.frontier_card:
            return choice.card
    if closed:
        return closed[0].card
    return catalog.card(assumptions.frontier_card)  # priced for comparison even if excluded


def _plan(
    answers: Answers,
    catalog: Catalog,
    assumptions: Assumptions,
    open_models: list[ModelChoice],
    selection: GpuSelection,
) -> SelfHostPlan | None:
    if not open_models:
        return None
    top = open_models[0]
    gpu = selection.gpu
    per_replica = catalog.selection(top.gpus).count if top.gpus else 1
    lease = answers.gpu_usd_per_month or gpu.lease_usd_per_gpu_month
    if lease is None:  # no sourced lease for this GPU: the H100 rate of docs/sources.md S1
        lease = catalog.gpu(assumptions.seed_gpu).lease_usd_per_gpu_month or 2500.0
    # the bandwidth model for this model, precision and GPU; the seed figure only without one
    tput = top.throughput.tokens_per_s_per_gpu if top.throughput else SEED_TOKENS_PER_S_PER_GPU
    return SelfHostPlan(
        gpu=gpu.name,
        tokens_per_s_per_gpu=tput,
        hosting=Lease(lease),
        gpus_per_replica=per_replica,
        engineer_fte=assumptions.fte(answers.team),
        engineer_usd_per_year=assumptions.engineer_usd_per_year,
    )


def _policy(
    rec: Recommendation, open_models: list[ModelChoice], closed: list[ModelChoice], answers: Answers
) -> dict[str, object]:
    local = open_models[0].card.id if open_models else None
    frontier = next((c.card.id for c in closed if c.card.id == "gpt-4o"), None) or (
        closed[0].card.id if closed else None
    )
    efficient = closed[-1].card.id if closed else None
    if rec is Recommendation.OPEN:
        return {
            "default": local,
            "rules": [],
            "never": ["vendor"],
            "summary": f"everything to {local}; no request may reach a vendor deployment",
        }
    if rec is Recommendation.CLOSED:
        default = efficient if answers.difficulty is Difficulty.STANDARD else frontier
        rules = []
        if default != frontier:
            rules.append({"when": "validator rejects the answer", "to": frontier})
        return {
            "default": default,
            "rules": rules,
            "fallbacks": [frontier],
            "summary": f"everything to {default}"
            + (f", escalating to {frontier}" if rules else ""),
        }
    rules = [{"when": "sensitive data detected", "to": local, "residency": "on_prem"}]
    if answers.difficulty is not Difficulty.STANDARD:
        rules.append({"when": f"difficulty in the top {answers.hard_share:.0%}", "to": frontier})
    return {
        "default": local,
        "rules": rules,
        "fallbacks": [frontier],
        "summary": f"sensitive data to {local} only; hard requests to {frontier}; the rest to "
        f"{local}, falling back to {frontier} on failure",
    }


def _notes(
    answers: Answers,
    rec: Recommendation,
    assumptions: Assumptions,
    comparison: Comparison | None,
) -> list[str]:
    notes: list[str] = []
    if rec is Recommendation.OPEN and answers.difficulty is Difficulty.FRONTIER:
        notes.append(
            "the constraints force open weights although the tasks need the frontier: "
            "measure the gap on your own prompts (parity gaptest)"
        )
    forced = answers.sensitivity is Sensitivity.ON_PREM_ONLY or (
        answers.regulation is Regulation.STRICT_RESIDENCY
    )
    if forced and comparison is not None:
        notes.append("the API figure is for comparison only: your answers rule out vendor APIs")
    if rec is not Recommendation.CLOSED and answers.team is Team.NONE:
        notes.append(
            "self-hosting with no infrastructure team: budget for hiring or a managed "
            "on-premises appliance"
        )
    if answers.gpu is None:
        notes.append(
            f"models are sized for {assumptions.default_gpus}, the worked-example server of "
            "docs/sources.md S1; pass --gpu to fit your own hardware"
        )
    if answers.gpu_usd_per_month is None:
        notes.append(
            "GPU cost is the H100 lease of docs/sources.md S1 ($2,500 per GPU-month) unless the "
            "catalog has one for your GPU; pass --gpu-usd-per-month for your own"
        )
    return notes


def _model_notes(top: ModelChoice, closed: list[ModelChoice]) -> list[str]:
    """How the recommended open model's capacity was estimated, and its quantization caveat."""
    notes: list[str] = []
    if top.throughput is not None:
        notes.append(
            f"self-hosting capacity: {top.throughput.describe()}; memory-bandwidth model with "
            f"GPU figures from {top.throughput.source}. For comparison only: 1,041.67 tokens/s "
            "per GPU, from docs/sources.md S1 ('Self-hosting on 8xH100 ($15K/mo lease) handles "
            "~500K tokens/min'), which names no model, precision or batch"
        )
    else:
        notes.append(
            f"no bandwidth figures for this GPU: capacity uses {SEED_TOKENS_PER_S_PER_GPU:,.2f} "
            "tokens/s per GPU (docs/sources.md S1: 8xH100 'handles ~500K tokens/min', no model "
            "named); measure yours"
        )
    if top.quantized:
        frontier = closed[0].card.id if closed else "your current model"
        severity = (
            "4-bit weights lose measurable quality, and the downloadable quantized model is "
            "rarely the benchmarked one"
            if top.precision == "int4"
            else "8-bit weights usually stay close to the original, but not on every task"
        )
        notes.append(
            f"{top.card.id} is recommended at {top.precision} to fit the GPUs: {severity}. "
            f"Before committing, gap-test that exact quantization: serve the {top.precision} "
            f"build you will deploy and run `parity gaptest run YOUR_PROMPTS.jsonl --models "
            f"{top.card.id},{frontier} --out runs/{top.card.id}-{top.precision}`"
        )
    return notes
