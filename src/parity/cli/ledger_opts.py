"""Options shared by the commands that read the ledger."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from parity.config import load_settings
from parity.errors import InvalidField
from parity.store.base import Ledger
from parity.store.factory import open_ledger

__all__ = [
    "ConfigOpt",
    "LedgerOpt",
    "SinceOpt",
    "open_cli_ledger",
    "parse_since",
    "span_seconds",
]

ConfigOpt = Annotated[
    Path | None, typer.Option("--config", "-c", help="parity.yaml naming the ledger.")
]
LedgerOpt = Annotated[
    str | None, typer.Option("--ledger", help="Ledger URL (default: from config or env).")
]
SinceOpt = Annotated[
    str | None,
    typer.Option("--since", help="Only rows after this: 15m, 2h, 7d, or a date (YYYY-MM-DD)."),
]

_SPAN = re.compile(r"^(\d+(?:\.\d+)?)([smhd])$")
_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def span_seconds(value: str) -> float | None:
    """Seconds in '90s', '15m', '12h' or '30d'; None when ``value`` is not such a span."""
    match = _SPAN.match(value.strip())
    return float(match.group(1)) * _UNIT[match.group(2)] if match else None


def parse_since(value: str | None, now: float | None = None) -> float | None:
    """Unix time for '15m', '2h', '7d' or an ISO date; None passes through."""
    if value is None:
        return None
    now = time.time() if now is None else now
    span = span_seconds(value)
    if span is not None:
        return now - span
    try:
        when = datetime.fromisoformat(value)
    except ValueError as exc:
        raise InvalidField(
            f"--since must look like 15m, 2h, 7d or 2026-11-01, got {value!r}", param="since"
        ) from exc
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.timestamp()


def open_cli_ledger(config: Path | None, ledger: str | None) -> Ledger:
    """The ledger named by --ledger, else by the config or environment, else the default."""
    url = ledger or load_settings(config).ledger.url
    return open_ledger(url)
