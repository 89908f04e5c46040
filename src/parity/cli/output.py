"""Printing results: a rich table for people, or JSON with ``--json`` for scripts."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from typing import Any

import orjson
import typer
from rich.console import Console
from rich.table import Table

__all__ = ["JSON_OPTION", "emit", "print_json", "table"]

_PIPE_WIDTH = 200

JSON_OPTION = typer.Option(False, "--json", help="Print machine-readable JSON.")


def print_json(data: Any) -> None:
    """Write ``data`` as indented JSON to stdout."""
    typer.echo(orjson.dumps(data, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS).decode())


def table(title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> Table:
    """A rich table with the given header and rows (values are shown with str)."""
    out = Table(title=title)
    for column in columns:
        out.add_column(column, overflow="fold")
    for row in rows:
        out.add_row(*("" if v is None else str(v) for v in row))
    return out


def emit(data: Any, as_json: bool, render: Callable[[Console], None]) -> None:
    """Print ``data`` as JSON, or call ``render`` with a console for people.

    A pipe or a file gets a wide console (rich would assume 80 columns and cut ids
    into ellipses, or the ``COLUMNS`` a parent process exported, as pytest does).
    """
    if as_json:
        print_json(data)
    elif sys.stdout.isatty():
        render(Console())
    else:
        render(Console(width=_PIPE_WIDTH))
