"""parity gaptest: run prompts through models, judge blind, report, and export labels."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from parity.cli.ledger_opts import LedgerOpt, SinceOpt, open_cli_ledger, parse_since
from parity.cli.output import JSON_OPTION, emit, print_json, table
from parity.config import load_settings
from parity.errors import InputError
from parity.evaluation.datasets import Dataset, load_from_ledger, load_prompts
from parity.evaluation.judges import registry
from parity.evaluation.judges.base import JudgeContext, JudgePlan
from parity.evaluation.judging import JudgingSummary, judge_run, plan_entries
from parity.evaluation.limits import RetryPolicy
from parity.evaluation.progress import RunProgress
from parity.evaluation.rundir import NEXT_STEP, RunDir
from parity.evaluation.runner import Runner, RunOptions, RunSummary
from parity.evaluation.upstreams import Upstreams
from parity.store.base import RowFilter

__all__ = ["register"]

gaptest_app = typer.Typer(
    name="gaptest",
    help="Measure the open/closed gap blind, on your own prompts.",
    no_args_is_help=True,
)

RunArg = Annotated[Path, typer.Argument(help="The run directory (from 'parity gaptest run').")]
JudgeOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--judge",
        help="[CATEGORY=]KIND[:key=value,...], e.g. numeric, code=code:timeout=5, "
        "llm-pairwise:model=gpt-4o. Repeatable.",
    ),
]
ConfigOpt = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="parity.yaml with the models (and the ledger)."),
]
JudgesFileOpt = Annotated[
    Path | None, typer.Option("--judges", help="YAML file: judges for all and per category.")
]

CAP_EXIT = 3
INCOMPLETE_EXIT = 4
"""``run`` exit codes: 3 when the cost cap stopped it, 4 when answers are missing or failed."""


def _llm_models(entries: list[tuple[str | None, str, dict[str, Any]]]) -> list[str]:
    return [str(o["model"]) for _, kind, o in entries if kind.startswith("llm") and "model" in o]


def _split(models: str) -> list[str]:
    names = [m.strip() for m in models.split(",") if m.strip()]
    if len(names) != len(set(names)):
        raise InputError("--models lists a model twice")
    return names


def _rates(values: list[str] | None) -> dict[str, float]:
    rates: dict[str, float] = {}
    for value in values or []:
        model, sep, rpm = value.rpartition("=")
        try:
            rates[model] = float(rpm)
        except ValueError:
            sep = ""
        if not sep or not model or rates[model] <= 0:
            raise InputError(f"--rate must look like MODEL=REQUESTS_PER_MINUTE, got {value!r}")
    return rates


async def _execute(
    run: RunDir,
    data: Dataset,
    options: RunOptions,
    entries: list[tuple[str | None, str, dict[str, Any]]],
    config: Path | None,
    show_progress: bool,
    via: tuple[str | None, str],
) -> tuple[RunSummary, JudgingSummary | None]:
    live = [m for m in options.models if m not in data.recorded]
    needed = [*live, *_llm_models(entries)]
    upstreams = (
        Upstreams(
            load_settings(config),
            os.environ,
            needed,
            retry=options.retry,
            via=via[0],
            via_key_env=via[1],
        )
        if needed
        else None
    )
    async with upstreams or contextlib.nullcontext():
        if upstreams is not None and upstreams.local_models:
            print(
                f"parity: started a llama.cpp server of this run's own for "
                f"{', '.join(upstreams.local_models)}; to use a running gateway's instead: "
                "--via http://127.0.0.1:8000/v1",
                file=sys.stderr,
            )
        progress = RunProgress() if show_progress and live else None
        with progress or contextlib.nullcontext():
            summary = await Runner(run, data, options).execute(upstreams, progress)
        judged = None
        if entries:
            context = JudgeContext(base_dir=Path.cwd(), caller=upstreams)
            plan = JudgePlan.build(entries, registry(), context)
            judged = await judge_run(run, plan)
    return summary, judged


def _dataset(
    prompts: Path | None,
    references: Path | None,
    from_log: bool,
    ledger_args: tuple[Path | None, str | None, str | None, str | None, int],
    sample: int | None,
    seed: int,
    skip_bad_lines: bool = False,
) -> Dataset:
    config, ledger, since, log_model, scan = ledger_args
    if from_log == (prompts is not None):
        raise InputError("give either a PROMPTS file or --from-log")
    if prompts is not None:
        data = load_prompts(prompts, references=references, skip_bad_lines=skip_bad_lines)
        if sample is not None and sample < len(data.items):
            import random

            data.items = sorted(
                random.Random(seed).sample(data.items, sample), key=data.items.index
            )
        return data
    store = open_cli_ledger(config, ledger)
    try:
        where = RowFilter(since=parse_since(since), model=log_model, limit=scan)
        return load_from_ledger(store, where, sample=sample, seed=seed)
    finally:
        store.close()


def _render_run(
    console: Console,
    run: RunDir,
    summary: RunSummary,
    judged: JudgingSummary | None,
    data: Dataset,
) -> None:
    for bad in data.bad_lines:
        console.print(f"[yellow]skipped (--skip-bad-lines)[/] {escape(bad)}", soft_wrap=True)
    console.print(
        f"run: {run.path}  status: [bold]{summary.status}[/]  spent ${summary.spent_usd:.4f}",
        soft_wrap=True,
    )
    columns = ["answers", "live", "cached", "recorded", "skipped", "failed", "retries"]
    rows = [
        [model, *(int(c[k]) for k in columns), f"{c['spent_usd']:.4f}"]
        for model, c in summary.per_model.items()
    ]
    headers = ["model", *columns[:4], "withheld", "failed", "retries", "USD"]
    console.print(table("Answers written by this command", headers, rows))
    if judged is not None:
        for name, count in judged.verdicts.items():
            extra = ""
            if judged.withheld.get(name):
                extra += f", {judged.withheld[name]} withheld (sensitive, vendor judge)"
            if judged.failed.get(name):
                extra += f", {judged.failed[name]} failed or unparsed"
            console.print(f"judge {name}: {count} verdicts{extra}", soft_wrap=True)
    for model, reasons in summary.failures.items():
        for reason, count in sorted(reasons.items(), key=lambda kv: -kv[1]):
            console.print(f"[red]failed[/] {model}: {count} × {escape(reason)}", soft_wrap=True)
    if summary.failures:
        console.print(
            f"ask the failed ones again: the same command with --out {run.path}", soft_wrap=True
        )
    if judged is None:
        console.print(f"no judge given: {NEXT_STEP.replace('RUN', str(run.path))}", soft_wrap=True)
    console.print(f"next: parity gaptest report {run.path}", soft_wrap=True)


@gaptest_app.command("run")
def run_command(
    prompts: Annotated[Path | None, typer.Argument(help="JSONL or CSV of prompts.")] = None,
    models: Annotated[str, typer.Option("--models", "-m", help="Comma-separated model ids.")] = "",
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Run directory.")] = None,
    config: ConfigOpt = None,
    judge: JudgeOpt = None,
    judges: JudgesFileOpt = None,
    references: Annotated[
        Path | None, typer.Option(help="JSONL of references joined on the prompt text.")
    ] = None,
    from_log: Annotated[
        bool, typer.Option("--from-log", help="Take prompts from the ledger.")
    ] = False,
    ledger: LedgerOpt = None,
    since: SinceOpt = None,
    log_model: Annotated[
        str | None, typer.Option(help="--from-log: only this model's rows.")
    ] = None,
    scan: Annotated[int, typer.Option(min=1, help="--from-log: newest rows to read.")] = 10_000,
    sample: Annotated[
        int | None, typer.Option(min=1, help="Use N prompts picked at random.")
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed for sampling and retry jitter.")] = 0,
    concurrency: Annotated[int, typer.Option(min=1, help="Calls in flight at once.")] = 4,
    rate: Annotated[
        list[str] | None, typer.Option(help="MODEL=REQUESTS_PER_MINUTE. Repeatable.")
    ] = None,
    timeout: Annotated[float | None, typer.Option(min=0.1, help="Seconds per call.")] = None,
    retries: Annotated[int, typer.Option(min=0, help="Retries of retryable errors.")] = 3,
    max_cost: Annotated[float | None, typer.Option(min=0, help="Stop at this USD spend.")] = None,
    temperature: Annotated[float, typer.Option(help="Sampling temperature.")] = 0.0,
    max_tokens: Annotated[int, typer.Option(min=1, help="Answer length limit.")] = 512,
    cache: Annotated[Path | None, typer.Option(help="Shared answer cache (JSONL).")] = None,
    progress: Annotated[bool, typer.Option(help="Show a progress bar on stderr.")] = True,
    via: Annotated[
        str | None,
        typer.Option(
            "--via",
            help="Ask the models through this running gateway (http://127.0.0.1:8000/v1) "
            "instead of starting their providers (and a llama.cpp server) here.",
        ),
    ] = None,
    via_key_env: Annotated[
        str,
        typer.Option(help="--via: environment variable holding the gateway's API key."),
    ] = "PARITY_API_KEY",
    skip_bad_lines: Annotated[
        bool,
        typer.Option(
            "--skip-bad-lines", help="Leave out malformed prompt lines (listed) instead of failing."
        ),
    ] = False,
    as_json: bool = JSON_OPTION,
) -> None:
    """Run prompts through models (recorded answers are used as they are), then judge.

    Exits 3 when --max-cost stopped the run and 4 when answers are missing or failed (the
    reasons are printed); the same command with the same --out asks only those again.
    """
    entries = plan_entries(judge or [], judges)
    data = _dataset(
        prompts,
        references,
        from_log,
        (config, ledger, since, log_model, scan),
        sample,
        seed,
        skip_bad_lines,
    )
    names = _split(models) if models else data.recorded_models
    if len(names) < 2:
        raise InputError("--models needs at least two models, e.g. --models local/smollm2,gpt-4o")
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    run = RunDir(out or Path(f"gaptest-{stamp}"))
    options = RunOptions(
        models=names,
        params={"temperature": temperature, "max_tokens": max_tokens},
        concurrency=concurrency,
        rate_per_minute=_rates(rate),
        timeout_s=timeout,
        retry=RetryPolicy(max_retries=retries),
        max_cost_usd=max_cost,
        cache_path=cache,
        seed=seed,
    )
    summary, judged = asyncio.run(
        _execute(
            run,
            data,
            options,
            entries,
            config,
            progress and sys.stderr.isatty(),
            (via, via_key_env),
        )
    )
    data_out = {
        "run": str(run.path),
        **asdict(summary),
        "judging": asdict(judged) if judged else None,
        "bad_lines": data.bad_lines,
    }
    emit(data_out, as_json, lambda console: _render_run(console, run, summary, judged, data))
    if summary.status.startswith("stopped"):
        raise typer.Exit(CAP_EXIT)
    if summary.status != "complete":
        raise typer.Exit(INCOMPLETE_EXIT)


@gaptest_app.command("score")
def score_command(
    run_dir: RunArg,
    judge: JudgeOpt = None,
    judges: JudgesFileOpt = None,
    config: ConfigOpt = None,
    as_json: bool = JSON_OPTION,
) -> None:
    """Judge a run's answers again, or with more judges (a judge's old verdicts are replaced)."""
    run = RunDir(run_dir).require()
    entries = plan_entries(judge or [], judges)
    if not entries:
        raise InputError("give at least one --judge or a --judges file")

    async def go() -> JudgingSummary:
        needed = _llm_models(entries)
        upstreams = Upstreams(load_settings(config), os.environ, needed) if needed else None
        async with upstreams or contextlib.nullcontext():
            context = JudgeContext(base_dir=Path.cwd(), caller=upstreams)
            return await judge_run(run, JudgePlan.build(entries, registry(), context))

    judged = asyncio.run(go())
    emit(
        asdict(judged),
        as_json,
        lambda c: c.print(
            table(
                "Verdicts",
                ["judge", "verdicts", "withheld", "failed"],
                [
                    [n, v, judged.withheld.get(n, 0), judged.failed.get(n, 0)]
                    for n, v in judged.verdicts.items()
                ],
            )
        ),
    )


@gaptest_app.command("judge")
def judge_command(
    run_dir: RunArg,
    name: Annotated[str, typer.Option("--as", help="Your name, stored with your verdicts.")] = "",
    models: Annotated[str, typer.Option("--models", "-m", help="Only these two models.")] = "",
    include_skipped: Annotated[bool, typer.Option(help="Show skipped comparisons again.")] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="Draw on stderr; print the session's outcome as JSON.")
    ] = False,
) -> None:
    """Judge answers blind in the terminal: A or B (names hidden), tie, skip, quit."""
    from parity.evaluation.judges.terminal import judge_in_terminal, key_reader

    run = RunDir(run_dir).require()
    manifest = run.read_manifest()
    chosen = _split(models) if models else manifest.model_ids
    unknown = [m for m in chosen if m not in manifest.model_ids]
    if unknown or len(chosen) < 2:
        raise InputError(f"--models must name two or more of: {', '.join(manifest.model_ids)}")
    who = name or os.environ.get("USER", "") or "anonymous"
    with key_reader() as read_key:
        result = judge_in_terminal(
            run,
            f"human:{who}",
            chosen,
            console=Console(stderr=as_json),
            read_key=read_key,
            include_skipped=include_skipped,
        )
    if as_json:
        print_json(asdict(result))


@gaptest_app.command("report")
def report_command(
    run_dir: RunArg,
    judge: Annotated[str | None, typer.Option("--judge", help="Primary judge name.")] = None,
    cheaper: Annotated[
        str | None, typer.Option(help="Treat this model as the cheaper one.")
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Folder (default RUN/report).")
    ] = None,
    seed: Annotated[int, typer.Option(help="Bootstrap seed.")] = 0,
    as_json: bool = JSON_OPTION,
) -> None:
    """Write report.html (self-contained), report.md and report.json; print the conclusions."""
    from parity.evaluation.analysis import analyse
    from parity.evaluation.report import write_report

    run = RunDir(run_dir).require()
    analysis = analyse(run, judge=judge, cheaper=cheaper, seed=seed)
    paths = write_report(run, analysis, out, seed=seed)

    def render(console: Console) -> None:
        for warning in analysis["warnings"]:
            console.print(f"[red]{escape(warning)}[/]", soft_wrap=True)
        for row in analysis["models"]:
            for failure in row["failures"]:
                console.print(
                    f"failed {row['model']}: {failure['count']} × {escape(failure['reason'])}",
                    soft_wrap=True,
                )
        for pair in analysis["pairs"]:
            rate = pair["parity_rate"]
            shown = (
                f"; parity rate {rate['value']:.1%} [{rate['low']:.1%}, {rate['high']:.1%}]"
                if pair["n"]
                else ""
            )
            console.print(
                f"[bold]{pair['a']} vs {pair['b']}[/] (n={pair['n']}): {pair['conclusion']}{shown}",
                soft_wrap=True,
            )
        for kind, path in paths.items():
            console.print(f"{kind}: {path}")

    emit({**analysis, "files": {k: str(p) for k, p in paths.items()}}, as_json, render)


@gaptest_app.command("labels")
def labels_command(
    run_dir: RunArg,
    judge: Annotated[str | None, typer.Option("--judge", help="Judge whose scores to use.")] = None,
    responses: Annotated[bool, typer.Option(help="Include the answer texts.")] = True,
) -> None:
    """Print the router-training label file (JSONL) to stdout."""
    import orjson

    from parity.evaluation.labels import labels, no_labels_reason

    run = RunDir(run_dir).require()
    out = sys.stdout.buffer
    written = 0
    for label in labels(run, judge=judge, responses=responses):
        out.write(orjson.dumps(label) + b"\n")
        written += 1
    out.flush()
    if not written:
        raise InputError(f"no labels: {no_labels_reason(run, judge)}")


def register(app: typer.Typer) -> None:
    """Add the ``parity gaptest`` command group."""
    app.add_typer(gaptest_app, name="gaptest")
