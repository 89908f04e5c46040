"""parity logs and parity usage: read the ledger."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from parity.catalog.deployment import Deployment, Price, ProviderKind, Residency
from parity.cli.ledger_opts import ConfigOpt, LedgerOpt, SinceOpt, open_cli_ledger, parse_since
from parity.cli.output import emit, table
from parity.config import load_settings
from parity.errors import InvalidField
from parity.store.base import LedgerRow, RowFilter

__all__ = ["register"]


def _row_json(row: LedgerRow) -> dict[str, Any]:
    data = asdict(row)
    data["request_body"] = row.request_body.decode("utf-8", "replace") if row.request_body else None
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
    errors: Annotated[bool, typer.Option("--errors", help="Only failed requests.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")] = False,
) -> None:
    """Show recent requests from the ledger, newest first."""
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
            )
        )
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
                        f"{r.cost_usd:.6f}" if r.cost_usd is not None else "-",
                        r.error_type or "",
                    ]
                    for r in rows
                ],
            )
        )

    emit([_row_json(r) for r in rows], as_json, render)


def usage(
    config: ConfigOpt = None,
    ledger: LedgerOpt = None,
    since: SinceOpt = "30d",
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
    as_json: Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")] = False,
) -> None:
    """Tokens and cost per model and UTC day (or the counterfactuals, with --counterfactual)."""
    if counterfactual:
        _counterfactual(config, ledger, since, frontier, local, as_json)
        return
    store = open_cli_ledger(config, ledger)
    try:
        rows = store.usage(since=parse_since(since))
    finally:
        store.close()

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
                        u.input_tokens,
                        u.output_tokens,
                        f"{u.cost_usd:.4f}",
                    ]
                    for u in rows
                ],
            )
        )
        total = sum(u.cost_usd for u in rows)
        console.print(f"total: ${total:.4f} over {sum(u.requests for u in rows)} requests")

    emit([asdict(u) for u in rows], as_json, render)


def _counterfactual(
    config: Path | None,
    ledger: str | None,
    since: str | None,
    frontier: str | None,
    local: str | None,
    as_json: bool,
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
        raise InvalidField(str(exc)) from exc
    store = open_cli_ledger(config, ledger)
    try:
        rows = store.rows(RowFilter(since=parse_since(since), limit=10_000_000))
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
