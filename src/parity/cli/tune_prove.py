"""parity tune evaluate | promote: prove the tuned model blind, then move the task's routing."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer

from parity.catalog.deployment import Deployment, ProviderKind
from parity.cli.ledger_opts import ConfigOpt, LedgerOpt, SinceOpt, parse_since
from parity.cli.output import emit, table
from parity.cli.tune import JsonOpt, existing_ledger, tune_app
from parity.config import Settings, load_settings
from parity.errors import ConfigError, UnknownModel
from parity.evaluation.judging import plan_entries
from parity.tuning.examples import Example, read_examples
from parity.tuning.lineage import read_lineage, write_lineage

__all__ = ["evaluate_cmd", "promote_cmd"]

RunArg = Annotated[Path, typer.Argument(help="A folder from 'parity tune train' (exported).")]


def _deployment(settings: Settings, model_id: str) -> Deployment:
    found = settings.deployment(model_id)
    if found is None:
        raise UnknownModel(model_id, [m.id for m in settings.models])
    return found


def _tuned_id(lineage: dict[str, Any], given: str | None) -> str:
    if given:
        return given
    exported = lineage.get("export")
    if not exported:
        raise ConfigError("this model has not been exported: run parity tune export first")
    return str(exported["deployment"]["id"])


def _base_id(settings: Settings, lineage: dict[str, Any], given: str | None) -> str:
    if given:
        return given
    card = lineage["base"].get("card")
    for model in settings.models:
        plain = model.provider is ProviderKind.LOCAL and not model.lora and model.card == card
        if plain and model.gguf in (None, lineage["base"]["path"]):
            return model.id
    raise ConfigError("no configured deployment serves the untuned base: name it with --base")


def _heldout(lineage: dict[str, Any], given: Path | None) -> list[Example]:
    return read_examples(given or Path(lineage["dataset"]["path"]) / "heldout.jsonl")


@tune_app.command("evaluate")
def evaluate_cmd(
    run: RunArg,
    config: ConfigOpt = None,
    tuned: Annotated[str | None, typer.Option(help="Tuned deployment (default: exported).")] = None,
    base: Annotated[str | None, typer.Option(help="Untuned base deployment.")] = None,
    teacher: Annotated[str | None, typer.Option(help="Teacher (default: the dataset's).")] = None,
    heldout: Annotated[
        Path | None, typer.Option(help="Held-out JSONL (default: the dataset's split).")
    ] = None,
    judge: Annotated[
        list[str] | None,
        typer.Option("--judge", help="Gap-test judge, repeatable (default: exact)."),
    ] = None,
    out: Annotated[Path | None, typer.Option(help="Run folder (default RUN/eval-TIME).")] = None,
    max_tokens: Annotated[int, typer.Option(min=1, help="Answer length limit.")] = 256,
    as_json: JsonOpt = False,
) -> None:
    """Gap-test base vs tuned vs teacher on the held-out split; report the gap closed."""
    from parity.tuning.evaluate import heldout_dataset, refuse_leaks, run_evaluation
    from parity.tuning.report import write_report

    settings = load_settings(config)
    lineage = read_lineage(run)
    models = {
        "base": _base_id(settings, lineage, base),
        "tuned": _tuned_id(lineage, tuned),
        "teacher": teacher or lineage.get("teacher") or "",
    }
    if not models["teacher"]:
        raise ConfigError("the dataset names no teacher: give --teacher")
    tuned_card = _deployment(settings, models["tuned"]).lineage
    seen_by = read_lineage(Path(tuned_card)) if tuned_card else lineage
    examples = _heldout(lineage, heldout)
    refuse_leaks(seen_by, examples, models["tuned"])
    for model in models.values():
        _deployment(settings, model)
    entries = plan_entries(judge or ["exact"], None)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    folder = out or run / f"eval-{stamp}"
    task = lineage["dataset"].get("task")
    data = heldout_dataset(examples, task)
    summary = asyncio.run(
        run_evaluation(settings, models, data, entries, folder, max_tokens=max_tokens)
    )
    summary |= {"task": task or run.name, "lineage": str(run / "lineage.json"), "ts": time.time()}
    (folder / "summary.json").write_bytes(orjson.dumps(summary, option=orjson.OPT_INDENT_2))
    page = write_report(summary, folder / "tune-report.html")
    lineage["evaluation"] = summary | {"report": str(page)}
    write_lineage(run, lineage)

    def render(console: Any) -> None:
        rows = []
        for role in ("base", "tuned", "teacher"):
            s = summary["scores"][role]
            shown = f"{s['value']:.3f} ({s['low']:.3f}-{s['high']:.3f})" if s else "-"
            rows.append([role, models[role], shown])
        console.print(table(f"held out: {summary['items']} prompts", ["", "model", "score"], rows))
        gap = summary["gap_closed"]
        if gap["value"] is None:
            console.print("gap closed: n/a (the teacher does not beat the base)")
        else:
            interval = f" ({gap['low']:.0%} to {gap['high']:.0%})" if gap["low"] is not None else ""
            console.print(f"gap closed: {gap['value']:.0%}{interval}")
        console.print(f"report: {page}")

    emit(summary, as_json, render)


@tune_app.command("promote")
def promote_cmd(
    run: RunArg,
    config: Annotated[Path, typer.Option("--config", "-c", help="parity.yaml to change.")],
    route: Annotated[str, typer.Option(help="The route alias that gets the rule.")] = "parity/auto",
    write: Annotated[bool, typer.Option("--write", help="Change the file (else a diff).")] = False,
    min_gap_closed: Annotated[
        float, typer.Option(min=0, max=1, help="Refuse below this share of the gap closed.")
    ] = 0.7,
    ledger: LedgerOpt = None,
    since: SinceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Send the task to the tuned model, the teacher as cascade fallback; show the savings."""
    from parity.tuning.configedit import change_config
    from parity.tuning.promote import cascade_rule, insert_rule, savings, validators_for

    settings = load_settings(config)
    lineage = read_lineage(run)
    evaluation = lineage.get("evaluation")
    if not evaluation:
        raise ConfigError("no blind evaluation of this model yet: run parity tune evaluate first")
    gap = evaluation["gap_closed"]["value"]
    if gap is None or gap < min_gap_closed:
        shown = "n/a" if gap is None else f"{gap:.0%}"
        raise ConfigError(
            f"the evaluation closed {shown} of the gap, below --min-gap-closed "
            f"{min_gap_closed:.0%}: not promoting"
        )
    models = evaluation["models"]
    task = lineage["dataset"].get("task")
    if not task:
        raise ConfigError("the dataset has no task name: a rule needs one (task.name)")
    rule = cascade_rule(
        task, models["tuned"], models["teacher"], validators_for(_heldout(lineage, None))
    )
    store = existing_ledger(ledger or settings.ledger.url)
    try:
        tuned_score = (evaluation["scores"].get("tuned") or {}).get("value")
        money = savings(
            store,
            task,
            tuned=_deployment(settings, models["tuned"]),
            teacher=_deployment(settings, models["teacher"]),
            tuned_score=tuned_score,
            since=parse_since(since),
        )
    finally:
        store.close()
    diff, backup = change_config(config, insert_rule(route, rule), write=write)

    def render(console: Any) -> None:
        if backup is not None:
            console.print(f"added rule {rule['name']} to {route} in {config} (old file: {backup})")
        else:
            console.print(diff or "the rule is already there", markup=False, highlight=False)
        if money["requests"]:
            rows = [
                [k.removesuffix("_usd").replace("_", " "), f"${money[k]:.4f}"]
                for k in ("spent_usd", "all_teacher_usd", "all_tuned_usd", "cascade_usd",
                          "saving_usd")
            ]  # fmt: skip
            title = f"task {task}: {money['requests']} ledger requests"
            console.print(table(title, ["priced as", "USD"], rows))
            console.print(
                f"escalated share assumed: {money['escalated_share']:.0%}; {money['note']}"
            )

    emit({"rule": rule, "diff": diff, "written": backup is not None, "economics": money},
         as_json, render)  # fmt: skip
