"""parity advise: a decision framework (docs/sources.md S0) as questions that write a config."""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.console import Console

from parity.advisor.framework import Advice, Assumptions, advise
from parity.advisor.questions import (
    QUESTIONS,
    Answers,
    Customisation,
    Difficulty,
    Regulation,
    Sensitivity,
    Team,
    Traffic,
)
from parity.advisor.starter import starter_config, write_starter_config
from parity.advisor.throughput import SEED_TOKENS_PER_S_PER_GPU, ThroughputAssumptions
from parity.catalog.registry import UnknownEntry, default_catalog
from parity.cli.cost import break_even_json, comparison_json, parse_volume
from parity.cli.output import emit, table
from parity.config import check_config_file

__all__ = ["advice_json", "register"]

Opt = typer.Option


def _collect(given: dict[str, Any], answers_file: Path | None) -> dict[str, Any]:
    """Answers from the JSON file, overridden by every flag that was given."""
    merged: dict[str, Any] = {}
    if answers_file is not None:
        try:
            loaded = json.loads(answers_file.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise typer.BadParameter(f"cannot read answers: {exc}", param_hint="--answers") from exc
        if not isinstance(loaded, dict):
            raise typer.BadParameter(
                "the answers file must hold a JSON object", param_hint="--answers"
            )
        merged.update(loaded)
    merged.update({k: v for k, v in given.items() if v is not None and v != []})
    return merged


def _prompt_missing(merged: dict[str, Any]) -> None:
    """Ask, one by one, every framework question the flags and file left open."""
    for question in QUESTIONS:
        if question.field in merged:
            continue
        if question.choices:
            typer.echo(question.prompt)
            for value, meaning in question.choices:
                typer.echo(f"  {value:16} {meaning}")
            choices = Answers.model_fields[question.field].annotation  # the answer's StrEnum
            merged[question.field] = typer.prompt("answer", type=choices).value
        else:
            merged[question.field] = typer.prompt(question.prompt, value_proc=parse_volume)


def _answers(merged: dict[str, Any], interactive: bool) -> Answers:
    missing = [q.field for q in QUESTIONS if q.field not in merged]
    if missing and interactive:
        _prompt_missing(merged)
    elif missing:
        flags = ", ".join("--" + m.replace("_", "-") for m in missing)
        raise typer.BadParameter(
            f"missing answers: {flags} (give flags, --answers FILE.json, or run in a terminal)"
        )
    if isinstance(merged.get("tokens_per_day"), str):
        merged["tokens_per_day"] = parse_volume(merged["tokens_per_day"])
    try:
        return Answers.model_validate(merged)
    except ValidationError as exc:
        raise typer.BadParameter(str(exc), param_hint="answers") from exc


def advice_json(advice: Advice) -> dict[str, Any]:
    """The advice as JSON: recommendation, reasons, models, cost, policy and assumptions."""

    def choice(c: Any) -> dict[str, Any]:
        speed = c.throughput.to_json() if c.throughput else None
        return {"model": c.card.id, "tier": c.card.tier.value, "licence": c.card.license.label,
                "precision": c.precision, "gpus": c.gpus, "why": c.why,
                "throughput": speed}  # fmt: skip

    a = advice.assumptions
    team, traffic = advice.answers.team, advice.answers.traffic
    return {
        "recommendation": advice.recommendation.value,
        "headline": advice.headline,
        "reasons": [dataclasses.asdict(r) for r in advice.reasons],
        "open_models": [choice(c) for c in advice.open_models],
        "closed_models": [choice(c) for c in advice.closed_models],
        "excluded": advice.excluded,
        "cost": comparison_json(advice.comparison) if advice.comparison else None,
        "break_even": break_even_json(advice.break_even) if advice.break_even else None,
        "policy": advice.policy,
        "answers": advice.answers.model_dump(mode="json"),
        "assumptions": {
            "default_gpus": a.default_gpus,
            "throughput": a.throughput.to_json(),
            "tokens_per_s_per_gpu": advice.comparison.self_host.plan.tokens_per_s_per_gpu
            if advice.comparison
            else None,
            "seed_tokens_per_s_per_gpu_for_comparison": SEED_TOKENS_PER_S_PER_GPU,
            "peak_factor": a.peak(traffic),
            "peak_factor_given": a.peak_factor is not None,
            "peak_to_average_defaults": {k.value: v for k, v in a.peak_to_average.items()},
            "engineer_fte": a.fte(team),
            "engineer_fte_given": a.engineer_fte_override is not None,
            "engineer_fte_defaults": {k.value: v for k, v in a.engineer_fte.items()},
            "engineer_usd_per_year": a.engineer_usd_per_year,
        },
        "catalog_as_of": str(advice.catalog_as_of),
        "notes": list(advice.notes),
    }


def advise_cmd(
    sensitivity: Annotated[Sensitivity | None, Opt(help="May data leave the premises?")] = None,
    tokens_per_day: Annotated[str | None, Opt(help="Input tokens per day: 5M, 1B.")] = None,
    traffic: Annotated[Traffic | None, Opt(help="Steady or spiky volume.")] = None,
    team: Annotated[Team | None, Opt(help="Who would run the GPUs.")] = None,
    customisation: Annotated[Customisation | None, Opt(help="Fine-tuning needed?")] = None,
    difficulty: Annotated[Difficulty | None, Opt(help="How hard the tasks are.")] = None,
    regulation: Annotated[Regulation | None, Opt(help="Residency rules.")] = None,
    output_per_input: Annotated[float | None, Opt(min=0, help="Output per input token.")] = None,
    hard_share: Annotated[
        float | None, Opt(min=0, max=1, help="Share needing the frontier.")
    ] = None,
    context: Annotated[int | None, Opt("--context", min=1, help="Longest prompt + answer.")] = None,
    gpu: Annotated[
        str | None, Opt(help="Your GPUs, e.g. 2xH100 (default: 2xH100 (docs/sources.md S1)).")
    ] = None,
    gpu_usd_per_month: Annotated[float | None, Opt(min=0, help="Lease per GPU-month.")] = None,
    mau: Annotated[int | None, Opt(min=0, help="Monthly active users (licences).")] = None,
    region: Annotated[
        list[str] | None, Opt("--region", help="Where you are based (repeat).")
    ] = None,
    osi_only: Annotated[bool | None, Opt("--osi-only", help="OSI-approved licences only.")] = None,
    non_commercial: Annotated[bool, Opt("--non-commercial", help="Non-commercial use.")] = False,
    answers_file: Annotated[Path | None, Opt("--answers", help="Answers as a JSON object.")] = None,
    write: Annotated[
        Path | None,
        Opt("--write", help="Write a starter parity.yaml here (nothing is written without it)."),
    ] = None,
    force: Annotated[bool, Opt("--force", help="Replace an existing --write file.")] = False,
    interactive: Annotated[
        bool | None, Opt("--interactive/--no-interactive", help="Ask for missing answers.")
    ] = None,
    peak_factor: Annotated[
        float | None, Opt(min=1, help="Peak over average traffic (default: 2 steady, 5 spiky).")
    ] = None,
    engineer_fte: Annotated[
        float | None,
        Opt(min=0, help="Engineers self-hosting takes (default: 1 none, 0.5 devops, 0.25 ML)."),
    ] = None,
    engineer_usd_per_year: Annotated[
        float, Opt(min=0, help="Fully loaded cost of one engineer a year.")
    ] = 200_000.0,
    batch: Annotated[int, Opt(min=1, help="Sequences a replica decodes together.")] = 32,
    as_json: Annotated[bool, Opt("--json", help="Print machine-readable JSON.")] = False,
) -> None:
    """Open, closed or hybrid? Six questions (docs/sources.md S0); reasons, models, cost.

    Every assumption the answers do not give (throughput model, peak factor, staffing) is an
    input with a default, printed with the advice and in --json.
    """
    given: dict[str, Any] = {
        "sensitivity": sensitivity, "tokens_per_day": tokens_per_day, "traffic": traffic,
        "team": team, "customisation": customisation, "difficulty": difficulty,
        "regulation": regulation, "output_per_input": output_per_input, "hard_share": hard_share,
        "context_tokens": context, "gpu": gpu, "gpu_usd_per_month": gpu_usd_per_month,
        "monthly_active_users": mau, "regions": region or None, "osi_approved_only": osi_only,
        "commercial_use": False if non_commercial else None,
    }  # fmt: skip
    if write is not None and write.exists() and not force:
        # Said before the questions, not after six answers that would then be lost.
        raise typer.BadParameter(
            f"{write} exists; pass --force to replace it", param_hint="--write"
        )
    merged = _collect(given, answers_file)
    ask = interactive if interactive is not None else (sys.stdin.isatty() and not as_json)
    answers = _answers(merged, ask)
    try:
        assumptions = Assumptions(
            throughput=ThroughputAssumptions(batch=batch),
            peak_factor=peak_factor,
            engineer_fte_override=engineer_fte,
            engineer_usd_per_year=engineer_usd_per_year,
        )
        advice = advise(answers, default_catalog(), assumptions)
    except (UnknownEntry, ValueError) as exc:
        raise typer.BadParameter(str(exc)) from exc
    data = advice_json(advice)
    if write is not None:
        data["written"] = _write(advice, write, force)
    emit(data, as_json, lambda console: _render(console, advice, data))


def _write(advice: Advice, path: Path, force: bool) -> dict[str, Any]:
    try:
        starter_config(advice)
        write_starter_config(advice, path, overwrite=force)
    except (FileExistsError, ValueError) as exc:
        raise typer.BadParameter(str(exc), param_hint="--write") from exc
    problems = check_config_file(path)
    return {"path": str(path), "valid": not problems, "problems": [str(p) for p in problems]}


def _render(console: Console, advice: Advice, data: dict[str, Any]) -> None:
    def say(text: str) -> None:
        console.print(text, highlight=False, markup=False)

    console.print(f"[bold]{advice.headline}[/bold]")
    console.print(
        table("Why", ["factor", "leans", "reason"],
              [[r.factor, r.leans, r.text] for r in advice.reasons])
    )  # fmt: skip
    if advice.open_models:
        console.print(
            table("Open models that fit (8-bit and up first, then largest)",
                  ["model", "tier", "licence", "as", "tokens/s per GPU", "why"],
                  [[c.card.id, c.card.tier.label, c.card.license.label,
                    f"{c.precision} on {c.gpus}",
                    f"{c.throughput.tokens_per_s_per_gpu:,.0f}" if c.throughput else "-",
                    c.why] for c in advice.open_models])
        )  # fmt: skip
    if advice.closed_models:
        console.print(
            table("Closed APIs available", ["model", "licence", "price"],
                  [[c.card.id, c.card.license.label, c.why] for c in advice.closed_models])
        )  # fmt: skip
    if data["cost"]:
        cost = data["cost"]
        rows = [[name, f"${item['annual_usd']:,.0f}", f"${item['annual_usd'] / 12:,.0f}"]
                for name, item in cost.items()]  # fmt: skip
        console.print(
            table("Estimated cost at your volume", ["option", "per year", "per month"], rows)
        )
    if data["break_even"]:
        say(f"break-even: {data['break_even']['reason']}")
    a = data["assumptions"]
    t = a["throughput"]
    given = {True: "given", False: "default"}
    console.print(
        table("Assumptions (inputs with defaults)", ["input", "value"], [
            ["batch (sequences decoded together)", str(t["batch"])],
            ["KV-cache tokens per sequence", f"{t['sequence_tokens']:,}"],
            ["bandwidth / compute efficiency",
             f"{t['bandwidth_efficiency']:.0%} / {t['compute_efficiency']:.0%}"],
            ["peak over average traffic",
             f"{a['peak_factor']:g} ({given[a['peak_factor_given']]})"],
            ["engineers (FTE)", f"{a['engineer_fte']:g} ({given[a['engineer_fte_given']]})"],
            ["engineer USD per year", f"${a['engineer_usd_per_year']:,.0f}"],
        ])
    )  # fmt: skip
    say(f"policy: {advice.policy.get('summary', '')}")
    if advice.excluded:
        say(f"{len(advice.excluded)} catalog models excluded, e.g.:")
        for reason in list(advice.excluded.values())[:6]:
            say(f"  - {reason}")
    for note in advice.notes:
        say(f"note: {note}")
    written = data.get("written")
    if written:
        state = "valid" if written["valid"] else "INVALID: " + "; ".join(written["problems"])
        say(f"wrote {written['path']} ({state}); check: parity config check {written['path']}")
    else:
        say("nothing written: add --write parity.yaml to write this as a starter config")


def register(app: typer.Typer) -> None:
    """Add ``parity advise``."""
    app.command("advise")(advise_cmd)
