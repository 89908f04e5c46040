"""parity canary run|history: the behaviour canary, for cron or by hand.

Exit status: 0 no regression (or a baseline recorded), 1 a regression beyond the interval,
2 bad input (one line on stderr), 3 a deployment could not be measured (and none regressed).
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from parity.cli.ledger_opts import ConfigOpt, LedgerOpt
from parity.cli.output import emit, table
from parity.config import load_settings

__all__ = ["register"]

EXIT_REGRESSION = 1
EXIT_UNMEASURED = 3

canary_app = typer.Typer(
    help="The behaviour canary: a pinned prompt set against a stored baseline.",
    no_args_is_help=True,
)


@canary_app.command("run")
def run(
    prompts: Annotated[
        Path | None, typer.Argument(help="Prompt set (.jsonl/.csv); default: canary.prompts.")
    ] = None,
    config: ConfigOpt = None,
    models: Annotated[
        str | None, typer.Option(help="Deployments to watch, comma-separated (default: config).")
    ] = None,
    baseline: Annotated[
        Path | None, typer.Option(help="Baseline file (default: PROMPTS.baseline.json).")
    ] = None,
    judge: Annotated[
        list[str] | None,
        typer.Option("--judge", help="[CATEGORY=]KIND[:k=v,...], repeatable (as in gaptest)."),
    ] = None,
    max_tokens: Annotated[int | None, typer.Option(min=1, help="max_tokens per request.")] = None,
    update_baseline: Annotated[
        bool, typer.Option("--update-baseline", help="Replace the baseline with this run's.")
    ] = False,
    ledger: LedgerOpt = None,
    no_ledger: Annotated[
        bool, typer.Option("--no-ledger", help="Do not record the results in the ledger.")
    ] = False,
    out: Annotated[
        Path | None, typer.Option(help="Keep the run's answers and verdicts under this folder.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")] = False,
) -> None:
    """Ask the set again, compare with the baseline, record the verdicts; exit 1 on regression."""
    from parity.evaluation.canary_run import CanaryJob, default_baseline, run_job

    settings = load_settings(config)
    job = CanaryJob.from_settings(settings) if prompts is None else None
    if job is None:
        assert prompts is not None
        job = CanaryJob(
            prompts=prompts,
            models=settings.canary.models,
            baseline=default_baseline(prompts),
            judges=settings.canary.judges,
            max_tokens=settings.canary.max_tokens,
        )
    names = [m.strip() for m in models.split(",") if m.strip()] if models else job.models
    if not names:
        raise typer.BadParameter("name the deployments to watch", param_hint="--models")
    job = CanaryJob(
        prompts=job.prompts,
        models=names,
        baseline=baseline or job.baseline,
        judges=judge or job.judges,
        max_tokens=max_tokens or job.max_tokens,
        update_baseline=update_baseline,
        out=out,
    )
    url = None if no_ledger else (ledger or settings.ledger.url)
    report, canary = asyncio.run(run_job(job, settings, os.environ, ledger_url=url))

    def render(console: Console) -> None:
        for verdict in report.verdicts:
            typer.echo(verdict.summary)
        typer.echo(f"baseline: {job.baseline} (prompt set {canary.digest})")

    emit(
        {
            "prompt_set": canary.digest,
            "source": canary.path,
            "baseline": str(job.baseline),
            "verdicts": [v.to_json() for v in report.verdicts],
        },
        as_json,
        render,
    )
    if report.regressed:
        raise typer.Exit(EXIT_REGRESSION)
    if report.unmeasured:
        raise typer.Exit(EXIT_UNMEASURED)


@canary_app.command("history")
def history(
    config: ConfigOpt = None,
    ledger: LedgerOpt = None,
    model: Annotated[str | None, typer.Option(help="Only this deployment.")] = None,
    limit: Annotated[int, typer.Option(min=1, help="Rows to show.")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")] = False,
) -> None:
    """The canary verdicts stored in the ledger, newest first."""
    from dataclasses import asdict
    from datetime import UTC, datetime

    from parity.store.canary import CanaryResults
    from parity.store.factory import open_ledger

    url = ledger or load_settings(config).ledger.url
    open_ledger(url).close()
    store = CanaryResults(url)
    try:
        rows = store.history(model, limit)
    finally:
        store.close()
    emit(
        [asdict(r) for r in rows],
        as_json,
        lambda console: console.print(
            table(
                "Canary verdicts (newest first)",
                ["when (UTC)", "deployment", "status", "paired", "score change", "summary"],
                [
                    [
                        datetime.fromtimestamp(r.ts, UTC).strftime("%Y-%m-%d %H:%M"),
                        r.model,
                        r.status,
                        r.paired,
                        "-" if r.score_change is None else f"{r.score_change:+.2f}",
                        r.summary,
                    ]
                    for r in rows
                ],
            )
        ),
    )


def register(app: typer.Typer) -> None:
    """Add ``parity canary``."""
    app.add_typer(canary_app, name="canary")
