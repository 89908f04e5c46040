"""parity config check|show: validate a config and show what Parity would run with."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from parity.cli.output import emit
from parity.config import check_config_file, load_settings

__all__ = ["register"]

config_app = typer.Typer(help="Validate and inspect parity.yaml.", no_args_is_help=True)


@config_app.command("check")
def check(
    file: Annotated[Path, typer.Argument(help="The config file to validate.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")] = False,
) -> None:
    """Validate a config; report every error with its line. Exit 1 when any is found."""
    problems = check_config_file(file)

    def render(console: Console) -> None:
        # plain lines, never wrapped: editors and CI jump to FILE:LINE
        if not problems:
            typer.echo(f"{file}: OK")
        for problem in problems:
            typer.echo(str(problem))

    emit(
        {"file": str(file), "ok": not problems, "errors": [p.model_dump() for p in problems]},
        as_json,
        render,
    )
    if problems:
        raise typer.Exit(1)


@config_app.command("show")
def show(
    file: Annotated[Path | None, typer.Argument(help="Config file; none = defaults.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")] = False,
) -> None:
    """Print the effective settings: file + environment + defaults."""
    settings = load_settings(file)
    data = settings.model_dump(mode="json")
    emit(data, as_json, lambda console: console.print_json(data=data))


def register(app: typer.Typer) -> None:
    """Add ``parity config``."""
    app.add_typer(config_app, name="config")
