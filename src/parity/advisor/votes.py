"""How each factor of the decision framework of docs/sources.md S0 votes, and how the votes decide.

Hard constraints decide first: data that must not leave the premises (or strict residency rules)
means self-hosted open weights, and data of which only some is sensitive means a hybrid that keeps
that part local. Otherwise each factor of docs/sources.md S0's table votes with a weight, and the
volume vote comes from the break-even solver, not a rule of thumb. Task difficulty "mixed" asks for
a hybrid when an open lane is viable: a team to run it, and either the volume or a need to
fine-tune.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from parity.advisor.questions import (
    Answers,
    Customisation,
    Difficulty,
    Regulation,
    Sensitivity,
    Team,
    Traffic,
)
from parity.economics.breakeven import BreakEven

__all__ = ["Reason", "Recommendation", "decide", "headline", "reasons"]


class Recommendation(StrEnum):
    """The framework's three answers."""

    OPEN = "open"
    CLOSED = "closed"
    HYBRID = "hybrid"


@dataclass(frozen=True, slots=True)
class Reason:
    """One factor's vote: which way it leans, how strongly, and why."""

    factor: str
    leans: str  # open | closed | hybrid | neutral | required-open | required-hybrid
    weight: float
    text: str


def reasons(
    answers: Answers, be: BreakEven | None, *, closed_available: bool, open_available: bool
) -> list[Reason]:
    out: list[Reason] = []
    if answers.sensitivity is Sensitivity.ON_PREM_ONLY:
        out.append(
            Reason(
                "data sensitivity",
                "required-open",
                0,
                "data must not leave the premises: only self-hosted open weights qualify "
                "(docs/sources.md S0: 'Must not leave premises' -> open)",
            )
        )
    elif answers.sensitivity is Sensitivity.SOME_SENSITIVE:
        out.append(
            Reason(
                "data sensitivity",
                "required-hybrid",
                0,
                "some data must stay on premises: that share needs a local open model, "
                "the rest may use a vendor API",
            )
        )
    else:
        out.append(Reason("data sensitivity", "neutral", 0, "cloud processing is acceptable"))
    if answers.regulation is Regulation.STRICT_RESIDENCY:
        out.append(
            Reason(
                "regulation",
                "required-open",
                0,
                "strict data residency: self-host where the data must live "
                "(docs/sources.md S0: 'Strict data residency requirements' -> open)",
            )
        )
    else:
        out.append(Reason("regulation", "neutral", 0, "standard enterprise environment"))
    out.append(_volume_reason(answers, be))
    if answers.traffic is Traffic.SPIKY:
        out.append(
            Reason(
                "traffic",
                "closed",
                1,
                "spiky volume leaves owned GPUs idle between bursts; an API bills only "
                "what is used (docs/sources.md S2: 'low or spiky volume' -> API)",
            )
        )
    else:
        out.append(Reason("traffic", "open", 0.5, "steady volume keeps GPUs busy"))
    team_votes = {
        Team.NONE: Reason(
            "team",
            "closed",
            3,
            "no AI infrastructure team: self-hosting overhead is prohibitive "
            "(docs/sources.md S0: 'For a company with 10 employees, this overhead is "
            "prohibitive')",
        ),
        Team.DEVOPS: Reason(
            "team", "neutral", 0, "a platform team can run model servers, with ML-serving to learn"
        ),
        Team.ML_INFRA: Reason("team", "open", 1, "an in-house ML/infra team can run open models"),
    }
    out.append(team_votes[answers.team])
    if answers.customisation is Customisation.FINE_TUNING:
        out.append(
            Reason(
                "customisation",
                "open",
                2,
                "domain fine-tuning needs the weights (docs/sources.md S0: full control with open "
                "models; closed fine-tuning is limited)",
            )
        )
    else:
        out.append(Reason("customisation", "neutral", 0, "general-purpose tasks"))
    difficulty_votes = {
        Difficulty.STANDARD: Reason(
            "task difficulty",
            "open",
            1,
            "standard tasks: open models are within a few points "
            "(docs/sources.md S1: 'Within 1-5% of frontier on most tasks')",
        ),
        Difficulty.MIXED: Reason(
            "task difficulty",
            "hybrid",
            0,
            f"mostly standard with some hard tasks: route the hard "
            f"{answers.hard_share:.0%} to the frontier (docs/sources.md S0, 'The "
            "Emerging Hybrid Model')",
        ),
        Difficulty.FRONTIER: Reason(
            "task difficulty",
            "closed",
            2,
            "maximum capability needed: closed frontier models still lead "
            "on the hardest tasks (docs/sources.md S0)",
        ),
    }
    out.append(difficulty_votes[answers.difficulty])
    if not open_available:
        out.append(
            Reason(
                "catalog",
                "closed",
                0,
                "no open model fits the licence, context and hardware constraints",
            )
        )
    if not closed_available:
        out.append(
            Reason(
                "catalog",
                "open",
                0,
                "no active closed model fits the licence and context constraints",
            )
        )
    return out


def _volume_reason(answers: Answers, be: BreakEven | None) -> Reason:
    volume = answers.tokens_per_day
    if be is None or be.input_tokens_per_day is None:
        text = be.reason if be is not None else "no self-hosting plan could be sized"
        return Reason("volume", "closed", 2, f"self-hosting does not pay: {text}")
    crossover = be.input_tokens_per_day
    if volume >= crossover:
        return Reason(
            "volume",
            "open",
            2,
            f"{volume / 1e6:,.1f}M tokens/day is above the {crossover / 1e6:,.1f}M/day "
            "break-even: self-hosting costs less",
        )
    return Reason(
        "volume",
        "closed",
        2,
        f"{volume / 1e6:,.1f}M tokens/day is below the {crossover / 1e6:,.1f}M/day "
        "break-even: the API costs less",
    )


def decide(
    answers: Answers, reasons: list[Reason], be: BreakEven | None, *, open_available: bool
) -> Recommendation:
    leans = {r.leans for r in reasons}
    if "required-open" in leans:
        return Recommendation.OPEN
    if "required-hybrid" in leans and open_available:
        return Recommendation.HYBRID
    if not open_available:
        return Recommendation.CLOSED
    score = {"open": 0.0, "closed": 0.0}
    for reason in reasons:
        if reason.leans in score:
            score[reason.leans] += reason.weight
    if answers.difficulty is Difficulty.MIXED and answers.team is not Team.NONE:
        local_volume = answers.tokens_per_day * (1 - answers.hard_share)
        pays = (
            be is not None
            and be.input_tokens_per_day is not None
            and (local_volume >= be.input_tokens_per_day)
        )
        if pays or answers.customisation is Customisation.FINE_TUNING:
            return Recommendation.HYBRID
    return Recommendation.OPEN if score["open"] > score["closed"] else Recommendation.CLOSED


def headline(rec: Recommendation, answers: Answers) -> str:
    if rec is Recommendation.OPEN:
        where = (
            "on premises"
            if answers.sensitivity is Sensitivity.ON_PREM_ONLY
            or (answers.regulation is Regulation.STRICT_RESIDENCY)
            else "on your own GPUs"
        )
        return f"Open: self-host an open-weight model {where}."
    if rec is Recommendation.CLOSED:
        return "Closed: use a vendor API; self-hosting would cost more than it saves."
    if answers.sensitivity is Sensitivity.SOME_SENSITIVE:
        return "Hybrid: sensitive requests to a local open model, the rest by cost and difficulty."
    return (
        f"Hybrid: a self-hosted open model for the bulk, a frontier API for the hard "
        f"{answers.hard_share:.0%}."
    )
