"""parity models: list and filter the catalog, show one card, and size a model for GPUs."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any

import typer
from rich.console import Console

from parity.catalog.cards import LifecycleStatus, ModelCard, Tier
from parity.catalog.hardware import GB, GpuSelection, Precision, estimate_memory, fit, gpus_needed
from parity.catalog.license import OrgProfile, check_license
from parity.catalog.registry import Catalog, UnknownEntry, default_catalog
from parity.cli.output import emit, table

__all__ = ["register"]

models_app = typer.Typer(
    help="The model catalog: openness tier, licence, size, context, prices, hardware fit.",
    invoke_without_command=True,
)

_TIERS = ", ".join(t.value for t in Tier)


def _bad(exc: Exception, param: str) -> typer.BadParameter:
    return typer.BadParameter(str(exc), param_hint=param)


def _profile(
    mau: int | None, regions: list[str], osi_only: bool, non_commercial: bool
) -> OrgProfile | None:
    if mau is None and not regions and not osi_only and not non_commercial:
        return None
    return OrgProfile(
        monthly_active_users=mau or 0,
        regions=tuple(regions),
        osi_approved_only=osi_only,
        commercial_use=not non_commercial,
    )


def _params(card: ModelCard) -> str:
    if card.params is None:
        return "undisclosed"
    total = f"{card.params.total_b:g}B"
    return f"{total} ({card.params.active_b:g}B active)" if card.params.active_b else total


def _price(card: ModelCard) -> str:
    return f"${card.price.input:g} / ${card.price.output:g}" if card.price else "-"


def _status(card: ModelCard, today: date) -> str:
    life = card.lifecycle
    status = life.status(today)
    if status is LifecycleStatus.RETIRED and life.retired is not None:
        text = f"retired {life.retired.day}"
    elif life.retired is not None:
        text = f"retires {life.retired.day}"
    elif status is LifecycleStatus.DEPRECATED and life.deprecated is not None:
        text = f"deprecated {life.deprecated.day}"
    else:
        text = "active"
    return text + (f" -> {life.replacement}" if life.replacement and text != "active" else "")


def lifecycle_json(card: ModelCard, today: date) -> dict[str, Any]:
    """Where the card stands today, for --json and the table alike."""
    life = card.lifecycle
    return {
        "status": life.status(today).value,
        "released": life.released.day.isoformat() if life.released else None,
        "deprecated": life.deprecated.day.isoformat() if life.deprecated else None,
        "retired": life.retired.day.isoformat() if life.retired else None,
        "days_left": life.days_left(today),
        "replacement": life.replacement,
    }


def card_json(card: ModelCard) -> dict[str, Any]:
    """A card as JSON, the licence inlined."""
    return card.model_dump(mode="json")


def _fit_row(
    card: ModelCard, selection: GpuSelection, precision: Precision, context: int, batch: int
) -> dict[str, Any]:
    if card.params is None:
        return {"fits": None, "reason": "closed API: not self-hostable"}
    try:
        estimate = estimate_memory(
            card, precision, context=min(context, card.context_tokens or context), batch=batch
        )
    except ValueError as exc:
        return {"fits": None, "reason": str(exc)}
    result = fit(estimate, selection)
    return {
        "fits": result.fits,
        "need_gb": round(result.need_bytes / GB, 2),
        "usable_gb": round(result.usable_bytes / GB, 2),
        "weights_gb": round(estimate.weights_bytes / GB, 2),
        "kv_cache_gb": None if estimate.kv_bytes is None else round(estimate.kv_bytes / GB, 2),
        "reason": result.reason,
    }


@models_app.callback()
def list_models(
    ctx: typer.Context,
    tier: Annotated[str | None, typer.Option(help=f"Only this tier: {_TIERS}.")] = None,
    license: Annotated[
        str | None,
        typer.Option(
            "--license",
            help="Licence id, SPDX id or name part ('apache', 'llama'); "
            "'permissive' = OSI-approved.",
        ),
    ] = None,
    fits: Annotated[
        str | None,
        typer.Option(
            "--fits", help="Only models whose weights + KV cache fit, e.g. 'H100', '2xRTX4090'."
        ),
    ] = None,
    precision: Annotated[
        str, typer.Option(help="Weight format for --fits: bf16, fp8, int8, int4, Q4_K_M...")
    ] = "bf16",
    context: Annotated[
        int, typer.Option(min=1, help="Context length for the KV cache (--fits).")
    ] = 8192,
    batch: Annotated[
        int, typer.Option(min=1, help="Concurrent sequences for the KV cache (--fits).")
    ] = 1,
    mau: Annotated[
        int | None, typer.Option(min=0, help="Your monthly active users (licence check).")
    ] = None,
    region: Annotated[
        list[str] | None,
        typer.Option("--region", help="Where you are based: ISO code or EU (repeat)."),
    ] = None,
    osi_only: Annotated[
        bool, typer.Option("--osi-only", help="Accept OSI-approved licences only.")
    ] = False,
    non_commercial: Annotated[
        bool, typer.Option("--non-commercial", help="The use is not commercial.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")] = False,
) -> None:
    """List catalog models; filter by tier, licence, licence check and hardware fit."""
    if ctx.invoked_subcommand is not None:
        return
    catalog = default_catalog()
    try:
        cards = catalog.filter(tier=tier, license=license)
    except ValueError as exc:
        raise _bad(exc, "--tier") from exc
    profile = _profile(mau, region or [], osi_only, non_commercial)
    sizing = _selection(catalog, fits, precision)
    listing = [
        entry
        for card in cards
        if (entry := _entry(card, profile, sizing, context, batch)) is not None
    ]
    columns = ["id", "tier", "licence", "params", "context", "USD/1M in / out", "lifecycle"]
    if profile is not None:
        columns.append("you may use it?")
    title = f"{len(listing)} models (catalog as of {catalog.as_of})"
    if sizing is not None:
        columns.append(f"GB needed / usable at {sizing[1].id}")
        title += f" that fit {sizing[0]} at {sizing[1].id}, {context:,} tokens x {batch}"
    emit(
        [data for data, _ in listing],
        as_json,
        lambda console: console.print(table(title, columns, [line for _, line in listing])),
    )


def _entry(
    card: ModelCard,
    profile: OrgProfile | None,
    sizing: tuple[GpuSelection, Precision] | None,
    context: int,
    batch: int,
) -> tuple[dict[str, Any], list[str]] | None:
    """One listed card as JSON and as a table line; None when it does not fit ``sizing``."""
    today = datetime.now(UTC).date()
    data = card_json(card)
    data["lifecycle_today"] = lifecycle_json(card, today)
    line = [
        card.id,
        card.tier.label,
        card.license.label,
        _params(card),
        f"{card.context_tokens:,}" if card.context_tokens else "-",
        _price(card),
        _status(card, today),
    ]
    if profile is not None:
        verdict = check_license(card, profile)
        data["licence_check"] = {"allowed": verdict.allowed, "reason": verdict.reason}
        line.append("yes" if verdict.allowed else "no: " + verdict.reason.split(": ", 1)[-1][:70])
    if sizing is not None:
        fitted = _fit_row(card, sizing[0], sizing[1], context, batch)
        if not fitted["fits"]:
            return None
        data["fit"] = fitted
        line.append(f"{fitted['need_gb']:,.1f} / {fitted['usable_gb']:,.1f}")
    return data, line


def _selection(
    catalog: Catalog, fits: str | None, precision: str
) -> tuple[GpuSelection, Precision] | None:
    if fits is None:
        return None
    try:
        return catalog.selection(fits), catalog.precision(precision)
    except (UnknownEntry, ValueError) as exc:
        raise _bad(exc, "--fits/--precision") from exc


@models_app.command("show")
def show(
    card_id: Annotated[str, typer.Argument(help="Catalog id, e.g. llama-3.1-70b.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")] = False,
) -> None:
    """Every figure on one card, each with its source."""
    try:
        card = default_catalog().card(card_id)
    except UnknownEntry as exc:
        raise _bad(exc, "CARD_ID") from exc
    data = card_json(card)
    emit(data, as_json, lambda console: console.print_json(data=data))


@models_app.command("fit")
def fit_cmd(
    card_id: Annotated[str, typer.Argument(help="Catalog id, e.g. llama-4-scout.")],
    gpu: Annotated[
        list[str] | None, typer.Option("--gpu", help="GPUs to test (repeat); default: all.")
    ] = None,
    precision: Annotated[
        list[str] | None,
        typer.Option("--precision", help="Formats (repeat); default: bf16 fp8 int8 int4 Q4_K_M."),
    ] = None,
    context: Annotated[int, typer.Option(min=1, help="Context length per sequence.")] = 8192,
    batch: Annotated[int, typer.Option(min=1, help="Concurrent sequences.")] = 1,
    as_json: Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")] = False,
) -> None:
    """Memory for a model at each precision, and how many of each GPU it needs."""
    catalog = default_catalog()
    try:
        card = catalog.card(card_id)
        gpus = [catalog.gpu(g) for g in gpu] if gpu else list(catalog.gpus.values())
        formats = [
            catalog.precision(p) for p in precision or ["bf16", "fp8", "int8", "int4", "Q4_K_M"]
        ]
    except UnknownEntry as exc:
        raise _bad(exc, "CARD_ID/--gpu/--precision") from exc
    if card.params is None:
        raise typer.BadParameter(
            f"{card.id} is a closed API: no published size", param_hint="CARD_ID"
        )
    rows: list[dict[str, Any]] = []
    for fmt in formats:
        try:
            estimate = estimate_memory(card, fmt, context=context, batch=batch)
        except ValueError as exc:
            raise _bad(exc, "--context") from exc
        counts = {g.id: gpus_needed(estimate, g) for g in gpus}
        rows.append(
            {
                "precision": fmt.id,
                "bits_per_weight": fmt.bits_per_weight,
                "weights_gb": round(estimate.weights_bytes / GB, 2),
                "kv_cache_gb": None
                if estimate.kv_bytes is None
                else round(estimate.kv_bytes / GB, 3),
                "total_gb": round(estimate.total_bytes / GB, 2),
                "kv_note": estimate.kv_note,
                "gpus_needed": counts,
            }
        )

    def render(console: Console) -> None:
        console.print(
            table(
                f"{card.name}: {_params(card)}, {context:,} tokens x {batch} sequence(s)",
                [
                    "precision",
                    "bits/weight",
                    "weights GB",
                    "KV cache GB",
                    "total GB",
                    *[f"{g.name} needed" for g in gpus],
                ],
                [
                    [
                        r["precision"],
                        f"{r['bits_per_weight']:g}",
                        f"{r['weights_gb']:,.1f}",
                        "unknown" if r["kv_cache_gb"] is None else f"{r['kv_cache_gb']:,.2f}",
                        f"{r['total_gb']:,.1f}",
                        *[str(r["gpus_needed"][g.id]) for g in gpus],
                    ]
                    for r in rows
                ],
            )
        )
        console.print(rows[0]["kv_note"] if rows else "", highlight=False)
        console.print(
            "GPU counts round up to 1, 2, 4, 8 (tensor parallel), then whole 8-GPU nodes; "
            "10% of memory is kept free.",
            highlight=False,
        )

    emit({"card": card.id, "context": context, "batch": batch, "rows": rows}, as_json, render)


def register(app: typer.Typer) -> None:
    """Add ``parity models``."""
    app.add_typer(models_app, name="models")
