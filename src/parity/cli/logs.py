"""parity logs and parity usage: read the ledger."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from parity.catalog.deployment import Deployment, Price, ProviderKind, Residency
from parity.cli.ledger_opts import ConfigOpt, LedgerOpt, SinceOpt, open_cli_ledger, parse_since
from parity.cli.output import emit, table
from parity.config import load_settings
from parity.economics.usage import ESTIMATED_NOTE
from parity.errors import InvalidField
from parity.store.base import Feedback, LedgerRow, RowFilter, UsageRow
from parity.store.feedback import summary

if TYPE_CHECKING:
    from parity.economics.drift import PriceDrift

__all__ = ["register"]


def _row_json(row: LedgerRow, feedback: list[Feedback]) -> dict[str, Any]:
    data = asdict(row)
    data["request_body"] = row.request_body.decode("utf-8", "replace") if row.request_body else None
    data["feedback"] = [asdict(f) for f in feedback]
    return data


def _when(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S")


def logs(
    config: ConfigOpt = None,
    ledger: LedgerOpt = None,
    since: SinceOpt = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="Rows to show.")] = 20,
    model: Annotated[str | None, typer.Option(help="Model asked for or answering.")] = None,
    key: Annotated[str | None, typer.Option(help="Caller key id.")] = None,
    route: Annotated[str | None, typer.Option(help="Route alias, e.g. parity/auto.")] = None,
    task: Annotated[str | None, typer.Option(help="Task name (metadata.task).")] = None,
    errors: Annotated[bool, typer.Option("--errors", help="Only failed requests.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")] = False,
) -> None:
    """Show recent requests from the ledger, newest first, with their feedback."""
    store = open_cli_ledger(config, ledger)
    try:
        rows = store.rows(
            RowFilter(
                since=parse_since(since),
                model=model,
                key_id=key,
                route=route,
                errors_only=errors,
                limit=limit,
                task=task,
            )
        )
        notes = store.feedback([r.request_id for r in rows])
    finally:
        store.close()

    def render(console: Console) -> None:
        console.print(
            table(
                f"{len(rows)} most recent requests",
                [
                    "time (UTC)",
                    "request",
                    "key",
                    "asked",
                    "answered",
                    "status",
                    "ms",
                    "tokens in/out",
                    "USD",
                    "task",
                    "feedback",
                    "error",
                ],
                [
                    [
                        _when(r.ts),
                        r.request_id,
                        r.key_id or "-",
                        r.model_requested,
                        r.model_answered or "-",
                        r.status,
                        f"{r.total_ms:.0f}",
                        f"{r.input_tokens or 0}/{r.output_tokens or 0}"
                        + ("~" if r.usage_estimated else ""),
                        (f"{r.cost_usd:.6f}" if r.cost_usd is not None else "-")
                        + ("~" if r.usage_estimated else ""),
                        r.task or "",
                        summary(notes.get(r.request_id, [])),
                        r.error_type or "",
                    ]
                    for r in rows
                ],
            )
        )
        if any(r.usage_estimated for r in rows):
            console.print(ESTIMATED_NOTE)

    emit([_row_json(r, notes.get(r.request_id, [])) for r in rows], as_json, render)


def usage(
    config: ConfigOpt = None,
    ledger: LedgerOpt = None,
    since: SinceOpt = "30d",
    task: Annotated[str | None, typer.Option(help="Only this task's requests.")] = None,
    counterfactual: Annotated[
        bool,
        typer.Option(
            "--counterfactual",
            help="Per day, key and route: spent vs all-frontier vs all-local, and the saving.",
        ),
    ] = False,
    frontier: Annotated[
        str | None, typer.Option(help="Frontier deployment to compare with (default: priciest).")
    ] = None,
    local: Annotated[
        str | None, typer.Option(help="Local deployment to compare with (default: cheapest).")
    ] = None,
    prices: Annotated[
        bool,
        typer.Option(
            "--prices",
            help="Real cost per token vs the catalog price per deployment; exit 1 if one drifts.",
        ),
    ] = False,
    drift_threshold: Annotated[
        float, typer.Option(min=0, help="Relative drift that is flagged (0.1 = 10%).")
    ] = 0.10,
    as_json: Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")] = False,
) -> None:
    """Tokens and cost per model and UTC day (or the counterfactuals, with --counterfactual)."""
    if counterfactual:
        _counterfactual(config, ledger, since, frontier, local, as_json, task)
        return
    store = open_cli_ledger(config, ledger)
    try:
        rows = store.usage(since=parse_since(since), task=task)
    finally:
        store.close()
    drifts = _drifts(config, rows, drift_threshold)
    if prices:
        _prices(drifts, drift_threshold, as_json)
        return

    def render(console: Console) -> None:
        console.print(
            table(
                "Usage per model and day (UTC)",
                ["day", "model", "requests", "errors", "input tokens", "output tokens", "USD"],
                [
                    [
                        u.day,
                        u.model,
                        u.requests,
                        u.errors,
                        f"{u.input_tokens}" + ("~" if u.estimated else ""),
                        f"{u.output_tokens}" + ("~" if u.estimated else ""),
                        f"{u.cost_usd:.4f}" + ("~" if u.estimated else ""),
                    ]
                    for u in rows
                ],
            )
        )
        if any(u.estimated for u in rows):
            console.print(ESTIMATED_NOTE)
        total = sum(u.cost_usd for u in rows)
        console.print(f"total: ${total:.4f} over {sum(u.requests for u in rows)} requests")
        hits = sum(u.cache_hits for u in rows)
        if hits:
            saved = sum(u.saved_usd for u in rows)
            console.print(f"response cache: {hits} hits saved ${saved:.4f} (docs/cache.md)")
        for drift in drifts:
            if drift.flagged:
                console.print(
                    f"price drift: {drift.deployment} cost {drift.words} ({drift.card}); "
                    "see parity usage --prices",
                    highlight=False,
                    soft_wrap=True,
                )

    emit([asdict(u) for u in rows], as_json, render)


def _drifts(config: Path | None, rows: list[UsageRow], threshold: float) -> list[PriceDrift]:
    from parity.catalog.registry import default_catalog
    from parity.economics.drift import price_drift

    models = load_settings(config).models
    return price_drift(rows, models, default_catalog(), threshold=threshold)


def _prices(drifts: list[PriceDrift], threshold: float, as_json: bool) -> None:
    from parity.economics.drift import render_drift

    emit(
        [d.to_json() for d in drifts],
        as_json,
        lambda console: render_drift(drifts, console, threshold),
    )
    if any(d.flagged for d in drifts):
        raise typer.Exit(1)


def _counterfactual(
    config: Path | None,
    ledger: str | None,
    since: str | None,
    frontier: str | None,
    local: str | None,
    as_json: bool,
    task: str | None = None,
) -> None:
    from parity.economics.usage import (
        counterfactual_json,
        counterfactual_prices,
        counterfactuals,
        render_counterfactuals,
    )

    settings = load_settings(config)
    models = list(settings.models)
    if frontier is None and not any(m.residency is Residency.VENDOR for m in models):
        # No vendor configured: compare with GPT-4o at its seed price ($2.50/$10.00 per 1M).
        models.append(
            Deployment(
                id="gpt-4o",
                provider=ProviderKind.OPENAI,
                base_url="https://api.openai.com/v1",
                price=Price(input=2.50, output=10.00),
            )
        )
    try:
        (fid, fprice), (lid, lprice) = counterfactual_prices(models, frontier, local)
    except ValueError as exc:
        where = "--local ID" if "on_prem" in str(exc) else "--frontier ID"
        raise InvalidField(f"{exc}, or name a listed deployment with {where}") from exc
    store = open_cli_ledger(config, ledger)
    try:
        rows = store.rows(RowFilter(since=parse_since(since), limit=10_000_000, task=task))
    finally:
        store.close()
    table = counterfactuals(rows, fprice, lprice)
    data = counterfactual_json(table, frontier=(fid, fprice), local=(lid, lprice))
    emit(
        data,
        as_json,
        lambda console: render_counterfactuals(table, console, frontier_name=fid, local_name=lid),
    )


def register(app: typer.Typer) -> None:
    """Add ``parity logs`` and ``parity usage``."""
    app.command("logs")(logs)
    app.command("usage")(usage)
