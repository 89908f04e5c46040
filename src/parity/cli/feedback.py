"""parity feedback: the terminal's POST /v1/feedback, written straight into the ledger."""

from __future__ import annotations

import time
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

import typer

from parity.cli.ledger_opts import ConfigOpt, LedgerOpt, open_cli_ledger
from parity.cli.output import emit
from parity.errors import InvalidField, NotFound
from parity.store.feedback import parse_feedback, summary

__all__ = ["register"]


def _verdict(good: bool, bad: bool) -> bool | None:
    if good and bad:
        raise InvalidField("give --good or --bad, not both")
    return True if good else False if bad else None


def feedback(
    request_id: Annotated[str, typer.Argument(help="The x-parity-request-id of the request.")],
    score: Annotated[
        float | None, typer.Option(help="Quality from 0 to 1.", show_default=False)
    ] = None,
    good: Annotated[bool, typer.Option("--good", help="The answer was right.")] = False,
    bad: Annotated[bool, typer.Option("--bad", help="The answer was wrong.")] = False,
    label: Annotated[str | None, typer.Option(help="A label, e.g. wrong-format.")] = None,
    correction: Annotated[
        str | None, typer.Option(help="The answer it should have given.", show_default=False)
    ] = None,
    correction_file: Annotated[
        Path | None, typer.Option(help="Read the corrected answer from this file.")
    ] = None,
    source: Annotated[str, typer.Option("--by", help="Who gives it.")] = "user",
    config: ConfigOpt = None,
    ledger: LedgerOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")] = False,
) -> None:
    """Record feedback on one request's answer: a score, --good/--bad, a label, a correction."""
    if correction is not None and correction_file is not None:
        raise InvalidField("give --correction or --correction-file, not both")
    if correction_file is not None:
        try:
            correction = correction_file.read_text(encoding="utf-8")
        except OSError as exc:
            raise InvalidField(f"cannot read {correction_file}: {exc.strerror}") from exc
    data: dict[str, Any] = {
        "request_id": request_id,
        "score": score,
        "good": _verdict(good, bad),
        "label": label,
        "correction": correction,
        "source": source,
    }
    item = parse_feedback(data, ts=time.time(), key_id=None)
    store = open_cli_ledger(config, ledger)
    try:
        if store.row(request_id) is None:
            raise NotFound(f"no request '{request_id}' in the ledger {store.url}")
        store.add_feedback(item)
    finally:
        store.close()
    emit(
        asdict(item),
        as_json,
        lambda console: console.print(
            f"feedback {item.feedback_id} on {request_id}: {summary([item])}"
        ),
    )


def register(app: typer.Typer) -> None:
    """Add ``parity feedback``."""
    app.command("feedback")(feedback)
